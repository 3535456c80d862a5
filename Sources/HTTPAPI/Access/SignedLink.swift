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

/// The `expires` and `signature` of a request's query, when it carries a signed link.
struct SignedLinkQuery: Sendable {
    var expires: Int64?
    var signature: String

    /// The problem of a link whose parts are not even well formed (`expires` not a 64-bit integer,
    /// `signature` not 43 base64url characters): a 400 whoever sends it, key or not.
    var malformation: Problem? {
        var issues: [ValidationIssue] = []
        if expires == nil { issues.append(ValidationIssue(field: "expires", code: "type", message: "'expires' must be a whole number of seconds since 1970, as the link had it")) }
        let wellFormed = signature.utf8.count == 43 && signature.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
        if !wellFormed { issues.append(ValidationIssue(field: "signature", code: "format", message: "'signature' must be the 43 characters the link had")) }
        guard !issues.isEmpty else { return nil }
        return Problem(.badRequest, "invalid-query", title: "Malformed signed link",
                       detail: Problem.summary(issues.map(\.message)) + "; use the link exactly as POST …/file/link returned it.", errors: issues)
    }

    /// nil when the query has neither; a link with only one of them is still a (broken) link.
    init?(query: String?) {
        guard let query, query.contains("signature=") || query.contains("expires=") else { return nil }
        var expires: Int64?
        var signature = ""
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "expires": expires = Int64(parts[1])
            case "signature": signature = String(parts[1]).removingPercentEncoding ?? String(parts[1])
            default: continue
            }
        }
        self.expires = expires
        self.signature = signature
    }
}
