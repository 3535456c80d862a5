/// The methods each route shape answers, so that a request with another method on an existing
/// path gets 405 with `Allow` (RFC 9110) instead of the router's 404. Keep in step with
/// `AudioAPI.register`; `OpenAPITests` checks every documented operation against it.
enum RouteTable {
    /// (`GET /_static`, the benchmark-only route behind BENCH_ROUTES, is left out: off, it does not exist.)
    /// Path shapes, `*` standing for one segment, with their methods (HEAD listed where served).
    static let routes: [(pattern: [String], methods: [String])] = [
        (["healthz"], ["GET"]),
        (["openapi.json"], ["GET"]),
        (["api", "kinds"], ["GET"]),
        (["api", "kinds", "*"], ["GET"]),
        (["api", "audio", "create"], ["POST"]),  // `create` is a reserved kind name
        (["api", "audio", "*"], ["GET", "HEAD"]),
        (["api", "audio", "*", "*"], ["GET", "HEAD", "PATCH", "PUT", "DELETE"]),
        (["api", "audio", "*", "*", "file"], ["GET", "HEAD"]),
    ]

    /// The methods served at `path`, or nil when no route has this shape (a real 404).
    static func allowedMethods(path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // The most specific shape wins: `/api/audio/create` before `/api/audio/*`.
        let matches = routes.filter { route in
            route.pattern.count == segments.count && zip(route.pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }
        guard let best = matches.max(by: { $0.pattern.filter { $0 == "*" }.count > $1.pattern.filter { $0 == "*" }.count }) else {
            return nil
        }
        return best.methods
    }
}
