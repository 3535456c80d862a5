import Foundation
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
                !item[scheme.upperBound...].isEmpty, !item[scheme.upperBound...].contains("/")
            else { return nil }
        }
        origins = Set(items.map { $0.lowercased() })
        allowsAll = false
    }

    func allows(_ origin: String) -> Bool { allowsAll || origins.contains(origin.lowercased()) }
}

/// Answers CORS preflights and marks responses to allowed origins, so a browser app on another
/// origin can use the API with a key. Keys travel in `Authorization`, never in cookies, so
/// credentials mode is not needed and not allowed. Called by `RequestMiddleware`.
enum CORS {
    static let methods = "GET, HEAD, POST, PUT, PATCH, DELETE"
    /// Resumable uploads (tus and the IETF draft) carry their state in headers: a browser client on
    /// another origin (tus-js-client, Uppy) must be allowed to send and read them, or it cannot resume.
    static let uploadRequestHeaders =
        "Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, Upload-Checksum, Upload-Defer-Length, Upload-Complete, Upload-Draft-Interop-Version, X-HTTP-Method-Override"
    static let uploadResponseHeaders =
        "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, Upload-Limit, Upload-Complete, Upload-Draft-Interop-Version"
    static let requestHeaders = "Authorization, Content-Type, If-Match, If-None-Match, If-Range, Range, X-Request-Id, " + uploadRequestHeaders
    static let exposed =
        "ETag, Location, Content-Range, Accept-Ranges, Content-Length, Content-Disposition, Retry-After, WWW-Authenticate, X-Request-Id, "
        + uploadResponseHeaders

    /// The allowed origin of the request, if it has one.
    static func origin(_ request: Request, _ allowed: CORSOrigins?) -> String? {
        guard let allowed, let origin = request.headers[.origin], allowed.allows(origin) else { return nil }
        return origin
    }

    /// The answer to a preflight from an allowed origin; nil for any other request.
    static func preflight(_ request: Request, origin: String) -> Response? {
        guard request.method == .options, request.headers[.accessControlRequestMethod] != nil else { return nil }
        return Response(
            status: .noContent,
            headers: [
                .accessControlAllowOrigin: origin,
                .accessControlAllowMethods: methods,
                .accessControlAllowHeaders: request.headers[.accessControlRequestHeaders] ?? requestHeaders,
                .accessControlMaxAge: "600",
            ])
    }

    /// Marks a response of a server with `CORS_ORIGINS` set: the CORS headers when `origin` is
    /// allowed, and `Vary` on every response, with an allowed Origin, another one or none. Whether
    /// a response carries `Access-Control-Allow-Origin` depends on the request's Origin, so a cache
    /// that kept the answer to one origin must not hand it to another (Fetch standard, "CORS
    /// protocol and HTTP caches"). An OPTIONS answer also depends on the preflight's
    /// `Access-Control-Request-*` (a preflight is answered here, other OPTIONS by the router; the
    /// allowed headers echo the requested ones).
    static func mark(_ headers: inout HTTPFields, origin: String?, method: HTTPRequest.Method) {
        if let origin {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlExposeHeaders] = exposed
        }
        headers[.vary] = method == .options ? varyPreflight : "Origin"
    }

    static let varyPreflight = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
}
