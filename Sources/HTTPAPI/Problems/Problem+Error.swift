import Hummingbird
import KindModel
import Logging
import NIOCore
import NIOHTTP1
import Schema
import Storage

/// Every error as a problem (`Problem(for:)`), which `RequestMiddleware` applies to every request.
/// Without it Hummingbird answers errors that are not `HTTPResponseError` with an empty 500, and
/// its own `HTTPError`s as plain text.
extension Problem {
    init(for error: any Error, request: Request, logger: Logger) {
        self = Self.problem(for: error, request: request, logger: logger)
    }

    private static func problem(for error: any Error, request: Request, logger: Logger) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let http as HTTPError:
            return fromHTTPError(http, request: request)
        case let storage as StorageError:
            switch storage {
            case .uniqueViolation(let kind, let field):
                return Problem(
                    .unique, detail: "Another \(kind) already has this \(field); \(field) must be unique.",
                    errors: [
                        ValidationIssue(field: field, code: .unique, message: "'\(field)' must be unique; another \(kind) already has this value")
                    ])
            case .ruleViolation(_, let field, let rule):
                // What the validator would have said: the database caught it (a row changed by
                // another route, or validation drifting from the constraints).
                return Problem.validation([
                    ValidationIssue(
                        field: field, code: rule.validationCode,
                        message: "'\(field)' breaks its \(rule.rawValue) rule (refused by the database)")
                ])
            case .constraintViolation(let kind, let constraint):
                return Problem(.constraint, detail: "The \(kind) breaks the database rule \(constraint).")
            case .invalidValue(let message):
                return Problem(.invalidValue, detail: "A value of the request is not valid for its column: \(message).")
            case .statementTimeout(let kind):
                return statementTimeout(kind: kind, request: request, logger: logger)
            case .tooLargeForDatabase(let kind, let fields, let index, let message):
                // The kind linter keeps every index it declares within PostgreSQL's entry limit; an
                // index made outside it (by hand, or by an older engine) can still refuse a value.
                logger.warning("PostgreSQL refused a value as too large", metadata: ["kind": "\(kind)", "error": "\(message)"])
                let fix = "send shorter values, or ask the kind's operator to drop or narrow the index\(index.map { " \($0)" } ?? "")"
                guard !fields.isEmpty else {
                    return Problem(.constraint, detail: "The \(kind) has a value larger than the database can hold (\(message)); \(fix).")
                }
                let names = fields.map { "'\($0)'" }.joined(separator: ", ")
                return Problem.validation(
                    fields.map {
                        ValidationIssue(
                            field: $0, code: .tooLargeToIndex,
                            message:
                                "'\($0)' is too long for the database index on \(names) (a b-tree entry holds at most \(IndexEntrySize.limit) bytes); \(fix)"
                        )
                    })
            case .sortNeedsIndex(let kind, let field, let descending, let rows, let indexed, let fix):
                let key = (descending ? "-" : "") + field
                let served = indexed.isEmpty ? "" : " Sorts an index serves: \(indexed.joined(separator: ", "))."
                return Problem(
                    .sortNeedsIndex,
                    detail:
                        "Sorting \(kind) by \(key) would read and sort all of its about \(rows) rows for every page: no index serves that order.\(served) To sort by \(key), \(fix).",
                    errors: [
                        ValidationIssue(
                            field: "sort", code: .needsIndex, message: "'sort=\(key)' needs an index on \(kind) (about \(rows) rows); \(fix)")
                    ])
            }
        case let parse as HTTPParserError:
            // Raised by the request body stream: a hang-up mid-body, or a body that breaks its framing.
            if parse == .invalidEOFState || parse == .closedConnection {
                logger.debug("client closed the connection during the request body", metadata: ["path": "\(request.uri.path)"])
                return clientGone
            }
            logger.debug("malformed request body", metadata: ["error": "\(parse)", "path": "\(request.uri.path)"])
            if parse == .invalidChunkSize { return ConnectionGuard.malformedChunks }
            return Problem(
                .malformedBody,
                detail:
                    "The request body does not match its framing (\(parse)); send a Content-Length body of exactly that many bytes, or a valid chunked body."
            )
        case let channel as ChannelError
        where channel == .ioOnClosedChannel || channel == .eof || channel == .inputClosed || channel == .outputClosed:
            logger.debug("client closed the connection during the request", metadata: ["error": "\(channel)", "path": "\(request.uri.path)"])
            return clientGone
        case let reclaimed as FileIntents.Reclaimed:
            // The file's commit outlasted ORPHAN_FILE_AGE and the sweeper removed it first: the
            // record was not changed; the same upload sent again succeeds.
            logger.warning("an upload outlasted the orphan age", metadata: ["error": "\(reclaimed)", "path": "\(request.uri.path)"])
            return Problem.storageUnavailable()
        case let objects as ObjectStorageError:
            // Object storage failing (down, refusing our credentials, …): the client's request was
            // fine, and nothing was changed (the record keeps its previous file).
            logger.error("object storage failed", metadata: ["error": "\(objects)", "path": "\(request.uri.path)"])
            return Problem.storageUnavailable()
        case let file as FileStoreError where file.isOutOfSpace:
            logger.warning("storage is full", metadata: ["error": "\(file)", "path": "\(request.uri.path)"])
            return Problem(
                .insufficientStorage,
                detail:
                    "The server has no room left to store this file; nothing was changed (the previous file, if any, is kept). Retry later or upload a smaller file; operators: free space in STORAGE_DIR."
            )
        default:
            if let reason = StorageError.unavailability(of: error) {
                logger.warning("database unavailable", metadata: ["error": "\(reason)", "path": "\(request.uri.path)"])
                return Problem.databaseUnavailable()
            }
            if StorageError.isStatementTimeout(error) {
                // Not a record's statement (those are answered above, by what they read or wrote):
                // the request's own bookkeeping waited on a lock or an overloaded database.
                logger.warning("statement timeout", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)"])
                return Problem.databaseBusy("this request")
            }
            logger.error("unhandled error", metadata: ["error": "\(ErrorLogText.describe(error))", "path": "\(request.uri.path)"])
            return Problem(.internal, detail: "The server failed to handle this request; it has been logged.")
        }
    }

    /// A statement PostgreSQL stopped at `STATEMENT_TIMEOUT`. A read that long is the request's
    /// own doing (a filter or `count=exact` that reads the whole table), so it is a 400 that says
    /// how to narrow it, and sending it again would not help; a write that long waited on a lock
    /// or an overloaded database, rolled back, and may succeed when retried.
    private static func statementTimeout(kind: String, request: Request, logger: Logger) -> Problem {
        logger.warning("statement timeout", metadata: ["kind": "\(kind)", "method": "\(request.method)", "path": "\(request.uri.path)"])
        guard request.method == .get || request.method == .head else { return Problem.databaseBusy("this change of \(kind)") }
        let fix =
            "narrow it with a filter or sort on one of the kind's browsing fields (`browse` in GET /api/kinds/\(kind)), or leave out count=exact"
        return Problem(
            .queryTooSlow,
            detail:
                "Reading \(kind) records took longer than the server's statement timeout, so PostgreSQL stopped it: a filter no index serves (contains, ne, or a field that is not a browsing field) or count=exact reads the whole table. To get an answer, \(fix).",
            errors: [
                ValidationIssue(
                    field: "query", code: .tooSlow, message: "the request reads more of \(kind) than the statement timeout allows; \(fix)")
            ])
    }

    /// For a client that hung up: nobody reads it, but the request still ends with a problem.
    static var clientGone: Problem {
        Problem(.clientClosed, detail: "The connection closed before the request body was complete; send the whole body again.")
    }

    private static func fromHTTPError(_ error: HTTPError, request: Request) -> Problem {
        switch error.status {
        case .notFound:
            // The path exists with other methods: 405 with Allow, as RFC 9110 asks, not the router's 404.
            if error.body == nil, let allowed = RouteTable.allowedMethods(path: request.uri.path), !allowed.contains(request.method.rawValue) {
                return Problem(
                    .methodNotAllowed,
                    detail: "\(request.method) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", ")).",
                    headers: [.allow: allowed.joined(separator: ", ")])
            }
            return Problem(
                .noRoute, detail: error.body ?? "No route matches \(request.method) \(request.uri.path). See GET /openapi.json for the API.",
                headers: error.headers)
        case .contentTooLarge:
            return Problem(.tooLarge, detail: error.body ?? "The request body is larger than this endpoint accepts.", headers: error.headers)
        case .methodNotAllowed:
            return Problem(
                .methodNotAllowed, detail: error.body ?? "\(request.method) is not allowed on \(request.uri.path).", headers: error.headers)
        default:
            return Problem(
                .httpError, status: error.status,
                detail: error.body ?? error.status.reasonPhrase, headers: error.headers)
        }
    }
}
