import Crypto
import Foundation
public import KindModel
import Synchronization

/// A key as listed (`GET /api/keys`, `keys list`): everything but the secret, which is never stored.
public struct APIKeyInfo: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var scopes: [String]
    /// RFC 3339 UTC.
    public var createdAt: String
    public var expiresAt: String?
    public var lastUsedAt: String?
    public var revoked: Bool
}

/// A key the server accepts, as kept in memory (`KeyDirectory`). A class: every request that
/// presents a key gets it out of the directory, and one reference is cheaper to hand around than
/// a struct of strings, arrays and sets.
public final class ActiveKey: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let scopes: ScopeSet
    /// Seconds since 1970; nil: never expires.
    public let expiresAt: Double?
    /// SHA-256 of the secret, compared again in constant time after the lookup.
    let secretHash: SecretHash
    /// When the key was last used (milliseconds since 1970) and not yet written to `last_used_at`;
    /// 0: not used since. An atomic, not a lock, on the request path: a store at most once a
    /// millisecond per key.
    let lastUse = Atomic<Int64>(0)

    init(id: Int64, name: String, scopes: ScopeSet, expiresAt: Double?, secretHash: SecretHash) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.secretHash = secretHash
    }

    public func isExpired(at now: Double) -> Bool { expiresAt.map { $0 <= now } ?? false }

    public static func == (a: ActiveKey, b: ActiveKey) -> Bool {
        a.id == b.id && a.name == b.name && a.scopes == b.scopes && a.expiresAt == b.expiresAt && a.secretHash == b.secretHash
    }
}

/// A SHA-256 digest as four words: hashed and compared without allocating.
public struct SecretHash: Hashable, Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    init(_ digest: some Sequence<UInt8>) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            for (i, byte) in digest.enumerated() where i < 32 { raw[i] = byte }
        }
        self.words = words
    }

    var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }

    public static func == (a: SecretHash, b: SecretHash) -> Bool {
        // Constant time: every word is compared whatever the first difference.
        ((a.words.0 ^ b.words.0) | (a.words.1 ^ b.words.1) | (a.words.2 ^ b.words.2) | (a.words.3 ^ b.words.3)) == 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// The text of a secret: `afs_` and 43 base64url characters of 32 random bytes (256 bits).
///
/// The prefix lets secret scanners and people recognise a leaked key; the rest is what a guesser
/// would have to find. Stored only as SHA-256: a secret of 256 random bits cannot be brute-forced
/// from its hash, so a slow password hash would add cost on every request and no safety.
public enum APIKeySecret {
    public static let prefix = "afs_"
    static let randomBytes = 32
    /// `prefix` + base64url without padding of `randomBytes`.
    public static let length = prefix.utf8.count + 43

    /// A new random secret.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<randomBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + base64URL(bytes)
    }

    /// Whether `text` has the shape of a secret (prefix, length, alphabet); says nothing of whether it exists.
    public static func isWellFormed(_ text: Substring) -> Bool {
        guard text.utf8.count == length, text.hasPrefix(prefix) else { return false }
        return text.utf8.dropFirst(prefix.utf8.count).allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
    }

    public static func hash(_ secret: Substring) -> SecretHash {
        var secret = secret
        return secret.withUTF8 { SecretHash(SHA256.hash(data: UnsafeRawBufferPointer($0))) }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
