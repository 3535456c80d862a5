import Crypto
public import Foundation

/// Credentials for S3-compatible object storage (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// and `AWS_SESSION_TOKEN` when set).
public struct ObjectStorageCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4, as S3 and S3-compatible servers check it: signed request headers and
/// presigned URLs. No S3 SDK exists among this project's packages, so this is our own, small and
/// tested against AWS's published example (`get-vanilla`) and golden cases botocore produced
/// (Tests/StorageTests/SigV4SignerTests.swift).
///
/// What it signs is given decoded (path segments and query values as text), and encoded here once
/// by the rules SigV4 states (RFC 3986 unreserved characters kept, everything else `%XX`), so a
/// caller cannot sign one encoding and send another.
public struct SigV4Signer: Sendable {
    public let credentials: ObjectStorageCredentials
    public let region: String
    public let service: String

    /// The payload hash of a body that is not signed (presigned URLs, streamed parts).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of no bytes.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: ObjectStorageCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request to sign: `path` decoded (`/bucket/a b.wav`), `query` decoded pairs, `host` as sent
    /// in the Host header (with a non-default port), `headers` every other header to sign.
    public struct Request: Sendable {
        public var method: String
        public var host: String
        public var path: String
        public var query: [(String, String)]
        public var headers: [(String, String)]

        public init(method: String, host: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = []) {
            self.method = method
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
        }
    }

    /// The headers to add to `request` (`Authorization`, `x-amz-date`, `x-amz-content-sha256`
    /// when `contentHashHeader`, `x-amz-security-token` with a session token).
    public func sign(_ request: Request, payloadHash: String, date: Date, contentHashHeader: Bool = true) -> [(String, String)] {
        let stamp = Self.timestamps(date)
        var added: [(String, String)] = [("x-amz-date", stamp.long)]
        if contentHashHeader { added.append(("x-amz-content-sha256", payloadHash)) }
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        let headers = [("host", request.host)] + request.headers + added
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonical = [
            request.method, Self.canonicalPath(request.path), Self.canonicalQuery(request.query),
            canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(stamp.short)/\(region)/\(service)/aws4_request"
        let signature = self.signature(canonical, scope: scope, stamp: stamp)
        return added + [
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
            )
        ]
    }

    /// The query string of a presigned URL for `request` (its own query first, then the
    /// `X-Amz-*` parameters and the signature), valid for `expires` seconds from `date`.
    public func presignedQuery(_ request: Request, expires: Int, date: Date) -> String {
        let stamp = Self.timestamps(date)
        let scope = "\(stamp.short)/\(region)/\(service)/aws4_request"
        var query = request.query
        query.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        query.append(("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"))
        query.append(("X-Amz-Date", stamp.long))
        query.append(("X-Amz-Expires", String(expires)))
        if let token = credentials.sessionToken { query.append(("X-Amz-Security-Token", token)) }
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders([("host", request.host)] + request.headers)
        query.append(("X-Amz-SignedHeaders", signedHeaders))
        let canonical = [
            request.method, Self.canonicalPath(request.path), Self.canonicalQuery(query),
            canonicalHeaders, signedHeaders, Self.unsignedPayload,
        ].joined(separator: "\n")
        let signature = self.signature(canonical, scope: scope, stamp: stamp)
        return (query + [("X-Amz-Signature", signature)]).map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    // MARK: the algorithm

    func signature(_ canonicalRequest: String, scope: String, stamp: (long: String, short: String)) -> String {
        let stringToSign = ["AWS4-HMAC-SHA256", stamp.long, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [stamp.short, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// `20150830T123600Z` and `20150830`, in UTC.
    static func timestamps(_ date: Date) -> (long: String, short: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ v: Int?, _ w: Int) -> String {
            let s = String(v ?? 0)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        let short = pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2)
        return (short + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z", short)
    }

    /// Lower-case names, values trimmed with inner runs of spaces folded, sorted by name.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
        let normalized = headers.map { name, value in
            (
                name.lowercased(),
                value.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            )
        }.sorted { $0.0 < $1.0 }
        return (normalized.map { "\($0.0):\($0.1)\n" }.joined(), normalized.map(\.0).joined(separator: ";"))
    }

    /// Each segment encoded, `/` kept (S3 does not normalise or double-encode paths).
    static func canonicalPath(_ path: String) -> String {
        let encoded = path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "/")
        return encoded.isEmpty ? "/" : encoded
    }

    /// Pairs encoded, then sorted by name and value.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    private static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8))

    /// RFC 3986: unreserved characters as they are, every other byte as `%XX` (upper-case hex).
    public static func encode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let digits = Array("0123456789ABCDEF".unicodeScalars)
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    public static func payloadHash(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
}
