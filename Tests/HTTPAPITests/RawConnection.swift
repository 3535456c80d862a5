import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP client for what HTTP clients refuse to do: hang up in the middle of a request body.
///
/// Every call a test makes is `async` and runs its blocking socket calls on a thread of its own:
/// the server under test runs in this process on Swift's cooperative pool (two threads on two
/// cores), so two tests blocked in `poll` on that pool would starve the very server they wait for
/// until their windows passed (which is what made these tests flaky beside large uploads).
enum RawConnection {
    /// A raw PUT of `song` `id` that announces 10 MB, sends `body` (a few KB of audio) and hangs up.
    static func hangUpMidUpload(port: Int, id: Int64, body: [UInt8]) async throws {
        try await sendThenClose(
            port: port,
            head: """
                PUT /api/audio/song/\(id) HTTP/1.1\r
                Host: 127.0.0.1\r
                Content-Type: audio/wav\r
                Content-Length: 10000000\r
                \r

                """, body: body)
    }

    /// A tus PATCH of the upload at `location` that announces `announced` bytes from `offset`,
    /// sends `body` (fewer) and hangs up: a connection cut mid-append.
    static func cutTusAppend(port: Int, location: String, offset: Int, announced: Int, body: [UInt8]) async throws {
        let framing = "Content-Length: \(announced)\r\n\r\n"
        try await sendThenClose(port: port, head: tusAppendHead(location, offset: offset, framing: framing), body: body)
    }

    /// A chunked tus PATCH of the upload at `location` that sends all of `body` as one chunk and
    /// hangs up before the last (empty) chunk: every byte arrived, but the request never ended.
    static func cutChunkedTusAppend(port: Int, location: String, offset: Int, body: [UInt8]) async throws {
        let framing = "Transfer-Encoding: chunked\r\n\r\n\(String(body.count, radix: 16))\r\n"
        try await sendThenClose(port: port, head: tusAppendHead(location, offset: offset, framing: framing), body: body + Array("\r\n".utf8))
    }

    /// A tus PATCH's head up to its framing (`framing`: the body's length header, the blank line,
    /// and whatever precedes the body's bytes).
    private static func tusAppendHead(_ location: String, offset: Int, framing: String) -> String {
        "PATCH \(location) HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: \(offset)\r\n"
            + "Content-Type: application/offset+octet-stream\r\n" + framing
    }

    static func sendThenClose(port: Int, head: String, body: [UInt8]) async throws {
        try await RawSocket.onThread {
            let fd = try open(port: port)
            defer { close(fd) }
            try send(fd, Array(TestServer.withAdminKey(head, port: port).utf8) + body)
            usleep(100_000)  // let the server start writing the upload before the hang-up
        }
    }

    /// Sends `head`, waits for what the server answers before any body (at most `wait`), then
    /// sends `body` and returns both answers: the interim one and the final one.
    static func sendHeadWaitThenBody(
        port: Int, head: String, body: [UInt8], wait: Duration = .seconds(2)
    ) async throws -> (interim: String, final: String) {
        try await RawSocket.onThread {
            let fd = try open(port: port)
            defer { close(fd) }
            try send(fd, Array(TestServer.withAdminKey(head, port: port).utf8))
            let interim = receive(fd, until: "\r\n\r\n", timeout: wait)
            try send(fd, body)
            let final = receive(fd, until: "}", timeout: .seconds(10))
            return (interim, final)
        }
    }

    static func receive(_ fd: Int32, until marker: String, timeout: Duration) -> String {
        String(decoding: receive(fd, timeout: timeout) { String(decoding: $0, as: UTF8.self).contains(marker) }, as: UTF8.self)
    }

    /// What arrives until `done` says the bytes so far are enough (or the peer closes, or `timeout` passes).
    static func receive(_ fd: Int32, timeout: Duration, until done: ([UInt8]) -> Bool) -> [UInt8] {
        var data: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
            if done(data) { break }
        }
        return data
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send failed") }
            sent += n
        }
    }

    static func open(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestFailure("connect failed")
        }
        return fd
    }
}

extension RawConnection {
    /// The status code of a raw HTTP answer (0 when there is none).
    static func status(_ answer: String) -> Int {
        let line = answer.prefix { $0 != "\r" }.split(separator: " ")
        return line.count > 1 ? Int(line[1]) ?? 0 : 0
    }

    /// Sends `head` (and `body`, if any) and returns whatever the server answers within `wait`.
    ///
    /// On a thread of its own: the socket calls block, and the server under test runs in this
    /// process on Swift's cooperative pool (two threads here), which a blocked test thread would
    /// starve while the server has a large body to read.
    static func sendAndRead(port: Int, head: String, body: [UInt8] = [], until marker: String, wait: Duration = .seconds(10)) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        let fd = try open(port: port)
                        defer { close(fd) }
                        try send(fd, Array(TestServer.withAdminKey(head, port: port).utf8) + body)
                        return receive(fd, until: marker, timeout: wait)
                    })
            }.start()
        }
    }
}

/// A raw connection kept open across steps, for timeouts and the connection cap. Every blocking
/// call runs on a thread of its own (see `sendAndRead`).
final class RawSocket: @unchecked Sendable {
    let fd: Int32
    /// The server's port: a request head sent with `send(_: String)` gets its admin key.
    let port: Int
    private var closed = false

    private init(fd: Int32, port: Int) {
        self.fd = fd
        self.port = port
    }

    static func connect(port: Int) async throws -> RawSocket {
        try await onThread { RawSocket(fd: try RawConnection.open(port: port), port: port) }
    }

    deinit { if !closed { close(fd) } }

    func shut() {
        if !closed {
            closed = true
            close(fd)
        }
    }

    func send(_ text: String) async throws { try await send(Array(TestServer.withAdminKey(text, port: port).utf8)) }

    func send(_ bytes: [UInt8]) async throws {
        try await Self.onThread { try RawConnection.send(self.fd, bytes) }
    }

    /// Sends `bytes` in `chunk`-sized pieces, one every `every`, on one thread (so the pace holds
    /// however busy Swift's cooperative pool is).
    func sendSlowly(_ bytes: [UInt8], chunk: Int, every: Duration) async throws {
        try await Self.onThread {
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunk, bytes.count)
                try RawConnection.send(self.fd, Array(bytes[offset..<end]))
                offset = end
                Thread.sleep(forTimeInterval: Double(every.components.attoseconds) / 1e18 + Double(every.components.seconds))
            }
        }
    }

    /// What arrives until `marker` (or the peer closes, or `wait` passes).
    func read(until marker: String, wait: Duration = .seconds(10)) async throws -> String {
        try await Self.onThread { RawConnection.receive(self.fd, until: marker, timeout: wait) }
    }

    /// How long until the server closed the connection (reading and dropping whatever it sends),
    /// or nil when it is still open after `wait`.
    func closedWithin(_ wait: Duration) async throws -> Duration? {
        try await Self.onThread {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < wait {
                var pfd = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 20) > 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                if recv(self.fd, &buffer, buffer.count, 0) <= 0 { return ContinuousClock.now - start }
            }
            return nil
        }
    }

    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
