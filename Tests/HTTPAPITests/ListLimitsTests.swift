import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// Bounded cost per list request: capped filters and sort keys, signed cursors.
@Suite struct ListLimitsTests {
    @Test func moreThanAHundredFiltersIs400NamingTheLimit() async throws {
        try await TestServer.run { client, _ in
            let filters = (0..<101).map { "duration%5Bgte%5D=\($0)" }.joined(separator: "&")
            let response = try await client.get("/api/audio/song?\(filters)")
            #expect(response.status == .badRequest && response.isProblem, "\(response.text)")
            #expect(try response.errorCodes().contains { $0.hasSuffix(":too_many_filters") }, "\(response.text)")
            #expect(response.text.contains("at most 100 filters"))
            // The contract says so too.
            #expect(try await client.get("/openapi.json").text.contains("at most 100 filters"))
            // Thousands of them are refused as cheaply, with one error, not one per filter.
            let many = (0..<3500).map { "name=\($0)" }.joined(separator: "&")
            let refused = try await client.get("/api/audio/song?\(many)")
            #expect(!refused.text.contains("\"name=3499\""))
            #expect(refused.status == .badRequest)
            #expect(try refused.errorCodes().count == 1, "\(refused.text.prefix(300))")
            // 100 are fine.
            let allowed = (0..<100).map { "duration%5Bgte%5D=\($0)" }.joined(separator: "&")
            #expect(try await client.get("/api/audio/song?\(allowed)").status == .ok)
        }
    }

    @Test func moreThanEightSortKeysIs400() async throws {
        try await TestServer.run { client, _ in
            let sort = Array(repeating: "name", count: 9).joined(separator: ",")
            let response = try await client.get("/api/audio/song?sort=\(sort)")
            #expect(response.status == .badRequest && response.isProblem)
            #expect(try response.errorCodes() == ["sort:too_many_sort_keys"], "\(response.text)")
            // A repeated `sort` takes the last one, not the sum of all.
            let repeated = (0..<20).map { _ in "sort=-duration" }.joined(separator: "&")
            #expect(try await client.get("/api/audio/song?\(repeated)").status == .ok)
        }
    }

    /// A cursor is signed: one whose payload was edited (even to a value PostgreSQL would read
    /// specially, like `now`), whose tag was changed, or that another secret signed is refused
    /// before PostgreSQL sees it; the cursor the server issued keeps working.
    @Test func cursorsAreSignedAndForgeriesAre400() async throws {
        try await TestServer.run { client, _ in
            for i in 0..<3 { _ = try await client.create(#"{"filetype":"song","name":"s\#(i)","duration":\#(100 + i)}"#) }
            let path = "/api/audio/song?sort=created_at&limit=1"
            let cursor = try #require(try await client.get(path).json()["next_cursor"]?.stringValue)
            #expect(try await client.get(path + "&cursor=\(cursor)").status == .ok)
            let parts = cursor.split(separator: ".")
            #expect(parts.count == 2)
            let payload = try #require(Base64URL.decode(parts[0].utf8))
            var object = try #require(try JSONParser.parse(payload).objectValue)
            object["k"] = .array([.string("now")])
            let edited = Base64URL.encode(Array(JSONWriter.string(.object(object)).utf8)) + "." + parts[1]
            var tag = Array(try #require(Base64URL.decode(parts[1].utf8)))
            tag[0] ^= 1
            let retagged = String(parts[0]) + "." + Base64URL.encode(tag)
            let foreign = CursorSigner(secret: String(repeating: "x", count: 40))
                .encode(PagePosition(values: [nil], id: 1), kind: "song", scope: CursorScope(sort: "created_at", filters: ""))
            for bad in [edited, retagged, foreign, String(parts[0])] {
                let response = try await client.get(path + "&cursor=\(bad)")
                #expect(response.status == .badRequest && response.isProblem, "\(response.text)")
                #expect(try response.errorCodes() == ["cursor:format"], "\(response.text)")
                #expect(!response.text.contains("invalid input syntax"), "PostgreSQL's text leaked: \(response.text)")
            }
        }
    }

    /// A cursor is bound to the filters of the page that gave it, in any order: with other
    /// filters its position means nothing (the next page would skip every match before it), so
    /// it is a 400 saying so, not a page that silently leaves records out.
    @Test func aCursorIsRefusedWithOtherFilters() async throws {
        try await TestServer.run { client, _ in
            for i in 0..<4 { _ = try await client.create(#"{"filetype":"song","name":"s\#(i)","duration":\#(i < 2 ? 60 : 120)}"#) }
            let path = "/api/audio/song?sort=duration&limit=1&duration%5Bgte%5D=100&name%5Bcontains%5D=s"
            let first = try await client.get(path)
            let cursor = try #require(try first.json()["next_cursor"]?.stringValue)
            // The same filters in another order, and another limit: the next page.
            let reordered = "/api/audio/song?name%5Bcontains%5D=s&duration%5Bgte%5D=100&sort=duration&limit=5&cursor=\(cursor)"
            let next = try await client.get(reordered)
            let items = try next.json()["items"]?.arrayValue
            #expect(next.status == .ok && items?.count == 1, "\(next.text)")
            for other in [
                "sort=duration&cursor=\(cursor)", "sort=duration&duration%5Bgte%5D=100&cursor=\(cursor)",
                "sort=duration&duration%5Bgte%5D=50&name%5Bcontains%5D=s&cursor=\(cursor)",
                "sort=duration&duration%5Bgte%5D=100&name%5Bcontains%5D=s&has_file=false&cursor=\(cursor)",
            ] {
                let response = try await client.get("/api/audio/song?\(other)")
                #expect(response.status == .badRequest && response.isProblem, "\(other): \(response.text)")
                #expect(try response.errorCodes() == ["cursor:format"], "\(response.text)")
                #expect(response.text.contains("issued for other filters"), "\(response.text)")
            }
            // A cursor of an unfiltered list is refused with filters too.
            let plain = try #require(try await client.get("/api/audio/song?sort=duration&limit=1").json()["next_cursor"]?.stringValue)
            #expect(try await client.get("/api/audio/song?sort=duration&cursor=\(plain)").status == .ok)
            #expect(try await client.get("/api/audio/song?sort=duration&duration%5Bgte%5D=100&cursor=\(plain)").status == .badRequest)
        }
    }
}

@Suite struct OutageAnswerTests {
    /// Create, like every other record route, answers 503 with Retry-After at once while the
    /// watcher sees no database; `/healthz` says the same, with Retry-After too.
    @Test func createAndHealthzAre503WithRetryAfterWhileTheDatabaseIsDown() async throws {
        let dead = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)
        try await TestServer.run(watch: dead) { client, _ in
            _ = try await poll(for: .seconds(10)) {
                try await client.get("/api/audio/song/1").status
            } until: {
                $0 == .serviceUnavailable
            }
            let started = ContinuousClock.now
            let created = try await client.postJSON("/api/audio/create", #"{"filetype":"song","name":"x","duration":1}"#)
            #expect(created.status == .serviceUnavailable && created.isProblem, "\(created.text)")
            #expect(created.headers[.retryAfter] == "5")
            // At once, not after a lease or connect timeout (bound loose for a loaded test machine).
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }
}
