import HTTPTypes
import KindModel
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Synchronization

/// Open connections of one server, shared by all its event loops.
final class ConnectionCounter: Sendable {
    let open = Atomic<Int>(0)
}

/// Protects the server from clients that hold connections without using them and from malformed
/// request heads:
///
/// - a request head must be complete within `headerTimeout` (of the connection opening, or of the
///   first byte of a later request); a kept-alive connection without a request is closed after
///   `idleTimeout`; a body must keep arriving at `minBodyRate` while the server waits for it;
/// - past `maxConnections`, a new connection gets a 503 problem and is closed at once, so the
///   process never runs out of file descriptors and existing connections keep being served;
/// - an unparseable request head gets a problem response that names what was wrong (400, 414,
///   431, 501 or 505) instead of Hummingbird's empty 400;
/// - which host a request is for is settled by `RequestHost`, which it installs before the
///   conversion to Hummingbird's types.
///
/// The per-request work is a few stores of flags: timestamps are taken by a per-connection tick
/// (`ConnectionLimits.tick`), so no clock is read and no timer is scheduled per request.
///
/// Sits after the HTTP codec (it sees request heads and response ends) and installs a byte-level
/// `Watcher` at the front of the pipeline (it sees raw reads, read demand and the connection opening).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What both handlers know about the connection (confined to its event loop).
    final class State {
        /// Between a request head and its end.
        var requestOpen = false
        /// Request heads whose response has not ended yet.
        var responsesPending = 0
        /// A byte arrived while no request was open or answered: a head is under way.
        var headStarted = false
        var headStartedAt: NIODeadline?
        /// Whether a request was answered: the connection is then kept alive, not new.
        var servedOne = false
        var idleSince: NIODeadline?
        /// Bytes read in all, and at the start of the current body-rate window.
        var bytesRead = 0
        var windowStart: NIODeadline?
        var windowBytes = 0
        /// The pipeline asked for bytes that have not arrived yet (the server is waiting on the client).
        var readPending = false
        /// The last raw read while a head was under way, to explain a parse error.
        var headBytes: ByteBuffer?
        /// The bytes of the head under way's request line seen so far, and whether its end was: a
        /// head too large whose request line is most of it is the URL's fault (414), otherwise the
        /// headers' (431).
        var requestLineBytes = 0
        var requestLineEnded = false
        var closing = false
        /// The response being written said `Connection: close`: the connection ends after it.
        var closeAfterResponse = false
        /// The open request asked for the connection to end after its answer (`Connection: close`).
        var requestCloses = false
        /// Answered and ending while the request's body is still arriving: the rest is read and
        /// dropped until `limits.lingerTime` after this, or `lingerIdle` without a byte.
        var lingeringSince: NIODeadline?
        var lingerBytes = 0
        var lingerQuietSince: NIODeadline?

        /// A request head arrived (seen by `ConnectionGuard`, or by `FastPathHandler` for the
        /// requests it answers, which never reach it).
        func headArrived(closes: Bool) {
            requestOpen = true
            requestCloses = closes
            responsesPending += 1
            headStarted = false
            headStartedAt = nil
            headBytes = nil
            requestLineBytes = 0
            requestLineEnded = false
            windowStart = nil
        }

        func requestEnded() { requestOpen = false }

        /// An answer's end was written.
        func responseEnded() {
            responsesPending = max(0, responsesPending - 1)
            if responsesPending == 0 {
                servedOne = true
                idleSince = nil
            }
        }
    }

    let limits: ConnectionLimits
    let counter: ConnectionCounter
    let logger: Logger
    let state = State()
    /// Answers the hottest routes before the conversion to Hummingbird's types (`FastPathHandler`).
    let fastPath: FastPath?

    init(limits: ConnectionLimits, counter: ConnectionCounter, logger: Logger, fastPath: FastPath? = nil) {
        self.limits = limits
        self.counter = counter
        self.logger = logger
        self.fastPath = fastPath
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let watcher = Watcher(limits: limits, counter: counter, state: state, logger: logger)
        do {
            try context.pipeline.syncOperations.addHandler(watcher, position: .first)
        } catch {
            logger.error("cannot install the connection watcher", metadata: ["error": "\(error)"])
        }
        do {
            // Where HTTP/1's version, target and every Host line are still visible.
            let codec = try context.pipeline.syncOperations.context(handlerType: HTTP1ToHTTPServerCodec.self)
            try context.pipeline.syncOperations.addHandler(RequestHost(), position: .before(codec.handler))
            if let fastPath {
                // After the Host check (it reads the settled Host), before the conversion.
                try context.pipeline.syncOperations.addHandler(
                    FastPathHandler(fastPath: fastPath, connection: state), position: .before(codec.handler))
            }
        } catch {
            logger.error("cannot install the Host check", metadata: ["error": "\(error)"])
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state.lingeringSince != nil {
            // The answer is out and the connection ends: what still arrives is dropped.
            context.read()
            return
        }
        switch unwrapInboundIn(data) {
        case .head(var head):
            // A few comparisons per request: only a present Connection header is looked into.
            state.headArrived(closes: head.headerFields[.connection].map { $0.lowercased().contains("close") } ?? false)
            // Here, before Hummingbird's router chooses a route by the method (`TusMethodOverride`).
            if head.method == .post, head.headerFields.contains(TusMethodOverride.header) {
                TusMethodOverride.apply(to: &head)
                context.fireChannelRead(wrapInboundOut(.head(head)))
                return
            }
        case .end:
            state.requestEnded()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            // A refusal that cannot know where the request's body ends (an unsupported
            // Transfer-Encoding) says `Connection: close`; Hummingbird closes only when the request
            // asked to, so the rest of that body would be parsed as the next request. The status
            // is compared first: a success pays one integer comparison.
            if head.status.code >= 400, head.headerFields[.connection] == "close" { state.closeAfterResponse = true }
        case .end:
            state.responseEnded()
            if state.requestOpen, state.requestCloses, !state.closeAfterResponse {
                // Answered before the body was read, and the connection ends: keep reading (and
                // dropping) for a bounded time so that a client still writing gets to its answer
                // instead of a reset; `Watcher.check` closes when the time is up. (Not after a
                // refusal whose body's end is unknown, `closeAfterResponse`: that closes at once.)
                state.lingeringSince = .now()
                state.lingerBytes = state.bytesRead
                context.writeAndFlush(data, promise: promise)
                context.read()
                return
            }
            if state.closeAfterResponse {
                state.closing = true
                let channel = context.channel
                let written = promise ?? context.eventLoop.makePromise()
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                context.writeAndFlush(data, promise: written)
                return
            }
        case .body:
            break
        }
        context.write(data, promise: promise)
    }

    /// A request head the decoder cannot parse: answer with a problem and close, unless a handler
    /// already owns the request (its body stream then throws the error: `Problem(for:)`).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if state.lingeringSince != nil {
            // What arrives after the answer is dropped, malformed or not; the connection ends.
            state.closing = true
            context.close(promise: nil)
            return
        }
        guard let parseError = error as? HTTPParserError, !state.requestOpen, state.responsesPending == 0, !state.closing else {
            context.fireErrorCaught(error)
            return
        }
        guard context.channel.isActive, parseError != .invalidEOFState else {
            // The client left in the middle of a head: nobody to answer.
            logger.debug("client closed the connection during a request head")
            return
        }
        let urlFillsHead = !state.requestLineEnded || state.requestLineBytes > Self.headLimit / 2
        let problem = Self.problem(for: parseError, head: state.headBytes, urlFillsHead: urlFillsHead)
        logger.debug("unparseable request head", metadata: ["error": "\(parseError)", "status": "\(problem.status.code)"])
        state.closing = true
        let body = ByteBuffer(string: JSONWriter.string(problem.json))
        let head = HTTPResponse(
            status: problem.status,
            headerFields: [
                .contentType: "application/problem+json", .contentLength: String(body.readableBytes), .connection: "close",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// The largest request head (request line and headers together) the HTTP decoder reads, and
    /// so also the longest URL (`ServerApplication` configures the decoder with it; Hummingbird's
    /// default too).
    static let headLimit = 80 * 1024

    /// - Parameter urlFillsHead: the request line is more than half of the head (or did not end).
    static func problem(for error: HTTPParserError, head: ByteBuffer?, urlFillsHead: Bool = false) -> Problem {
        let limit = "\(headLimit / 1024) KiB"
        switch error {
        case .headerOverflow where urlFillsHead:
            return Problem(
                .urlTooLong,
                detail:
                    "The request's URL is longer than the server reads: at most \(limit), and \(limit) for the URL and headers together; send a shorter URL (fewer or shorter query parameters)."
            )
        case .headerOverflow:
            return Problem(
                .headersTooLarge,
                detail: "The request's URL and headers together are larger than the server reads (\(limit)); send fewer or shorter headers.")
        case .invalidContentLength, .unexpectedContentLength:
            return invalidFraming
        case .invalidChunkSize:
            return malformedChunks
        case .unknown where head.map(Self.mentionsTransferEncoding) == true:
            // llhttp's HPE_INVALID_TRANSFER_ENCODING: with a Content-Length, or not ending in chunked.
            return head.map(Self.mentionsContentLength) == true ? invalidFraming : unsupportedTransferEncoding
        case .invalidMethod:
            if let method = head.flatMap(Self.methodToken) {
                return Problem(
                    .unknownMethod,
                    detail:
                        "This server does not recognise the method '\(method)' (methods are case-sensitive); its routes take \(RouteTable.methods.joined(separator: ", ")). GET /openapi.json lists each route's methods."
                )
            }
        case .paused where head.map(Self.isHTTP2Preface) == true, .invalidVersion:
            return Problem(
                .httpVersionNotSupported,
                detail:
                    "This server speaks HTTP/1.1 and HTTP/1.0 only (not HTTP/2 or later); send the request as HTTP/1.1 (for curl: --http1.1, without --http2-prior-knowledge)."
            )
        default:
            break
        }
        if let head, head.readableBytes > 0, head.getInteger(at: head.readerIndex, as: UInt8.self) == 0x16 {
            // A TLS ClientHello starts with the handshake record type 22.
            return Problem(
                .malformedRequest,
                detail: "The request is TLS (https) but this server speaks plain HTTP; use http://, or send https to the proxy that ends TLS.")
        }
        return Problem(
            .malformedRequest, detail: "The request head could not be parsed as HTTP/1.1 (\(error)); check the request line and header syntax.")
    }

    static let invalidFraming = Problem(
        .invalidContentLength,
        detail:
            "Content-Length must be one decimal number, and not combined with Transfer-Encoding; fix the request's framing (send one of the two)."
    )

    static let malformedChunks = Problem(
        .malformedChunkedBody,
        detail:
            "The Transfer-Encoding: chunked body has an invalid chunk size line; each chunk starts with its size in hex followed by CRLF, and a 0-size chunk ends the body."
    )

    static let unsupportedTransferEncoding = Problem(
        .unsupportedTransferEncoding, detail: "This server accepts only Transfer-Encoding: chunked (or a Content-Length); send the body unencoded.")

    /// Whether raw head bytes contain a Transfer-Encoding header (only looked at on a parse error).
    static func mentionsTransferEncoding(_ buffer: ByteBuffer) -> Bool { hasField("transfer-encoding", in: buffer) }

    static func mentionsContentLength(_ buffer: ByteBuffer) -> Bool { hasField("content-length", in: buffer) }

    /// Whether a line of `buffer` starts with `name:` (`name` lower-case; compared without case).
    /// Byte by byte: a `String` search for "\nname:" never matches, because "\r\n" is one Character.
    static func hasField(_ name: String, in buffer: ByteBuffer) -> Bool {
        let needle = Array("\n\(name):".utf8)
        let bytes = buffer.readableBytesView.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { start in
            bytes[start] == 0x0A && bytes[start..<(start + needle.count)].elementsEqual(needle)
        }
    }

    /// The method of a request line whose method llhttp does not know, when it is a well-formed
    /// token followed by a space (`FOO / HTTP/1.1`); nil for bytes that are not a request line.
    static func methodToken(_ buffer: ByteBuffer) -> String? {
        let bytes = buffer.readableBytesView
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")), space > bytes.startIndex else { return nil }
        let token = bytes[..<space]
        guard token.count <= 32, token.allSatisfy(isTokenByte) else { return nil }
        return String(decoding: token, as: UTF8.self)
    }

    /// RFC 9110 §5.6.2 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }

    /// The connection preface of HTTP/2 with prior knowledge (RFC 9113 §3.4), which llhttp stops at.
    static func isHTTP2Preface(_ buffer: ByteBuffer) -> Bool {
        buffer.readableBytesView.starts(with: "PRI * HTTP/2.0\r\n".utf8)
    }

    /// The byte-level half: counts the connection against the cap, sees every read and read
    /// demand, and runs the tick that enforces the timeouts.
    final class Watcher: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let limits: ConnectionLimits
        let counter: ConnectionCounter
        let state: State
        let logger: Logger
        var counted = false
        var tick: RepeatedTask?
        var lastTick: NIODeadline?

        init(limits: ConnectionLimits, counter: ConnectionCounter, state: State, logger: Logger) {
            self.limits = limits
            self.counter = counter
            self.state = state
            self.logger = logger
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { start(context: context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            context.fireChannelActive()
            start(context: context)
        }

        private func start(context: ChannelHandlerContext) {
            guard !counted else { return }
            counted = true
            let open = counter.open.wrappingAdd(1, ordering: .relaxed).newValue
            if let max = limits.maxConnections, open > max {
                logger.debug("connection refused: too many open connections", metadata: ["open": "\(open)", "max": "\(max)"])
                state.closing = true
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Self.tooManyConnections))).whenComplete { _ in
                    channel.close(promise: nil)
                }
                return
            }
            if let every = limits.tick {
                let bound = NIOLoopBound((watcher: self, context: context), eventLoop: context.eventLoop)
                tick = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
                    bound.value.watcher.check(context: bound.value.context)
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            tick?.cancel()
            tick = nil
            if counted {
                counted = false
                counter.open.wrappingSubtract(1, ordering: .relaxed)
            }
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            tick?.cancel()
            tick = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.bytesRead &+= buffer.readableBytes
            state.readPending = false
            if !state.requestOpen && state.responsesPending == 0 {
                state.headStarted = true
                state.headBytes = buffer
                // Looked for until found: for most requests, within the first read's first line.
                if !state.requestLineEnded {
                    let end = buffer.withUnsafeReadableBytes { $0.firstIndex(of: UInt8(ascii: "\n")) }
                    state.requestLineBytes &+= end ?? buffer.readableBytes
                    state.requestLineEnded = end != nil
                }
            }
            context.fireChannelRead(data)
        }

        func read(context: ChannelHandlerContext) {
            state.readPending = true
            context.read()
        }

        /// Runs every tick: stamps what happened since the last one and closes the connection when
        /// a limit is broken.
        func check(context: ChannelHandlerContext) {
            guard !state.closing, context.channel.isActive else { return }
            let now = NIODeadline.now()
            defer { lastTick = now }
            // A tick far later than planned means this event loop was stalled: bytes may be waiting
            // unread in the socket, which is not the client's fault. Judge nothing this time and
            // start the body window again.
            if let every = limits.tick, let last = lastTick, now - last > every * 3 {
                state.windowStart = nil
                return
            }
            if let since = state.lingeringSince {
                if state.bytesRead != state.lingerBytes {
                    state.lingerBytes = state.bytesRead
                    state.lingerQuietSince = now
                }
                let quiet = now - (state.lingerQuietSince ?? since)
                if now - since >= limits.lingerTime || quiet >= limits.lingerIdle {
                    close(context, reason: "answered; the rest of the request body is not read")
                }
                return
            }
            if state.requestOpen {
                // Receiving a body. Time counts only while the server is waiting for bytes.
                guard let rate = limits.minBodyRate else { return }
                guard state.readPending, let start = state.windowStart else {
                    state.windowStart = now
                    state.windowBytes = state.bytesRead
                    return
                }
                guard now - start >= rate.window else { return }
                if state.bytesRead - state.windowBytes < rate.bytes {
                    close(context, reason: "request body slower than \(rate.bytes) bytes per \(ConnectionLimits.describe(rate.window))")
                } else {
                    state.windowStart = now
                    state.windowBytes = state.bytesRead
                }
            } else if state.responsesPending > 0 {
                return  // the server is answering: not the client's time
            } else if state.headStarted || !state.servedOne {
                guard let timeout = limits.headerTimeout else { return }
                guard let start = state.headStartedAt else {
                    state.headStartedAt = now
                    return
                }
                if now - start >= timeout {
                    close(context, reason: "request head not complete within \(ConnectionLimits.describe(timeout))")
                }
            } else {
                guard let timeout = limits.idleTimeout else { return }
                guard let since = state.idleSince else {
                    state.idleSince = now
                    return
                }
                if now - since >= timeout { close(context, reason: "idle for \(ConnectionLimits.describe(timeout))") }
            }
        }

        private func close(_ context: ChannelHandlerContext, reason: String) {
            logger.debug("closing connection", metadata: ["reason": "\(reason)"])
            state.closing = true
            tick?.cancel()
            tick = nil
            context.close(promise: nil)
        }

        /// The answer to a connection over the cap, written before any request is read.
        static let tooManyConnections: [UInt8] = {
            let problem = Problem(
                .tooManyConnections,
                detail: "The server has MAX_CONNECTIONS connections open; retry shortly, and reuse connections (keep-alive) instead of opening many.")
            let body = JSONWriter.string(problem.json)
            let text =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nContent-Length: \(body.utf8.count)\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                + body
            return Array(text.utf8)
        }()
    }
}
