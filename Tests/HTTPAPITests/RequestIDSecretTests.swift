import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Storage
import Testing

@testable import HTTPAPI

/// A key secret sent as a request id never reaches the log or the response.
@Suite struct RequestIDSecretTests {
    @Test func anIdThatLooksLikeAKeyIsReplaced() async throws {
        let capture = LogCapture()
        let secret = APIKeySecret.generate()
        let body = String(secret.dropFirst(APIKeySecret.prefix.count))
        let sent = [secret, "trace-" + secret, "AFS_" + body, secret + "-1", String(secret.dropLast(3))]
        try await TestServer.run(setup: .live, logger: capture.logger(level: .info)) { client, _ in
            for id in sent {
                let response = try await client.get("/api/audio/song", headers: [.xRequestID: id])
                let echoed = try #require(response.headers[.xRequestID])
                #expect(response.status == .ok && !echoed.contains(body.prefix(30)), "\(id) came back as \(echoed)")
            }
            // Ids that merely contain the letters are kept.
            for id in ["trace-42.a:b_c", "safs-1", "afs-1", "gafs:x_y"] {
                #expect(try await client.get("/healthz", headers: [.xRequestID: id]).headers[.xRequestID] == id)
            }
        }
        let lines = capture.messages(atLeast: .info)
        #expect(lines.contains { $0.hasPrefix("request ") }, "no access line was logged, so the check below would prove nothing")
        #expect(!lines.contains { $0.contains(body.prefix(30)) }, "a secret sent as X-Request-Id was logged")
    }
}
