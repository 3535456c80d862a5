import Crypto
import Foundation
import KindModel

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

/// A key the server accepts, as kept in memory (`KeyDirectory`).
public struct ActiveKey: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var scopes: ScopeSet
    /// Seconds since 1970; nil: never expires.
    public var expiresAt: Double?
    /// SHA-256 of the secret, compared again in constant time after the lookup.
    var secretHash: [UInt8]

    public func isExpired(at now: Double) -> Bool { expiresAt.map { $0 <= now } ?? false }
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

    public static func hash(_ secret: Substring) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Equal bytes, in time that depends only on the length.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
