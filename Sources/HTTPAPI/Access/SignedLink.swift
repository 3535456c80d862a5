import Crypto
import Foundation
import KindModel

/// Links to a record's file that work without any header, for players (`<audio src>`) that
/// cannot send a key: `/api/audio/<kind>/<id>/file?expires=<unix seconds>&signature=<base64url>`.
///
/// The signature is an HMAC-SHA256 under a key derived from `SECRET_KEY` over the kind, the id,
/// the expiry and the stored file's SHA-256: a link stops working when it expires, when anything
/// in it is edited, for any other record, and as soon as the file is replaced.
public struct SignedLinkSigner: Sendable {
    private let keyed: HMAC<SHA256>

    /// Shortest and longest lifetime a link may be asked for, and the default.
    public static let lifetimes: ClosedRange<Int64> = 1...(7 * 24 * 3600)
    public static let defaultLifetime: Int64 = 3600

    public init(secret: String) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: SHA256.hash(data: Array("audio-server signed link\u{0}\(secret)".utf8))))
    }

    /// The signature of a link to `kind` `id` whose file hashes to `sha256`, valid until `expires`.
    func signature(kind: String, id: Int64, expires: Int64, sha256: String) -> String {
        var hmac = keyed
        hmac.update(data: Array("\(kind)\n\(id)\n\(expires)\n\(sha256)".utf8))
        return Base64URL.encode(Array(hmac.finalize()))
    }

    /// The link's path and query.
    func url(kind: String, id: Int64, expires: Int64, sha256: String) -> String {
        "/api/audio/\(kind)/\(id)/file?expires=\(expires)&signature=\(signature(kind: kind, id: id, expires: expires, sha256: sha256))"
    }

    /// Whether `signature` is the one for these values (compared in constant time).
    func verify(_ signature: String, kind: String, id: Int64, expires: Int64, sha256: String) -> Bool {
        let expected = Array(self.signature(kind: kind, id: id, expires: expires, sha256: sha256).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<expected.count { difference |= expected[i] ^ given[i] }
        return difference == 0
    }
}

/// The `expires` and `signature` of a request's query, when it carries (part of) a signed link.
struct SignedLinkQuery: Sendable {
    /// The raw texts; either may be missing from a broken link.
    var expiresText: String?
    var signatureText: String?

    var expires: Int64? { expiresText.flatMap { Int64($0) } }
    var signature: String { signatureText ?? "" }

    /// nil when the query has neither.
    init?(query: String?) {
        guard let query, query.contains("signature=") || query.contains("expires=") else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let value = String(parts[1]).removingPercentEncoding ?? String(parts[1])
            switch parts[0] {
            case "expires": expiresText = value
            case "signature": signatureText = value
            default: continue
            }
        }
        if expiresText == nil && signatureText == nil { return nil }
    }

    /// The 400 of a part that is present but not even well formed (`expires` not a 64-bit
    /// integer, `signature` not 43 base64url characters), for a request a key serves. (Where the
    /// link itself is the credential, the same link is refused as tampered: 403.)
    var malformation: Problem? {
        var issues: [ValidationIssue] = []
        if expiresText != nil && expires == nil {
            issues.append(
                ValidationIssue(field: "expires", code: .type, message: "'expires' must be a whole number of seconds since 1970, as the link had it"))
        }
        if let signatureText, !Self.isWellFormed(signatureText) {
            issues.append(ValidationIssue(field: "signature", code: .format, message: "'signature' must be the 43 characters the link had"))
        }
        guard !issues.isEmpty else { return nil }
        return Problem(
            .invalidQuery, detail: Problem.summary(issues.map(\.message)) + "; use the link exactly as POST …/file/link returned it.", errors: issues)
    }

    static func isWellFormed(_ signature: String) -> Bool {
        signature.utf8.count == 43
            && signature.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
            }
    }
}
