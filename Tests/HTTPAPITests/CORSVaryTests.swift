import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPAPI

/// With CORS_ORIGINS set, every response says it varies by Origin; without it, nothing changes.
@Suite struct CORSVaryTests {
    @Test func everyResponseVariesByOriginWhenCORSIsOn() async throws {
        let app = "https://app.example.com"
        let preflightVary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        try await TestServer.run(setup: .live, corsOrigins: CORSOrigins(setting: app)) { client, _ in
            for origin in [nil, "https://evil.example", app] {
                let headers: HTTPFields = origin.map { [.origin: $0] } ?? [:]
                let list = try await client.get("/api/audio/song", headers: headers)
                #expect(list.status == .ok && list.headers[.vary] == "Origin", "\(origin ?? "no Origin")")
                #expect((list.headers[.accessControlAllowOrigin] != nil) == (origin == app))
                let problem = try await client.call(.get, "/api/audio/nosuch", auth: nil, headers: headers)
                #expect(problem.status == .notFound && problem.headers[.vary] == "Origin", "\(origin ?? "no Origin")")
                // OPTIONS answers depend on the preflight headers too (a preflight, or the router's 405).
                let options = try await client.execute(uri: "/api/audio/song/1", method: .options, headers: headers)
                #expect(options.headers[.vary] == preflightVary, "\(origin ?? "no Origin"): \(options.status)")
            }
            let preflight = try await client.execute(
                uri: "/api/audio/song/1", method: .options,
                headers: [.origin: app, .accessControlRequestMethod: "PATCH", .accessControlRequestHeaders: "authorization, if-match"])
            #expect(preflight.status == .noContent && preflight.headers[.accessControlAllowHeaders] == "authorization, if-match")
            #expect(preflight.headers[values: .vary] == [preflightVary])
        }
        try await TestServer.run(setup: .live) { client, _ in
            let plain = try await client.get("/api/audio/song", headers: [.origin: app])
            #expect(plain.headers[.vary] == nil && plain.headers[.accessControlAllowOrigin] == nil)
        }
    }
}
