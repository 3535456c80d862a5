import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import NIOCore
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

@Suite struct DatabaseOutageTests {
    /// The watcher, pointed at a port where nothing listens, reports the database unreachable:
    /// record routes answer 503 at once (not after the pool's 60 s of retries), while routes that
    /// need no database keep working.
    @Test func recordRoutesFailFastWhileTheWatcherSeesNoDatabase() async throws {
        let dead = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)
        try await TestServer.run(watch: dead, benchRoutes: true) { client, _ in
            let status = try await poll(for: .seconds(10)) {
                try await client.get("/api/audio/song/1").status
            } until: {
                $0 == .serviceUnavailable
            }
            #expect(status == .serviceUnavailable)
            let started = ContinuousClock.now
            for path in ["/api/audio/song/1", "/api/audio/podcast?limit=5"] {
                let response = try await client.get(path)
                #expect(response.status == .serviceUnavailable && response.isProblem, "\(path)")
                #expect(try response.json()["type"] == "/problems/database-unavailable")
                #expect(response.headers[.retryAfter] == "5")
                // Why (addresses, settings: the operator's business) is logged, not told to any client.
                #expect(!response.text.contains("127.0.0.1") && !response.text.contains("refused"), "\(response.text)")
            }

            // Far below the minute a pool would wait; loose for a loaded test machine.
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try await client.get("/_static").status == .ok)
            #expect(try await client.get("/api/kinds").status == .ok)
        }
    }
}

@Suite struct ErrorMappingTests {
    static let request = Request(
        head: HTTPRequest(method: .get, scheme: "http", authority: "test", path: "/api/audio/song"),
        body: RequestBody(buffer: ByteBuffer()))

    /// Errors that reach the middleware from PostgreSQL, taken from a real connection, become the
    /// documented problems: unreachable → 503 with Retry-After, an unreadable value → 400.
    @Test func databaseErrorsBecomeTheirProblems() async throws {
        let refused = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)
        do {
            _ = try await PostgresConnection.connect(configuration: refused, id: 1, logger: Logger(label: "test"))
            Issue.record("connected to 127.0.0.1:1")
        } catch {
            let problem = Problem(for: error, request: Self.request, logger: Logger(label: "test"))
            #expect(problem.status == .serviceUnavailable && problem.slug == "database-unavailable")
            #expect(problem.headers[.retryAfter] == "5")
        }
        let invalid = Problem(
            for: StorageError.invalidValue(message: "invalid input syntax for type bigint: \"abc\""),
            request: Self.request, logger: Logger(label: "test"))
        #expect(invalid.status == .badRequest && invalid.slug == "invalid-value")
        #expect(invalid.detail.contains("bigint"))
        let other = Problem(for: CancellationError(), request: Self.request, logger: Logger(label: "test"))
        #expect(other.status == .internalServerError)
    }

    /// An upload whose file the orphan sweeper claimed before its record could name it (its
    /// storing outlasted ORPHAN_FILE_AGE) is a 503 to retry: nothing changed. The cause (a storage
    /// path, a setting) is the operator's and is logged; the client is told to retry.
    @Test func aReclaimedFileIsStorageUnavailable() {
        let problem = Problem(for: FileIntents.Reclaimed(key: "files/song/1/x.wav"), request: Self.request, logger: Logger(label: "test"))
        #expect(problem.status == .serviceUnavailable && problem.slug == "storage-unavailable")
        #expect(problem.headers[.retryAfter] == "5")
        #expect(problem.detail.contains("nothing was changed, retry") && !problem.detail.contains("files/song/1/x.wav"), "\(problem.detail)")
    }

    /// A chunked upload declares no length, so a stale If-Match is caught only under the row lock
    /// when the file is attached: still 412, and the new file is removed.
    @Test func aStaleIfMatchOnAChunkedUploadIsCaughtUnderTheRowLock() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let port = try #require(client.port)
            let wav = try Fixture.bytes("wav_mono_s16.wav")
            let chunked = Array(String(wav.count, radix: 16).utf8) + Array("\r\n".utf8) + wav + Array("\r\n0\r\n\r\n".utf8)
            let answer = try await RawConnection.sendAndRead(
                port: port,
                head: """
                    PUT /api/audio/song/\(id) HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Content-Type: audio/wav\r
                    Transfer-Encoding: chunked\r
                    If-Match: "2000-01-01T00:00:00.000000Z"\r
                    \r

                    """, body: chunked, until: "}")
            #expect(answer.hasPrefix("HTTP/1.1 412"), "\(answer.prefix(300))")
            #expect(answer.contains("/problems/stale-version"))
            #expect(context.storedFiles().isEmpty)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
        }
    }
}

/// After SIGTERM with `DRAIN_DELAY`, `/healthz` tells the load balancer to stop sending (503
/// `draining` with `Retry-After`) while every other route is still served: the requests already
/// routed here must not fail.
@Suite struct ShutdownDrainTests {
    @Test func healthSaysDrainingWhileEverythingElseIsServed() async throws {
        let drain = ShutdownDrain()
        try await TestServer.run(drain: drain) { client, _ in
            // Ready first (`ready()`), then draining.
            #expect(try await client.ready() == .ok)
            let created = try await client.postJSON("/api/audio/create", #"{"filetype":"song","name":"Before","duration":5}"#)
            #expect(created.status == .created)
            drain.begin()
            let health = try await client.get("/healthz")
            #expect(health.status == .serviceUnavailable && health.isProblem)
            #expect(try health.json()["type"] == "/problems/draining")
            #expect(health.headers[.retryAfter] == "5")
            // In-flight and newly routed requests still get real answers.
            #expect(try await client.get("/api/kinds").status == .ok)
            #expect(try await client.get("/api/audio/song?limit=1").status == .ok)
            let during = try await client.postJSON("/api/audio/create", #"{"filetype":"song","name":"During","duration":5}"#)
            #expect(during.status == .created)
        }
    }
}
