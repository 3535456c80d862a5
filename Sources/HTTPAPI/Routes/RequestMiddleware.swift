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
struct RequestMiddleware: Sendable {
    typealias Context = AudioRequestContext
    let hosts: HostAllowList
    let cors: CORSOrigins?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers.value(.xRequestID), Self.isKept(incoming) {
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
        logAccess(method: request.method.rawValue, path: request.uri.path, status: status, bytes: bytes, since: started, logger)
    }

    static func logAccess(
        method: String, path: String, status: HTTPResponse.Status, bytes: Int?, since started: ContinuousClock.Instant, _ logger: Logger
    ) {
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        logger.info(
            "request",
            metadata: [
                "method": .string(method),
                "path": .string(path),
                "status": .stringConvertible(status.code),
                "bytes": bytes.map { .stringConvertible($0) } ?? "-",
                "duration_us": .stringConvertible(micros),
            ])
    }

    /// Whether an incoming request id is kept: 1–128 characters of letters, digits and `-_.:`;
    /// anything else (log injection, huge ids) is replaced.
    /// So is an id containing `afs_` in any case, the prefix of key secrets (`APIKeySecret`): a key
    /// pasted into the wrong header would otherwise be written to the log and the audit trail, and
    /// echoed back. Any id with the prefix, not only one of a secret's exact shape: a secret with a
    /// character added or cut still gives the key away. Checked in the same pass over the bytes.
    static func isKept(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard (1...128).contains(utf8.count) else { return false }
        var lastThree: UInt32 = 0  // lower-cased (`| 0x20` maps only A–Z onto a–z among these bytes)
        for byte in utf8 {
            guard
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            else { return false }
            if byte == 0x5F, lastThree & 0xFF_FFFF == secretPrefixStem { return false }
            lastThree = lastThree << 8 | UInt32(byte | 0x20)
        }
        return true
    }

    /// `afs`, the part of `APIKeySecret.prefix` before its `_`, as three lower-cased bytes.
    static let secretPrefixStem: UInt32 = {
        let prefix = APIKeySecret.prefix.utf8
        precondition(prefix.count == 4 && prefix.last == 0x5F, "isKept looks for three characters and `_`")
        return prefix.dropLast().reduce(0) { $0 << 8 | UInt32($1 | 0x20) }
    }()
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
