import Hummingbird

/// The browser origins allowed to call the API (`CORS_ORIGINS`), and the headers that say so.
public struct CORSOrigins: Sendable, Equatable {
    public let origins: Set<String>
    public let allowsAll: Bool

    /// `CORS_ORIGINS` text: comma-separated origins (`https://app.example.com`), or `*`. Nil when
    /// empty or when an entry is not an origin (scheme://host[:port], no path).
    public init?(setting: String) {
        let items = setting.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { return nil }
        if items.contains("*") {
            origins = []
            allowsAll = true
            return
        }
        for item in items {
            guard let scheme = item.range(of: "://"), ["http", "https"].contains(item[..<scheme.lowerBound].lowercased()),
                  !item[scheme.upperBound...].isEmpty, !item[scheme.upperBound...].contains("/") else { return nil }
        }
        origins = Set(items.map { $0.lowercased() })
        allowsAll = false
    }

    func allows(_ origin: String) -> Bool { allowsAll || origins.contains(origin.lowercased()) }
}

/// Answers CORS preflights and marks responses to allowed origins, so a browser app on another
/// origin can use the API with a key. Keys travel in `Authorization`, never in cookies, so
/// credentials mode is not needed and not allowed.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = AudioRequestContext
    let allowed: CORSOrigins

    static let methods = "GET, HEAD, POST, PUT, PATCH, DELETE"
    static let requestHeaders = "Authorization, Content-Type, If-Match, If-None-Match, If-Range, Range, X-Request-Id"
    static let exposed = "ETag, Location, Content-Range, Accept-Ranges, Content-Length, Content-Disposition, Retry-After, WWW-Authenticate, X-Request-Id"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowed.allows(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: origin,
                .accessControlAllowMethods: Self.methods,
                .accessControlAllowHeaders: request.headers[.accessControlRequestHeaders] ?? Self.requestHeaders,
                .accessControlMaxAge: "600",
                .vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ])
        }
        do {
            var response = try await next(request, context)
            Self.mark(&response.headers, origin: origin)
            return response
        } catch var problem as Problem {
            Self.mark(&problem.headers, origin: origin)
            throw problem
        }
    }

    static func mark(_ headers: inout HTTPFields, origin: String) {
        headers[.accessControlAllowOrigin] = origin
        headers[.accessControlExposeHeaders] = exposed
        headers[.vary] = "Origin"
    }
}
