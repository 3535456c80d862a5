import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPAPI

/// RFC 9112 §3.2: which host a request is for, with raw requests on real sockets.
@Suite struct HostHeaderTests {
    @Test func anHTTP11RequestNeedsExactlyOneHost() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            #expect(try await client.ready() == .ok)  // the 200s below are /healthz's
            let port = try #require(client.port)
            func send(_ head: String) async throws -> String {
                try await RawConnection.sendAndRead(port: port, head: head, until: "}", wait: .seconds(5))
            }
            for (head, found) in [
                ("GET /healthz HTTP/1.1\r\n\r\n", "no Host header"),
                ("GET /healthz HTTP/1.1\r\nHost: \r\n\r\n", "no Host header"),
                ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n", "2 Host headers ('127.0.0.1', 'evil.example')"),
                ("GET /healthz HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1\r\n\r\n", "2 Host headers"),
                ("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nHOST: 127.0.0.1\r\n\r\n", "2 Host headers"),
                ("GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n", "2 Host headers"),
            ] {
                let answer = try await send(head)
                #expect(RawConnection.status(answer) == 400, "\(head): \(answer.prefix(300))")
                #expect(answer.contains("application/problem+json") && answer.contains("/problems/invalid-host"), "\(head): \(answer)")
                #expect(answer.contains(found) && answer.contains("Send exactly one Host header"), "\(head): \(answer)")
                #expect(answer.lowercased().contains("x-request-id:"), "answered by the middleware, like any request: \(answer)")
            }
            // A value that is not host[:port] is malformed (400), not a name this server lacks (421).
            for value in ["a b", "evil.example/x", "user@127.0.0.1", "127.0.0.1:http", "127.0.0.1:80:80", "[::1", "[]", "%zz", "127.0.0.1:123456"] {
                let answer = try await send("GET /healthz HTTP/1.1\r\nHost: \(value)\r\n\r\n")
                #expect(RawConnection.status(answer) == 400, "\(value): \(answer.prefix(300))")
                #expect(answer.contains("/problems/invalid-host") && answer.contains("not a host name or address"), "\(value): \(answer)")
            }
            for value in ["127.0.0.1:\(port)", "LOCALHOST", "[::1]:\(port)", "localhost:"] {
                let answer = try await send("GET /healthz HTTP/1.1\r\nHost: \(value)\r\n\r\n")
                #expect(RawConnection.status(answer) == 200, "\(value): \(answer.prefix(300))")
            }
            // HTTP/1.0 did not require Host: still served.
            #expect(RawConnection.status(try await send("GET /healthz HTTP/1.0\r\n\r\n")) == 200)
            #expect(RawConnection.status(try await send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) == 200)
        }
        // `ALLOWED_HOSTS=*` opens the names, not the syntax.
        try await TestServer.run(setup: .live, allowedHosts: HostAllowList(setting: "*")) { client, _ in
            #expect(try await client.ready() == .ok)
            let port = try #require(client.port)
            let missing = try await RawConnection.sendAndRead(port: port, head: "GET /healthz HTTP/1.1\r\n\r\n", until: "}", wait: .seconds(5))
            #expect(
                RawConnection.status(missing) == 400 && missing.contains("invalid-host") && missing.contains("any name of this server"), "\(missing)")
            let any = try await RawConnection.sendAndRead(port: port, head: "GET /healthz HTTP/1.1\r\nHost: a.example\r\n\r\n", until: "}")
            #expect(RawConnection.status(any) == 200)
            let malformed = try await RawConnection.sendAndRead(
                port: port, head: "GET /healthz HTTP/1.1\r\nHost: a.example/../b\r\n\r\n", until: "}", wait: .seconds(5))
            #expect(RawConnection.status(malformed) == 400 && malformed.contains("invalid-host"), "\(malformed)")
        }
    }

    /// §3.2.2: an absolute-form target's authority is the host; Host is ignored.
    @Test func anAbsoluteFormTargetNamesTheHost() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            #expect(try await client.ready() == .ok)  // the 200s below are /healthz's
            let port = try #require(client.port)
            func send(_ head: String) async throws -> String {
                try await RawConnection.sendAndRead(port: port, head: head, until: "}", wait: .seconds(5))
            }
            for target in ["http://evil.example/healthz", "HTTP://evil.example:\(port)/healthz?x=1", "http://127.0.0.1@evil.example/healthz"] {
                for version in ["1.1", "1.0"] {
                    let answer = try await send("GET \(target) HTTP/\(version)\r\nHost: 127.0.0.1\r\n\r\n")
                    #expect(RawConnection.status(answer) == 421, "\(target) \(version): \(answer.prefix(300))")
                    #expect(answer.contains("/problems/host-not-allowed") && answer.contains("'evil.example") && answer.contains("ALLOWED_HOSTS"))
                }
            }
            // The target names this server: served, whatever Host says.
            let own = try await send("GET http://127.0.0.1:\(port)/healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n")
            #expect(RawConnection.status(own) == 200, "\(own.prefix(300))")
            // Origin form is unchanged.
            #expect(RawConnection.status(try await send("GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n")) == 421)
        }
    }
}
