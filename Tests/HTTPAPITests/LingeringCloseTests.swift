import Foundation
import TestSupport
import Testing

@testable import HTTPAPI

#if canImport(Glibc)
import Glibc
#endif

/// A request that asks to close (`Connection: close`) and is answered before its body is read (a
/// refusal: 401, 404, 415…) gets its answer and then a bounded close. Before, the server half-closed
/// and stopped reading: a client that writes its whole body before reading (Python's urllib) hung
/// until its own timeout, and the connection outlived every server timeout and counted against
/// MAX_CONNECTIONS for as long as the client kept it.
@Suite struct LingeringCloseTests {
    static func head(length: Int) -> String {
        "PUT /api/audio/song/999999 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n"
    }

    /// Sends one byte every 50 ms without blocking until a send fails (the server closed the
    /// socket: EPIPE or ECONNRESET); how long that took, or nil when `wait` passed first.
    static func sendsFailWithin(_ socket: RawSocket, _ wait: Duration) async throws -> Duration? {
        try await RawSocket.onThread {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < wait {
                var byte: UInt8 = 0
                let n = Glibc.send(socket.fd, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if n < 0, errno != EAGAIN, errno != EWOULDBLOCK { return ContinuousClock.now - start }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }
    }

    @Test func aClientThatSendsItsWholeBodyFirstGetsTheRefusalAndTheConnectionEnds() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            let socket = try await RawSocket.connect(port: try #require(client.port))
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(socket.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let body = [UInt8](repeating: 0, count: 8 << 20)
            // The whole body goes through (the server reads and drops it; before, the send blocked
            // once the socket buffers were full), then the answer is there.
            try await socket.send(Self.head(length: body.count))
            try await socket.send(body)
            let answer = try await socket.read(until: "\r\n\r\n")
            #expect(RawConnection.status(answer) == 404, "\(answer.prefix(200))")
            // Once the client goes quiet, the server closes the socket (within the linger idle time).
            let closed = try await Self.sendsFailWithin(socket, .seconds(10))
            #expect(closed != nil, "the server kept the connection")
        }
    }

    @Test func aClientThatKeepsSendingIsCutOffAfterTheLingerTime() async throws {
        var limits = ConnectionLimits.forTestClients
        limits.lingerTime = .seconds(2)
        try await TestServer.run(setup: .live, connections: limits) { client, _ in
            let socket = try await RawSocket.connect(port: try #require(client.port))
            try await socket.send(Self.head(length: 500 << 20))
            let answer = try await socket.read(until: "\r\n\r\n")
            #expect(RawConnection.status(answer) == 404, "\(answer.prefix(200))")
            // Sending on (a byte every 50 ms) does not keep the connection: it ends after the linger time.
            let closed = try await Self.sendsFailWithin(socket, .seconds(8))
            #expect(closed.map { $0 >= .seconds(1) } == true, "closed after \(String(describing: closed))")
        }
    }
}
