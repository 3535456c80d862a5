import Hummingbird
import KindModel

/// An RFC 9457 problem response: every 4xx and 5xx of the API has this shape, so clients parse
/// one format and always learn what was wrong and how to fix it.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// Short, stable slug; the `type` URI is `/problems/<slug>`.
    public var slug: String
    public var title: String
    public var detail: String
    public var errors: [ValidationIssue]
    /// Extra members (for example `known_kinds`).
    public var extensions: [(key: String, value: JSONValue)]
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ slug: String, title: String, detail: String,
                errors: [ValidationIssue] = [], extensions: [(key: String, value: JSONValue)] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extensions = extensions
        self.headers = headers
    }

    public var json: JSONValue {
        var object = JSONObject([
            ("type", .string("/problems/\(slug)")),
            ("title", .string(title)),
            ("status", .integer(Int64(status.code))),
            ("detail", .string(detail)),
        ])
        if !errors.isEmpty {
            object["errors"] = .array(errors.map { .object(JSONObject([("field", .string($0.field)), ("code", .string($0.code)), ("message", .string($0.message))])) })
        }
        for (key, value) in extensions { object[key] = value }
        return .object(object)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        let text = JSONWriter.string(json)
        guard request.method != .head else {
            headers[.contentLength] = String(text.utf8.count)
            return Response(status: status, headers: headers)
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

extension Problem {
    static func unknownKind(_ token: String, known: [String], status: HTTPResponse.Status = .notFound) -> Problem {
        Problem(status, "unknown-kind", title: "Unknown kind",
                detail: "There is no kind '\(token)'. Known kinds: \(known.joined(separator: ", ")).",
                extensions: [("known_kinds", .array(known.map(JSONValue.string)))])
    }

    static func validation(_ issues: [ValidationIssue], kind: String) -> Problem {
        let count = issues.count
        return Problem(.badRequest, "validation", title: "Invalid \(kind) fields",
                       detail: "\(count) field\(count == 1 ? " is" : "s are") invalid: " + issues.map(\.message).joined(separator: "; "),
                       errors: issues)
    }

    static func badRequest(_ slug: String, _ title: String, _ detail: String) -> Problem {
        Problem(.badRequest, slug, title: title, detail: detail)
    }

    static func notFound(kind: String, id: Int64) -> Problem {
        Problem(.notFound, "not-found", title: "Record not found", detail: "There is no \(kind) with id \(id).")
    }

    /// 503 while PostgreSQL cannot be reached; `Retry-After` says when to try again.
    static func databaseUnavailable(_ reason: String) -> Problem {
        Problem(.serviceUnavailable, "database-unavailable", title: "Database unavailable",
                detail: "The server cannot reach PostgreSQL right now (\(reason)); retry shortly.",
                headers: [.retryAfter: "5"])
    }
}
