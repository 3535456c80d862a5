import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPAPI

/// Request heads the HTTP decoder cannot read: each problem names what was wrong.
@Suite struct UnreadableHeadTests {
    @Test func eachUnreadableHeadIsAnsweredWithWhatToFix() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            let port = try #require(client.port)
            func send(_ head: String) async throws -> String {
                try await RawConnection.sendAndRead(port: port, head: head, until: "\u{0}never", wait: .seconds(5))
            }
            let long = String(repeating: "a", count: 100_000)
            let url = try await send("GET /api/audio/song?name=\(long) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(RawConnection.status(url) == 414 && url.contains("/problems/url-too-long") && url.contains("80 KiB"), "\(url.prefix(400))")
            // A long header, after a short URL, is still the headers' fault.
            let header = try await send("GET /api/audio/song HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(long)\r\n\r\n")
            #expect(RawConnection.status(header) == 431 && header.contains("/problems/headers-too-large"), "\(header.prefix(400))")
            // Over the limit together: the larger part decides.
            let mostlyURL = try await send(
                "GET /api/audio/song?name=\(long.prefix(60_000)) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(long.prefix(30_000))\r\n\r\n")
            #expect(RawConnection.status(mostlyURL) == 414, "\(mostlyURL.prefix(400))")
            let mostlyHeaders = try await send(
                "GET /api/audio/song?name=\(long.prefix(20_000)) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(long.prefix(70_000))\r\n\r\n")
            #expect(RawConnection.status(mostlyHeaders) == 431, "\(mostlyHeaders.prefix(400))")

            for head in [
                "POST /api/audio/create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "POST /api/audio/create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
            ] {
                let framing = try await send(head)
                #expect(RawConnection.status(framing) == 400 && framing.contains("/problems/invalid-content-length"), "\(framing.prefix(400))")
                #expect(framing.contains("not combined with Transfer-Encoding"), "\(framing)")
            }

            let preface = try await send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            #expect(RawConnection.status(preface) == 505 && preface.contains("/problems/http-version-not-supported"), "\(preface)")
            #expect(preface.contains("HTTP/1.1") && !preface.contains("paused"), "\(preface)")
            let version = try await send("GET /healthz HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(RawConnection.status(version) == 505 && version.contains("/problems/http-version-not-supported"), "\(version)")

            let method = try await send("FOO /api/audio/song HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(RawConnection.status(method) == 501 && method.contains("/problems/unknown-method") && method.contains("'FOO'"), "\(method)")
            #expect(method.contains("GET") && method.contains("PATCH"), "names the methods the routes take: \(method)")
            // A method HTTP knows but no route takes stays 405 with Allow.
            let trace = try await send("TRACE /api/audio/song HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(RawConnection.status(trace) == 405 && trace.lowercased().contains("allow: "), "\(trace)")
            // Methods are case-sensitive: `get` is not GET.
            let lower = try await send("get /api/audio/song HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(RawConnection.status(lower) == 501 && lower.contains("'get'") && lower.contains("case-sensitive"), "\(lower)")
            // A TLS ClientHello sent to this plain-HTTP port.
            let hello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x2F, 0x01, 0x00, 0x00, 0x2B, 0x03, 0x03] + Array(repeating: 0, count: 41)
            let tls = try await RawConnection.sendAndRead(port: port, head: "", body: hello, until: "\u{0}never", wait: .seconds(5))
            #expect(RawConnection.status(tls) == 400 && tls.contains("/problems/malformed-request") && tls.contains("http://"), "\(tls)")

            // Each was answered once, as problem+json, and the connection closed.
            for answer in [url, header, preface, method] {
                #expect(
                    answer.contains("application/problem+json") && answer.components(separatedBy: "application/problem+json").count == 2,
                    "\(answer.prefix(300))")
            }
        }
    }
}
