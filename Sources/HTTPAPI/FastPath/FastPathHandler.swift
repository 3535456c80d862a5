import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// One connection's side of `FastPath`: sits where `RequestHost` is, after NIOHTTP1's decoder and
/// before the conversion to Hummingbird's types (the prototype measured that the savings need
/// this: placed after Hummingbird's handlers, the same work saved nothing measurable). So that
/// what it answers is counted as any other request:
///
/// - `ConnectionGuard`'s state is told of each request and answer (`headArrived`,
///   `responseEnded`): its header, idle and body-rate timeouts judge the connection as always;
/// - a graceful shutdown's `ChannelShouldQuiesceEvent` is held while a request is answered here and
///   passed on after its answer (Hummingbird's connection state handler, which closes an idle
///   connection at once, never sees these requests), and no request is taken here after it.
///
/// A request the plan takes is read here (its body collected), answered from a task, and written
/// with the headers the normal path gives. One it passes on — at once, or after finding it would
/// not answer 200 or 201 — goes on with its head, body and end as they arrived.
///
/// Order: HTTP/1.1 answers in request order. While a request is answered here, the parts of any
/// pipelined request after it are held (and the connection not read further), then replayed;
/// while Hummingbird has a request it has not finished answering, every request goes on to it.
final class FastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let fastPath: FastPath
    /// The connection's state as `ConnectionGuard` keeps it, told of the requests answered here.
    let connection: ConnectionGuard.State

    /// A request read here: its head, plan and body so far (a class: handed to the task and back
    /// without copying the head's headers and the plan's kind each time).
    final class Taken: @unchecked Sendable {
        let head: HTTPRequestHead
        let plan: FastPath.Plan
        /// The `X-Request-Id` the request sent, if any.
        let incomingID: String?
        /// Written on the event loop until the request's end, then read by the task only.
        var body: ByteBuffer?

        init(head: HTTPRequestHead, plan: FastPath.Plan, incomingID: String?) {
            self.head = head
            self.plan = plan
            self.incomingID = incomingID
        }
    }

    private var taken: Taken?
    private var memo = FastPath.Memo()
    /// Its end arrived; its answer is being made off the event loop.
    private var answering = false
    /// Parts (and an error) that arrived while answering, replayed in order after the answer.
    private var held: [HTTPServerRequestPart] = []
    private var heldError: (any Error)?
    /// A read asked for while answering, made afterwards.
    private var readWanted = false
    /// Requests passed on whose answers have not ended.
    private var passedOn = 0
    /// The current request's head went on: its body and end follow it.
    private var passing = false
    private var closed = false
    /// A graceful shutdown began: held while answering, then passed on; nothing more is taken here.
    private var quiesceHeld: Any?
    private var quiescing = false

    init(fastPath: FastPath, connection: ConnectionGuard.State) {
        self.fastPath = fastPath
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if answering {
            held.append(part)
            return
        }
        take(part, context: context)
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            if passedOn == 0, !passing, !quiescing, let (plan, incomingID) = fastPath.plan(head, peer: context.channel.remoteAddress, memo: &memo) {
                taken = Taken(head: head, plan: plan, incomingID: incomingID)
                connection.headArrived(closes: false)
                return
            }
            passing = true
            passedOn += 1
        case .body(var bytes):
            if let taken {
                if taken.body == nil { taken.body = bytes } else { taken.body!.writeBuffer(&bytes) }
                return
            }
        case .end:
            if let request = taken {
                taken = nil
                answering = true
                connection.requestEnded()
                start(request, context: context)
                return
            }
            passing = false
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    private func start(_ request: Taken, context: ChannelHandlerContext) {
        let requestID = FastPath.requestID(request.incomingID)
        let started: ContinuousClock.Instant? = fastPath.logger.logLevel <= .info ? .now : nil
        let peer = context.channel.remoteAddress
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let fastPath = fastPath
        Task {
            let outcome = await fastPath.answer(request.plan, head: request.head, body: request.body, requestID: requestID, peer: peer)
            loop.execute {
                bound.value.handler.finish(
                    request, outcome: outcome, requestID: requestID, started: started, context: bound.value.context)
            }
        }
    }

    private func finish(
        _ request: Taken, outcome: FastPath.Outcome, requestID: String,
        started: ContinuousClock.Instant?, context: ChannelHandlerContext
    ) {
        answering = false
        guard !closed else { return }
        switch outcome {
        case .answer(let status, let headers, let body):
            let head = fastPath.head(status, headers, length: body.readableBytes, requestID: requestID)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            connection.responseEnded()
            if let started {
                var logger = fastPath.logger
                logger[metadataKey: "hb.request.id"] = .string(requestID)
                logger[metadataKey: "answered_by"] = "fast_path"
                RequestMiddleware.logAccess(
                    method: request.head.method.rawValue, path: request.head.uri, status: status, bytes: body.readableBytes, since: started,
                    logger)
            }
        case .passOn:
            // ConnectionGuard counts it again when it arrives there.
            connection.responseEnded()
            passedOn += 1
            context.fireChannelRead(wrapInboundOut(.head(request.head)))
            if let body = request.body { context.fireChannelRead(wrapInboundOut(.body(body))) }
            context.fireChannelRead(wrapInboundOut(.end(nil)))
        }
        let replay = held
        held = []
        for part in replay {
            if answering {
                held.append(part)
            } else {
                take(part, context: context)
            }
        }
        if !answering, let error = heldError {
            heldError = nil
            context.fireErrorCaught(error)
        }
        if !answering, let event = quiesceHeld {
            quiesceHeld = nil
            context.fireUserInboundEventTriggered(event)
        }
        // What went on is delivered to Hummingbird's request loop at the end of a read.
        context.fireChannelReadComplete()
        if !answering, readWanted {
            readWanted = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if answering {
            readWanted = true
            return
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if answering {
            heldError = heldError ?? error
            return
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if answering || taken != nil {
                quiesceHeld = event
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }
}
