/// What went wrong talking to object storage, sorted so that `serve` can say which of bucket,
/// endpoint or credentials is wrong. Parsed from S3's XML error body (`<Error><Code>…`), or from
/// the status alone when there is none (HEAD).
public enum ObjectStorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bucket does not exist (`NoSuchBucket`).
    case noSuchBucket(bucket: String)
    /// The access key is unknown or the signature does not match its secret
    /// (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, …).
    case invalidCredentials(code: String, message: String)
    /// The credentials are valid but not allowed this (`AccessDenied`, or a 403 with no body).
    case accessDenied(message: String)
    /// No such object (`NoSuchKey`, or 404 on an object).
    case notFound(key: String)
    /// No such multipart upload (`NoSuchUpload`): completed, aborted or never begun.
    case noSuchUpload(uploadID: String)
    /// The range asked for lies outside the object (416, `InvalidRange`).
    case invalidRange
    /// No HTTP answer from the endpoint: refused, unresolvable, timed out.
    case unreachable(endpoint: String, reason: String)
    /// Any other answer.
    case unexpected(status: Int, code: String?, message: String?)

    public var description: String {
        switch self {
        case .noSuchBucket(let bucket): "object storage: bucket '\(bucket)' does not exist"
        case .invalidCredentials(let code, let message):
            "object storage: credentials rejected (\(code)): \(message) — check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        case .accessDenied(let message): "object storage: access denied: \(message)"
        case .notFound(let key): "object storage: no object '\(key)'"
        case .noSuchUpload(let id): "object storage: no multipart upload '\(id)'"
        case .invalidRange: "object storage: range not satisfiable"
        case .unreachable(let endpoint, let reason): "object storage: cannot reach endpoint \(endpoint): \(reason)"
        case .unexpected(let status, let code, let message):
            "object storage: unexpected answer \(status)\(code.map { " \($0)" } ?? "")\(message.map { ": \($0)" } ?? "")"
        }
    }

    /// The error an S3 answer of `status` with `body` (maybe empty) stands for.
    static func from(status: Int, body: String, bucket: String, key: String?, uploadID: String? = nil) -> ObjectStorageError {
        let xml = Substring(body)
        let code = S3XML.value("Code", in: xml)
        let message = S3XML.value("Message", in: xml)
        switch code {
        case "NoSuchBucket": return .noSuchBucket(bucket: bucket)
        case "NoSuchKey": return .notFound(key: key ?? "")
        case "NoSuchUpload": return .noSuchUpload(uploadID: uploadID ?? "")
        case "InvalidRange": return .invalidRange
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidSecurity",
            "AuthorizationHeaderMalformed", "AuthorizationQueryParametersError":
            return .invalidCredentials(code: code!, message: message ?? "")
        case "AccessDenied": return .accessDenied(message: message ?? "Access Denied")
        case nil where !body.isEmpty && !body.contains("<Error"):
            // A body that is not S3's XML error: the endpoint is not an S3 server (a web server,
            // another API), whatever its status says; a wrong `endpoint=` must not read as a
            // missing bucket.
            return .unexpected(status: status, code: nil, message: "the answer is not an S3 error document: is the endpoint an S3 server?")
        case nil:
            switch status {
            case 403: return .accessDenied(message: "403 with no error body")
            case 404 where key == nil: return .noSuchBucket(bucket: bucket)
            case 404: return .notFound(key: key ?? "")
            case 416: return .invalidRange
            default: return .unexpected(status: status, code: nil, message: nil)
            }
        default: return .unexpected(status: status, code: code, message: message)
        }
    }
}
