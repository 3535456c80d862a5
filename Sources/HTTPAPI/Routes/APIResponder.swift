import HTTPTypes
import Hummingbird

/// The server's router: every request passes `RequestMiddleware`, then goes to the operation
/// `RouteTable` chooses for its path and method (`AudioAPI.respond`); a path no route has, or a
/// method its route does not take, is Hummingbird's 404 `HTTPError`, which the middleware answers
/// as `no-route` or `method-not-allowed` with `Allow` (`Problem(for:)`).
///
/// Why not Hummingbird's `Router`: its trie, the `Parameters` dictionary it fills (generic tuple
/// metadata looked up at run time) and the endpoint path it formats for metrics were ~3 % of the
/// machine's samples in a profile of GETs by id at 16 connections, for a table of 18 shapes that
/// `APIOperation` already declares (docs/performance.md, "Session 24").
struct APIResponder: HTTPResponder {
    typealias Context = AudioRequestContext
    let middleware: RequestMiddleware
    let api: AudioAPI
    /// `GET /_static`, the benchmark's ceiling (a fixed body, no database: bench/run.sh), which a
    /// production server does not expose (`BENCH_ROUTES=on`).
    let benchRoutes: Bool

    func respond(to request: Request, context: Context) async throws -> Response {
        try await middleware.handle(request, context: context) { request, context in
            let path = request.uri.path
            if benchRoutes, path == "/_static", request.method == .get { return JSONResponse.make(.ok, #"{"ok":true}"#) }
            guard let (route, segments) = RouteTable.route(path: path), let (operation, headOfGet) = route.operation(for: request.method)
            else { throw HTTPError(.notFound) }
            var context = context
            context.route = RouteMatch(pattern: route.pattern, segments: segments)
            let response = try await api.respond(operation, request, context)
            return headOfGet ? AudioAPI.head(of: response) : response
        }
    }
}
