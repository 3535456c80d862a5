public import Hummingbird
public import NIOCore

/// The request context of every route: Hummingbird's core storage plus the connection's peer
/// (for the failed-authentication limiter and the audit trail) and the request's id.
public struct AudioRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// `X-Request-Id`: a well-formed incoming one, else Hummingbird's own id of the request
    /// (set by `RequestMiddleware`, the only middleware).
    public var requestID = ""
    /// The route the request took and its path parameters (set by `APIResponder`).
    var route = RouteMatch()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Read when needed (a write's audit row, a failed authentication), not on every request.
    public var remoteAddress: SocketAddress? { channel.remoteAddress }
}
