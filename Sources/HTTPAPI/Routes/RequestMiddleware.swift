import HTTPTypes
import Hummingbird
import Logging
import Storage

/// The one middleware every request passes (one layer: each layer costs an async frame and a copy
/// of the request context, a measurable share of a GET when these were three): the request id,
/// CORS, the request guard (`RequestGuard`), and turning every error into a problem
/// (`Problem(for:)`).
///
/// Every response gets an `X-Request-Id` and every log line of the request the same id
/// (`hb.request.id`, where Hummingbird puts its own): a well-formed incoming id is kept, so a
/// proxy's or client's id follows the request through; otherwise Hummingbird's is used. Lines
/// written below, by the store, the pool and PostgresNIO, get it from `RequestLogContext`. Writes
/// the access log line of each request (at `info`: method, path, status, bytes, duration, id).
struct RequestMiddleware: RouterMiddleware {
    typealias Context = AudioRequestContext
    let hosts: HostAllowList
    let cors: CORSOrigins?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers.value(.xRequestID), Self.isWellFormed(incoming) {
            context.logger[metadataKey: "hb.request.id"] = .string(incoming)
            context.requestID = incoming
        } else {
            context.requestID = context.id
        }
        // The clock is read only when the line will be written (LOG_LEVEL info or finer).
        let started: ContinuousClock.Instant? = context.logger.logLevel <= .info ? .now : nil
        let origin = CORS.origin(request, cors)
        do {
            var response: Response
            if let origin, let preflight = CORS.preflight(request, origin: origin) {
                response = preflight
            } else {
                try RequestGuard.refuse(request, hosts: hosts)
                response = try await RequestLogContext.$requestID.withValue(context.requestID) { try await next(request, context) }
            }
            response.headers[.xRequestID] = context.requestID
            if cors != nil { CORS.mark(&response.headers, origin: origin, method: request.method) }
            if let started { Self.logAccess(request, status: response.status, bytes: response.body.contentLength, since: started, context.logger) }
            return response
        } catch {
            var problem = Problem(for: error, request: request, logger: context.logger)
            problem.headers[.xRequestID] = context.requestID
            // A tus client reads this on every answer; the handlers add it, refusals before them (405, 421) here.
            if problem.headers[.tusResumable] == nil, TusMethodOverride.isTusPath(request.uri.path) {
                problem.headers[.tusResumable] = AudioAPI.tusVersion
            }
            if cors != nil { CORS.mark(&problem.headers, origin: origin, method: request.method) }
            // Answered here rather than thrown to Hummingbird, so that the line can count the body.
            let response = try problem.response(from: request, context: context)
            if let started { Self.logAccess(request, status: response.status, bytes: response.body.contentLength, since: started, context.logger) }
            return response
        }
    }

    /// One line per request. The path is logged without its query: a signed link's signature and
    /// filter values stay out of the log.
    static func logAccess(_ request: Request, status: HTTPResponse.Status, bytes: Int?, since started: ContinuousClock.Instant, _ logger: Logger) {
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(status.code),
                "bytes": bytes.map { .stringConvertible($0) } ?? "-",
                "duration_us": .stringConvertible(micros),
            ])
    }

    /// 1–128 characters of letters, digits and `-_.:`; anything else (log injection, huge ids) is replaced.
    static func isWellFormed(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
        }
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
