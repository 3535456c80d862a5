import NIOCore
import NIOHTTP1

/// Decides which host an HTTP/1 request is for, as RFC 9112 §3.2 says, before the request is
/// converted to Hummingbird's types, which keep neither the HTTP version nor an absolute-form
/// target, and take the first of several `Host` lines:
///
/// - an HTTP/1.1 request without `Host`, or any request with more than one, must get a 400: it is
///   marked with an empty `Host` in front of the ones it carried, which `RequestGuard` refuses
///   (`invalid-host`) after Hummingbird has taken the request, so the answer has its request id,
///   CORS headers and access log line like any other;
/// - for an absolute-form target (`GET http://name/path`), the target's authority is the host and
///   `Host` is ignored (§3.2.2): `Host` is replaced by that authority, which the allow list
///   (`ALLOWED_HOSTS`) then judges.
///
/// An HTTP/1.0 request without `Host` is left alone (HTTP/1.0 did not require one).
///
/// Per request: a look at the target's first byte and one pass over the header names; the head is
/// rebuilt only for the requests above. Installed by `ConnectionGuard` just before the conversion.
final class RequestHost: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(var head) = unwrapInboundIn(data), Self.settle(&head) {
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
    }

    /// Rewrites `head` as described above; false when it is left as it was (the usual case).
    static func settle(_ head: inout HTTPRequestHead) -> Bool {
        var hosts = 0
        for (name, _) in head.headers where isHost(name) { hosts += 1 }
        let target = head.uri.utf8.first == UInt8(ascii: "/") ? nil : authority(ofAbsolute: head.uri)
        if hosts > 1 || (hosts == 0 && head.version.major == 1 && head.version.minor >= 1) {
            var marked = HTTPHeaders([("Host", "")])
            marked.add(contentsOf: head.headers)
            head.headers = marked
            return true
        }
        guard let target else { return false }
        head.headers.replaceOrAdd(name: "Host", value: target)
        return true
    }

    /// `Host` in any case, without allocating.
    static func isHost(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.count == 4 else { return false }
        return zip(utf8, "host".utf8).allSatisfy { $0 | 0x20 == $1 }
    }

    /// The authority of an absolute-form target (`scheme://[userinfo@]authority[/path][?query]`);
    /// nil for any other form (`*`, a CONNECT's `host:port`, something unparseable).
    static func authority(ofAbsolute target: String) -> String? {
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1), then "://".
        let utf8 = target.utf8
        guard let first = utf8.first, isLetter(first) else { return nil }
        let schemeEnd = utf8.firstIndex { !(isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E) }
        guard let schemeEnd, utf8[schemeEnd...].starts(with: "://".utf8) else { return nil }
        let rest = target[utf8.index(schemeEnd, offsetBy: 3)...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // Credentials in the target are not part of the host.
        if let at = authority.lastIndex(of: "@") { return String(authority[authority.index(after: at)...]) }
        return String(authority)
    }

    private static func isLetter(_ byte: UInt8) -> Bool { byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A }
}
