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
///
/// It also writes the IETF resumable-upload draft's interim `104 Upload Resumption Supported`
/// (`AudioAPI.announceUpload`), which names the upload resource before the body is read.
final class ContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let accepts: @Sendable (HTTPRequest) -> Bool
    /// For a request that starts a resumable upload (IETF draft): the fields of the interim
    /// `104 Upload Resumption Supported` that announces its upload resource, and the session token
    /// the handler is to use (`AudioAPI.announceUpload`); nil for every other request.
    private let announce: @Sendable (HTTPRequest) -> (fields: HTTPFields, token: String)?

    init(
        accepts: @escaping @Sendable (HTTPRequest) -> Bool = { _ in true },
        announce: @escaping @Sendable (HTTPRequest) -> (fields: HTTPFields, token: String)? = { _ in nil }
    ) {
        self.accepts = accepts
        self.announce = announce
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var request) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        // The token field is this handler's alone: one sent by a client never reaches a handler.
        // (The head is re-wrapped only when it changed: most requests pass as they came.)
        var changed = false
        if request.headerFields.value(.announcedUploadToken) != nil {
            request.headerFields[.announcedUploadToken] = nil
            changed = true
        }
        if request.method == .put, let (fields, token) = announce(request) {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .uploadResumptionSupported, headerFields: fields))), promise: nil)
            request.headerFields[.announcedUploadToken] = token
            changed = true
        }
        if request.headerFields.value(.expect)?.lowercased() == "100-continue", accepts(request) {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(changed ? wrapInboundOut(.head(request)) : data)
    }
}

extension HTTPResponse.Status {
    /// `104 Upload Resumption Supported` (IETF draft "Resumable Uploads for HTTP").
    static let uploadResumptionSupported = HTTPResponse.Status(code: 104, reasonPhrase: "Upload Resumption Supported")
}

extension HTTPField.Name {
    /// Carries the token `ContinueHandler` announced in a 104 to the handler that makes the session.
    static let announcedUploadToken = Self("X-Audio-Announced-Upload")!
}
