import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with an interim `100 Continue`, so clients that ask (curl does
/// for bodies over 1 MiB) start sending the upload at once instead of waiting a second for it.
/// Hummingbird does not answer it itself.
///
/// When `accepts` already knows the request will be refused (a declared length over the upload
/// limit), no `100` is sent: the handler's final 413 reaches the client before it sends the body,
/// as RFC 9110 §10.1.1 intends.
final class ContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let accepts: @Sendable (HTTPRequest) -> Bool

    init(accepts: @escaping @Sendable (HTTPRequest) -> Bool = { _ in true }) {
        self.accepts = accepts
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = unwrapInboundIn(data),
           request.headerFields[.expect]?.lowercased() == "100-continue", accepts(request) {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
