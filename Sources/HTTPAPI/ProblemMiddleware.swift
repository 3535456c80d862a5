import Hummingbird
import KindModel
import Logging
import Storage

/// Turns every error into a problem response. Without it Hummingbird answers errors that are not
/// `HTTPResponseError` with an empty 500, and its own `HTTPError`s as plain text.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Self.problem(for: error, request: request, logger: context.logger)
        }
    }

    static func problem(for error: any Error, request: Request, logger: Logger) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let http as HTTPError:
            return fromHTTPError(http, request: request)
        case let storage as StorageError:
            switch storage {
            case .uniqueViolation(let kind, let field):
                return Problem(.conflict, "unique", title: "Value already used",
                               detail: "Another \(kind) already has this \(field); \(field) must be unique.",
                               errors: [ValidationIssue(field: field, code: "unique", message: "'\(field)' must be unique; another \(kind) already has this value")])
            case .constraintViolation(let kind, let constraint):
                return Problem(.badRequest, "constraint", title: "Database constraint refused the record",
                               detail: "The \(kind) breaks the database rule \(constraint).")
            case .invalidValue(let message):
                return Problem(.badRequest, "invalid-value", title: "Invalid value",
                               detail: "A value of the request is not valid for its column: \(message).")
            }
        default:
            if let reason = StorageError.unavailability(of: error) {
                logger.warning("database unavailable", metadata: ["error": "\(reason)", "path": "\(request.uri.path)"])
                return Problem.databaseUnavailable(reason)
            }
            logger.error("unhandled error", metadata: ["error": "\(ErrorLogText.describe(error))", "path": "\(request.uri.path)"])
            return Problem(.internalServerError, "internal", title: "Internal server error",
                           detail: "The server failed to handle this request; it has been logged.")
        }
    }

    static func fromHTTPError(_ error: HTTPError, request: Request) -> Problem {
        switch error.status {
        case .notFound:
            // The path exists with other methods: 405 with Allow, as RFC 9110 asks, not the router's 404.
            if error.body == nil, let allowed = RouteTable.allowedMethods(path: request.uri.path), !allowed.contains(request.method.rawValue) {
                return Problem(.methodNotAllowed, "method-not-allowed", title: "Method not allowed",
                               detail: "\(request.method) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", ")).",
                               headers: [.allow: allowed.joined(separator: ", ")])
            }
            return Problem(.notFound, "no-route", title: "Not found",
                           detail: error.body ?? "No route matches \(request.method) \(request.uri.path). See GET /openapi.json for the API.",
                           headers: error.headers)
        case .contentTooLarge:
            return Problem(.contentTooLarge, "too-large", title: "Request body too large",
                           detail: error.body ?? "The request body is larger than this endpoint accepts.", headers: error.headers)
        case .methodNotAllowed:
            return Problem(.methodNotAllowed, "method-not-allowed", title: "Method not allowed",
                           detail: error.body ?? "\(request.method) is not allowed on \(request.uri.path).", headers: error.headers)
        default:
            return Problem(error.status, "http-\(error.status.code)", title: error.status.reasonPhrase,
                           detail: error.body ?? error.status.reasonPhrase, headers: error.headers)
        }
    }
}
