import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import HTTPAPI

/// The fast path (`FastPath`) answers GET by id and create itself and passes every other request
/// on: the same requests, sent as raw bytes to one server with it and one without, must get the
/// same status, the same header names, the same problem and the same body shape — and the fast
/// server's log must show that it answered the successes itself.
@Suite struct FastPathParityTests {
    /// One request, written for a server (its admin key is added unless it names its own
    /// Authorization or `X-Test-Anonymous`; `read` is a key holding only read:song there).
    struct Case: Sendable {
        let name: String
        let request: @Sendable (_ read: String) -> String
        /// How many answers it gets (pipelined requests).
        var answers = 1
    }

    static let song = #"{"filetype":"song","name":"parity","duration":61}"#

    /// A kind with a unique field, for a create the database refuses.
    static let uniqueKind = """
        name: parity_tag
        description: A label no two records share.
        fields:
          label:
            type: string
            required: true
            max_length: 50
            unique: true
        """

    static func post(_ body: String, headers: String = "Content-Type: application/json\r\n") -> String {
        "POST /api/audio/create HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static func get(_ path: String, headers: String = "", version: String = "1.1") -> String {
        "GET \(path) HTTP/\(version)\r\nHost: 127.0.0.1\r\n\(headers)\r\n"
    }

    static let cases: [Case] = [
        Case(name: "GET a record") { _ in get("/api/audio/song/1") },
        Case(name: "GET a record without a key (public reads)") { _ in get("/api/audio/song/1", headers: "X-Test-Anonymous: 1\r\n") },
        Case(name: "GET with a read-only key") { read in get("/api/audio/song/1", headers: "Authorization: Bearer \(read)\r\n") },
        Case(name: "GET a missing record") { _ in get("/api/audio/song/999999") },
        Case(name: "GET a bad id") { _ in get("/api/audio/song/abc") },
        Case(name: "GET an id of zero") { _ in get("/api/audio/song/0") },
        Case(name: "GET an unknown kind") { _ in get("/api/audio/nosuchkind/1") },
        Case(name: "GET with a malformed key") { _ in get("/api/audio/song/1", headers: "Authorization: Bearer nope\r\n") },
        Case(name: "GET with an unknown key") { _ in
            get("/api/audio/song/1", headers: "Authorization: Bearer afs_\(String(repeating: "A", count: 43))\r\n")
        },
        Case(name: "GET with Basic credentials") { _ in get("/api/audio/song/1", headers: "Authorization: Basic dTpw\r\n") },
        Case(name: "GET with If-None-Match *") { _ in get("/api/audio/song/1", headers: "If-None-Match: *\r\n") },
        Case(name: "HEAD a record") { _ in "HEAD /api/audio/song/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" },
        Case(name: "GET with a Host not allowed") { _ in "GET /api/audio/song/1 HTTP/1.1\r\nHost: evil.example\r\n\r\n" },
        Case(name: "GET with a client's request id") { _ in get("/api/audio/song/1", headers: "X-Request-Id: parity-client-id-1\r\n") },
        Case(name: "GET with a request id holding a key prefix") { _ in get("/api/audio/song/1", headers: "X-Request-Id: afs_x\r\n") },
        Case(name: "GET as HTTP/1.0") { _ in get("/api/audio/song/1", version: "1.0") },
        Case(name: "GET with Connection: close") { _ in get("/api/audio/song/1", headers: "Connection: close\r\n") },
        Case(name: "GET with Origin") { _ in get("/api/audio/song/1", headers: "Origin: http://127.0.0.1:1\r\n") },
        Case(name: "GET with a query") { _ in get("/api/audio/song/1?x=1") },
        Case(name: "GET with a percent-encoded kind") { _ in get("/api/audio/%73ong/1") },
        Case(name: "GET with a body") { _ in "GET /api/audio/song/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}" },
        Case(name: "GET with two Authorization lines") { read in
            get("/api/audio/song/1", headers: "Authorization: Bearer \(read)\r\nAuthorization: Bearer \(read)\r\n")
        },
        Case(name: "GET with two request ids") { _ in get("/api/audio/song/1", headers: "X-Request-Id: one\r\nX-Request-Id: two\r\n") },
        Case(name: "create a record") { _ in post(song) },
        // The second of these is refused by the database (a unique field): the fast path has sent
        // the INSERT, so it answers the problem itself (`Problem(for:)`) instead of passing it on.
        Case(name: "create a unique value") { _ in post(#"{"filetype":"parity_tag","label":"same"}"#) },
        Case(name: "create the same unique value again") { _ in post(#"{"filetype":"parity_tag","label":"same"}"#) },
        Case(name: "create with a method override") { _ in
            post(song, headers: "Content-Type: application/json\r\nX-HTTP-Method-Override: PATCH\r\n")
        },
        Case(name: "create with two Content-Types") { _ in
            post(song, headers: "Content-Type: application/json\r\nContent-Type: text/plain\r\n")
        },
        Case(name: "create with a charset") { _ in post(song, headers: "Content-Type: application/json; charset=utf-8\r\n") },
        Case(name: "create an invalid record") { _ in post(#"{"filetype":"song","name":"","duration":-1}"#) },
        Case(name: "create with an unknown field") { _ in post(#"{"filetype":"song","name":"x","duration":3,"bogus":1}"#) },
        Case(name: "create malformed JSON") { _ in post(#"{"filetype":"song","#) },
        Case(name: "create a JSON array") { _ in post("[1]") },
        Case(name: "create without filetype") { _ in post(#"{"name":"x","duration":3}"#) },
        Case(name: "create an unknown kind") { _ in post(#"{"filetype":"nosuchkind","name":"x"}"#) },
        Case(name: "create without a key") { _ in post(song, headers: "Content-Type: application/json\r\nX-Test-Anonymous: 1\r\n") },
        Case(name: "create with a read-only key") { read in post(song, headers: "Content-Type: application/json\r\nAuthorization: Bearer \(read)\r\n")
        },
        Case(name: "create with a malformed key") { _ in post(song, headers: "Content-Type: application/json\r\nAuthorization: Bearer x\r\n") },
        Case(name: "create as text/plain") { _ in post(song, headers: "Content-Type: text/plain\r\n") },
        Case(name: "create without Content-Type") { _ in post(song, headers: "") },
        Case(name: "create gzip-encoded") { _ in post(song, headers: "Content-Type: application/json\r\nContent-Encoding: gzip\r\n") },
        Case(name: "create with a byte-order mark") { _ in post("\u{FEFF}" + song) },
        Case(name: "create chunked") { _ in
            "POST /api/audio/create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "\(String(song.utf8.count, radix: 16))\r\n\(song)\r\n0\r\n\r\n"
        },
        Case(name: "create with Expect: 100-continue sent at once") { _ in
            post(song, headers: "Content-Type: application/json\r\nExpect: 100-continue\r\n")
        },
        Case(name: "create with Origin") { _ in post(song, headers: "Content-Type: application/json\r\nOrigin: http://127.0.0.1:1\r\n") },
        Case(
            name: "pipelined: fast, passed on, fast, passed on",
            request: { _ in
                get("/api/audio/song/1") + get("/api/audio/song/999999") + post(song) + get("/api/audio/song/abc")
            }, answers: 4),
        Case(
            name: "pipelined: passed on, then fast",
            request: { _ in
                get("/api/kinds") + get("/api/audio/song/2") + post(song)
            }, answers: 3),
    ]

    /// One answer, as the comparison sees it.
    struct Answer: Equatable, CustomStringConvertible {
        var status: Int
        var headerNames: [String]
        /// `type` of a problem; the body's top-level keys of a JSON object; else the body.
        var shape: String
        var requestID: String?

        var description: String { "\(status) \(headerNames) \(shape) id=\(requestID ?? "-")" }
    }

    /// The complete answers in `raw`, in order: status line, headers, a Content-Length body each
    /// (none after a HEAD). An interim 100 is kept as one of the answers compared.
    static func answers(_ raw: [UInt8], head: Bool) -> [Answer] {
        let text = String(decoding: raw, as: UTF8.self)
        var rest = Substring(text)
        var found: [Answer] = []
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            var headers: [(String, String)] = []
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            let status = RawConnection.status(lines[0])
            let length = head || status == 100 ? 0 : headers.first { $0.0 == "content-length" }.flatMap { Int($0.1) } ?? 0
            guard let bodyEnd = rest.utf8.index(end.upperBound, offsetBy: length, limitedBy: rest.utf8.endIndex) else { break }
            let body = String(rest[end.upperBound..<bodyEnd])
            rest = rest[bodyEnd...]
            var shape = body
            if let data = body.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                shape = (object["type"] as? String) ?? object.keys.sorted().joined(separator: ",")
            }
            found.append(
                Answer(
                    status: status, headerNames: Array(Set(headers.map(\.0))).sorted(), shape: shape,
                    requestID: headers.first { $0.0 == "x-request-id" }?.1))
        }
        return found
    }

    /// Sends `text` on a new connection and reads until `count` final answers are complete, the
    /// server closes, or 20 s pass (a busy test machine is slow, never wrong).
    static func exchange(port: Int, _ text: String, count: Int) async throws -> [Answer] {
        let head = text.hasPrefix("HEAD ")
        return try await RawSocket.onThread {
            let fd = try RawConnection.open(port: port)
            defer { close(fd) }
            try RawConnection.send(fd, Array(TestServer.withAdminKey(text, port: port).utf8))
            let data = RawConnection.receive(fd, timeout: .seconds(20)) { answers($0, head: head).filter { $0.status != 100 }.count >= count }
            return answers(data, head: head)
        }
    }

    /// Sends every case to a server with the fast path on or off; the answers, by case.
    static func run(fastPaths: Bool, logger: Logger) async throws -> [[Answer]] {
        try await TestServer.run(extraKinds: ["parity_tag.yaml": Self.uniqueKind], setup: .live, logger: logger, fastPaths: fastPaths) {
            client, context in
            let port = try #require(client.port)
            _ = try await client.create(#"{"filetype":"song","name":"one","duration":10}"#)
            _ = try await client.create(#"{"filetype":"song","name":"two","duration":20}"#)
            let read = try await context.makeKey(["read:song"])
            var all: [[Answer]] = []
            for item in cases {
                all.append(try await exchange(port: port, item.request(read), count: item.answers))
            }
            return all
        }
    }

    @Test func theFastPathAnswersAsTheNormalPathDoes() async throws {
        let capture = LogCapture()
        let fast = try await Self.run(fastPaths: true, logger: capture.logger(level: .info))
        let normal = try await Self.run(fastPaths: false, logger: LogCapture().logger(level: .warning))
        for (index, item) in Self.cases.enumerated() {
            #expect(fast[index].filter { $0.status != 100 }.count == item.answers, "\(item.name): \(fast[index])")
            #expect(fast[index].map(\.status) == normal[index].map(\.status), "\(item.name)")
            #expect(fast[index].map(\.headerNames) == normal[index].map(\.headerNames), "\(item.name)")
            #expect(fast[index].map(\.shape) == normal[index].map(\.shape), "\(item.name)")
        }
        // A client's well-formed id is echoed; one holding a key's prefix is replaced on both.
        let echoed = try #require(Self.cases.firstIndex { $0.name == "GET with a client's request id" })
        #expect(fast[echoed].first?.requestID == "parity-client-id-1")
        let replaced = try #require(Self.cases.firstIndex { $0.name == "GET with a request id holding a key prefix" })
        #expect(fast[replaced].first?.requestID != "afs_x")
        // What the fast path itself answered: every 200 GET and 201 create it may take, and none of the rest.
        let lines = capture.messages(atLeast: .info).filter { $0.contains("fast_path") }
        let expected = [
            "GET a record", "GET a record without a key (public reads)", "GET with a client's request id",
            "GET with a request id holding a key prefix", "create a record", "create with a charset",
        ]
        for name in expected {
            let index = try #require(Self.cases.firstIndex { $0.name == name })
            #expect(fast[index].first?.status == 200 || fast[index].first?.status == 201, "\(name): \(fast[index])")
        }
        // At least those, plus the pipelined ones it may take (the first of each pipeline, and the
        // fast request after a passed-on one once that answer ended); and the unique clash, answered
        // by it with the normal path's problem.
        let clash = try #require(Self.cases.firstIndex { $0.name == "create the same unique value again" })
        #expect(fast[clash].first?.status == 409, "\(fast[clash])")
        let clashes = lines.filter { $0.contains(#""status": 409"#) }
        #expect(clashes.count == 1, "\(lines)")
        #expect(lines.count >= expected.count + 1, "\(lines)")
        #expect(lines.allSatisfy { $0.contains(#""status": 200"#) || $0.contains(#""status": 201"#) || $0.contains(#""status": 409"#) }, "\(lines)")
    }

    /// The connection limits judge what the fast path answers as any other request: a kept-alive
    /// connection whose last request was answered by it is closed after the idle timeout, and one
    /// that sends half a create's body is closed by the body-rate limit.
    @Test func connectionLimitsSeeTheRequestsItAnswers() async throws {
        let limits = ConnectionLimits(
            headerTimeout: .seconds(60), idleTimeout: .milliseconds(600), minBodyRate: .init(bytes: 2000, window: .milliseconds(500)))
        let capture = LogCapture()
        try await TestServer.run(setup: .live, connections: limits, logger: capture.logger(level: .info)) { client, _ in
            let port = try #require(client.port)
            let id = try await client.create(Self.song)
            let socket = try await RawSocket.connect(port: port)
            let sent = ContinuousClock.now
            try await socket.send(Self.get("/api/audio/song/\(id)"))
            #expect(try await socket.read(until: "}").hasPrefix("HTTP/1.1 200"))
            let answered = ContinuousClock.now - sent
            let closed = try await socket.closedWithin(.seconds(5))
            #expect(closed != nil, "an idle connection stayed open after a fast answer")
            #expect(closed.map { answered + $0 >= .milliseconds(590) } ?? true, "closed before the idle timeout")
            #expect(capture.messages(atLeast: .info).contains { $0.contains("fast_path") && $0.contains("/api/audio/song/\(id)") })

            // Half a create's body, then nothing: the body-rate limit closes the connection.
            let stalled = try await RawSocket.connect(port: port)
            let post = Self.post(Self.song)
            try await stalled.send(String(post.dropLast(10)))
            #expect(try await stalled.closedWithin(.seconds(5)) != nil, "a stalled create body kept its connection")
        }
    }

    /// Each connection keeps the key it last looked up (`FastPath.Memo`): a revocation must end
    /// that at once, so the next request on the same connection is refused.
    @Test func aKeyRevokedWhileItsConnectionIsOpenIsRefusedOnIt() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let port = try #require(client.port)
            let id = try await client.create(Self.song)
            let secret = try await context.makeKey(["read:song"])
            let keyID = try #require(try await client.get("/api/key", headers: [.authorization: "Bearer \(secret)"]).json()["key"]?["id"]?.int64)
            let socket = try await RawSocket.connect(port: port)
            let request = Self.get("/api/audio/song/\(id)", headers: "Authorization: Bearer \(secret)\r\n")
            // Twice: the key is in memory and kept by the connection from the second on.
            for _ in 0..<2 {
                try await socket.send(request)
                #expect(try await socket.read(until: "}").hasPrefix("HTTP/1.1 200"))
            }
            #expect(try await client.execute(uri: "/api/keys/\(keyID)", method: .delete).status == .noContent)
            try await socket.send(request)
            let refused = try await socket.read(until: "}")
            #expect(refused.hasPrefix("HTTP/1.1 401"), "\(refused)")
        }
    }
}
