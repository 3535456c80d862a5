public import Hummingbird
public import KindModel

/// An RFC 9457 problem response: every 4xx and 5xx of the API has this shape, so clients parse
/// one format and always learn what was wrong and how to fix it.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var type: ProblemType
    public var status: HTTPResponse.Status
    /// Short, stable slug; the `type` URI is `/problems/<slug>`.
    public var slug: String { type.rawValue }
    public var title: String { type.title }
    public var detail: String
    public var errors: [ValidationIssue]
    /// Extra members (for example `known_kinds`).
    public var extensions: [(key: String, value: JSONValue)]
    public var headers: HTTPFields

    /// At most this many `errors` are listed; `more_errors` counts the rest. A body of 60,000
    /// unknown keys must not produce a problem 17 times its size (a 208 KB body gave 3.5 MB).
    public static let maxListedErrors = 100
    /// At most this many issue messages are repeated in a validation problem's `detail`.
    static let maxDetailMessages = 10

    /// - Parameter status: only where it differs from the type's own (`ProblemType.status`).
    public init(
        _ type: ProblemType, status: HTTPResponse.Status? = nil, detail: String,
        errors: [ValidationIssue] = [], extensions: [(key: String, value: JSONValue)] = [], headers: HTTPFields = [:]
    ) {
        self.type = type
        self.status = status ?? type.status
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
            let listed = errors.prefix(Self.maxListedErrors)
            object["errors"] = .array(
                listed.map {
                    .object(JSONObject([("field", .string($0.field)), ("code", .string($0.code.rawValue)), ("message", .string($0.message))]))
                })
            if errors.count > listed.count { object["more_errors"] = .integer(Int64(errors.count - listed.count)) }
        }
        for (key, value) in extensions { object[key] = value }
        return .object(object)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var (headers, body) = rendered()
        guard request.method != .head else {
            headers[.contentLength] = String(body.readableBytes)
            return Response(status: status, headers: headers)
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// The headers (with `Content-Type`) and body of the answer, for `response` and `FastPath`.
    func rendered() -> (HTTPFields, ByteBuffer) {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return (headers, ByteBuffer(string: JSONWriter.string(json)))
    }
}

extension Problem {
    static func unknownKind(_ token: String, known: [String], status: HTTPResponse.Status = .notFound) -> Problem {
        Problem(
            .unknownKind, status: status, detail: "There is no kind '\(token)'. Known kinds: \(known.joined(separator: ", ")).",
            extensions: [("known_kinds", .array(known.map(JSONValue.string)))])
    }

    static func validation(_ issues: [ValidationIssue]) -> Problem {
        let count = issues.count
        return Problem(
            .validation, detail: "\(count) field\(count == 1 ? " is" : "s are") invalid: " + summary(issues.map(\.message)),
            errors: issues)
    }

    /// The first `maxDetailMessages` messages joined with "; ", then how many more there are and
    /// where they are listed (the first `maxListedErrors` in `errors`, the count of the rest in
    /// `more_errors`), so a detail stays a sentence however many issues there are.
    static func summary(_ messages: [String]) -> String {
        var text = messages.prefix(maxDetailMessages).joined(separator: "; ")
        guard messages.count > maxDetailMessages else { return text }
        let rest = messages.count - maxDetailMessages
        text += "; and \(rest) more (see errors"
        if messages.count > maxListedErrors {
            text += ", which lists the first \(maxListedErrors); more_errors counts the other \(messages.count - maxListedErrors)"
        }
        return text + ")"
    }

    static func notFound(kind: String, id: Int64) -> Problem {
        Problem(.notFound, detail: "There is no \(kind) with id \(id).")
    }

    /// 503 while the object storage holding the files cannot be used; `Retry-After` says when to
    /// try again. `reason` (endpoints, errors: the operator's business) only on `/healthz`; API
    /// routes log it and tell the client what it can do.
    static func storageUnavailable(_ reason: String? = nil) -> Problem {
        Problem(
            .storageUnavailable,
            detail: "The server cannot use its file storage right now\(reason.map { " (\($0))" } ?? ""); nothing was changed, retry shortly.",
            headers: [.retryAfter: "5"])
    }

    /// 503 when PostgreSQL stopped a statement at the server's `STATEMENT_TIMEOUT` while `what`
    /// waited on a lock or an overloaded database: rolled back, so nothing was changed, and the
    /// same request may succeed a moment later (`Retry-After: 1`).
    static func databaseBusy(_ what: String) -> Problem {
        Problem(
            .databaseBusy,
            detail:
                "The database did not finish \(what) within the server's statement timeout (a lock held by another change, or an overloaded database); nothing was changed. Retry shortly.",
            headers: [.retryAfter: "1"])
    }

    /// 503 while PostgreSQL cannot be reached; `Retry-After` says when to try again. `reason`
    /// (such as "DATABASE_URL has no password": advice for the operator) only on `/healthz`; API
    /// routes log it.
    static func databaseUnavailable(_ reason: String? = nil) -> Problem {
        Problem(
            .databaseUnavailable, detail: "The server cannot reach its database right now\(reason.map { " (\($0))" } ?? ""); retry shortly.",
            headers: [.retryAfter: "5"])
    }
}
