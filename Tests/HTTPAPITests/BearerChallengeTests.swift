import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Storage
import Testing

@testable import HTTPAPI

/// RFC 6750 §3.1 challenges on real sockets.
@Suite struct BearerChallengeTests {
    @Test func eachRefusalCarriesItsChallenge() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let basic = try await client.call(.post, "/api/audio/create", auth: "Basic dXNlcjpwYXNz", headers: [.contentType: "application/json"])
            #expect(basic.status == .unauthorized && client.slug(basic) == "key-malformed")
            // Another scheme is as if no credential was sent: no error code.
            #expect(basic.headers[.wwwAuthenticate] == #"Bearer realm="audio-server""#)
            let badBearer = try await client.call(.get, "/api/audio/song", auth: "Bearer afs_short")
            #expect(badBearer.headers[.wwwAuthenticate] == #"Bearer realm="audio-server", error="invalid_token""#)
            let unknown = try await client.call(.get, "/api/audio/song", auth: "Bearer \(APIKeySecret.generate())")
            #expect(unknown.headers[.wwwAuthenticate] == #"Bearer realm="audio-server", error="invalid_token""#)

            let reader = try await context.makeKey(["read:song"])
            let write = try await client.call(
                .post, "/api/audio/create", auth: "Bearer \(reader)", headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"filetype":"song","name":"t","duration":1}"#))
            #expect(write.status == .forbidden && client.slug(write) == "scope-missing")
            #expect(write.headers[.wwwAuthenticate] == #"Bearer realm="audio-server", error="insufficient_scope", scope="write:song""#)
        }
    }
}
