import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import PostgresNIO
import Schema
import Storage
import Testing

/// A kind with one field of every filterable type.
let everyTypeKind = """
    name: sample
    fields:
      title: {type: string, max_length: 50, index: true}
      notes: {type: text}
      mood: {type: enum, values: [calm, wild]}
      plays: {type: integer}
      ratio: {type: number}
      live: {type: boolean}
      day: {type: date}
      at: {type: datetime}
      tags: {type: list, items: {type: string, max_length: 20}}
      scores: {type: list, items: {type: integer}}
    """

extension TestClientProtocol {
    /// Ids of every page of a list query, following cursors.
    func allIDs(_ path: String, limit: Int = 2) async throws -> [Int64] {
        var ids: [Int64] = []
        var cursor: String?
        for _ in 0..<200 {
            let separator = path.contains("?") ? "&" : "?"
            let uri = path + "\(separator)limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? "")
            let response = try await get(uri)
            guard response.status == .ok else { throw TestFailure("\(uri): \(response.status) \(response.text)") }
            let page = try response.json()
            ids += (page["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["id"]?.int64 }
            cursor = page["next_cursor"]?.stringValue
            if cursor == nil { break }
        }
        return ids
    }

    func ids(_ uri: String) async throws -> [Int64] {
        let response = try await get(uri)
        guard response.status == .ok else { throw TestFailure("\(uri): \(response.status) \(response.text)") }
        return (try response.json()["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["id"]?.int64 }
    }
}

@Suite struct QueryTests {
    @Test func everyOperatorAtItsEdges() async throws {
        try await TestServer.run(extraKinds: ["sample.yaml": everyTypeKind]) { client, _ in
            let a = try await client.create(
                #"{"filetype":"sample","title":"Hare Krishna","notes":"x","mood":"calm","plays":10,"ratio":0.5,"live":true,"day":"2026-01-31","at":"2026-01-31T10:00:00Z","tags":["a","b"],"scores":[1,2]}"#
            )
            let b = try await client.create(
                #"{"filetype":"sample","title":"hare","mood":"wild","plays":11,"ratio":1.5,"live":false,"day":"2026-02-01","at":"2026-01-31T10:00:00.000001Z","tags":["b"],"scores":[3]}"#
            )
            let c = try await client.create(#"{"filetype":"sample","title":"Tortoise"}"#)
            let base = "/api/audio/sample?limit=100&"
            func q(_ s: String) async throws -> [Int64] { try await client.ids(base + s) }
            // strings
            #expect(try await q("title=hare") == [b])
            #expect(try await q("title%5Bne%5D=hare") == [a, c])
            #expect(try await q("title[contains]=HARE") == [a, b])
            #expect(try await q("title[contains]=%25") == [])
            #expect(try await q("title=Hare+Krishna") == [a])
            #expect(try await q("mood=wild") == [b])
            // integers at the edges
            #expect(try await q("plays[gte]=10") == [a, b])
            #expect(try await q("plays[gt]=10") == [b])
            #expect(try await q("plays[lte]=10") == [a])
            #expect(try await q("plays[lt]=10") == [])
            #expect(try await q("plays=11") == [b])
            #expect(try await q("plays[ne]=11") == [a, c])
            // numbers
            #expect(try await q("ratio[gt]=0.5") == [b])
            #expect(try await q("ratio[gte]=0.5&ratio[lt]=1.5") == [a])
            // booleans
            #expect(try await q("live=true") == [a])
            #expect(try await q("live=false") == [b])
            // spelled as has_file takes them: any case, or 1/0
            #expect(try await q("live=TRUE") == [a])
            #expect(try await q("live=1") == [a])
            #expect(try await q("live[ne]=0") == [a, c])  // ne keeps records without a value, as for plays
            #expect(try await q("has_file=FALSE") == [a, b, c])
            // dates and datetimes, to the microsecond
            #expect(try await q("day[gte]=2026-02-01") == [b])
            #expect(try await q("day[lt]=2026-02-01") == [a])
            #expect(try await q("at[gt]=2026-01-31T10:00:00Z") == [b])
            #expect(try await q("at=2026-01-31T10:00:00Z") == [a])
            #expect(try await q("at[lte]=2026-01-31T11:00:00%2B01:00") == [a])
            // lists
            #expect(try await q("tags[has]=b") == [a, b])
            #expect(try await q("tags=a") == [a])
            #expect(try await q("scores[has]=3") == [b])
            // files
            #expect(try await q("has_file=false") == [a, b, c])
            #expect(try await q("has_file=true") == [])
            // count
            let counted = try await client.get(base + "plays[gte]=0&count=exact&limit=1")
            #expect(try counted.json()["total"]?.int64 == 2)
            #expect(try counted.json()["items"]?.arrayValue?.count == 1)
        }
    }

    @Test(arguments: [
        "nope=1", "title[gte]=a", "plays[contains]=1", "plays=abc", "plays=1.5", "ratio=x", "live=yes",
        "day=2026-02-30", "at=yesterday", "mood=angry", "tags[gt]=a", "scores[has]=x", "title[zz]=a",
        "sort=nope", "sort=tags", "sort=title,title", "has_file=maybe", "count=approx", "limit=0", "limit=1001",
        "cursor=abc", "plays[gte]=99999999999999999999",
    ])
    func malformedQueriesAre400(_ query: String) async throws {
        try await TestServer.run(extraKinds: ["sample.yaml": everyTypeKind]) { client, _ in
            let response = try await client.get("/api/audio/sample?\(query)")
            #expect(response.status == .badRequest, "\(query): \(response.text)")
            #expect(response.isProblem)
            let errors = try response.json()["errors"]?.arrayValue ?? []
            #expect(!errors.isEmpty)
            let message = errors.first?.objectValue?["message"]?.stringValue ?? ""
            #expect(!message.isEmpty)
        }
    }

    /// A filter value the column cannot hold is a 400 naming the parameter, like the same value in
    /// a body: a number that underflows to 0 is refused with the code overflow gets (not passed to
    /// PostgreSQL, whose refusal names no field), and an integer must be whole in its digits.
    @Test func numbersFilterExactlyOrAreRefusedByName() async throws {
        try await TestServer.run(extraKinds: ["sample.yaml": everyTypeKind]) { client, _ in
            let a = try await client.create(#"{"filetype":"sample","plays":60,"ratio":1e-310}"#)
            func refusal(_ query: String) async throws -> (field: String?, code: String?) {
                let response = try await client.get("/api/audio/sample?\(query)")
                #expect(response.status == .badRequest && response.isProblem, "\(query): \(response.text)")
                let error = try response.json()["errors"]?.arrayValue?.first?.objectValue
                return (error?["field"]?.stringValue, error?["code"]?.stringValue)
            }
            let overflow = try await refusal("ratio=1e400")
            #expect(overflow.field == "ratio" && overflow.code != nil)
            for query in ["ratio=1e-400", "ratio[gt]=-1e-400"] {
                let underflow = try await refusal(query)
                #expect(underflow.field == String(query.prefix { $0 != "=" }) && underflow.code == overflow.code, "\(query)")
            }
            let fraction = try await refusal("plays=60.000000000000000001")
            #expect(fraction.field == "plays", "\(fraction)")
            #expect(try await client.ids("/api/audio/sample?plays=6e1") == [a])
            #expect(try await client.ids("/api/audio/sample?plays=60.000") == [a])
            #expect(try await client.ids("/api/audio/sample?ratio[gt]=0&ratio[lt]=2e-310") == [a])
        }
    }

    @Test func unknownOperatorMessageNamesAllowedOnes() async throws {
        try await TestServer.run { client, _ in
            let response = try await client.get("/api/audio/song?duration[contains]=3")
            let message = try response.json()["errors"]?.arrayValue?.first?.objectValue?["message"]?.stringValue ?? ""
            #expect(message.contains("duration") && message.contains("gte") && message.contains("lt"))
        }
    }

    @Test func sortIsStableWithTiesAcrossPages() async throws {
        try await TestServer.run(extraKinds: ["sample.yaml": everyTypeKind]) { client, _ in
            var expected: [(Int64, Int64?, String)] = []
            for i in 0..<13 {
                let plays: Int64? = i % 4 == 3 ? nil : Int64(i % 3)
                let title = "t\(i % 2)"
                let body = plays.map { #"{"filetype":"sample","title":"\#(title)","plays":\#($0)}"# } ?? #"{"filetype":"sample","title":"\#(title)"}"#
                expected.append((try await client.create(body), plays, title))
            }
            // -plays, title, then id; NULLs last.
            let sorted = expected.sorted { l, r in
                switch (l.1, r.1) {
                case let (x?, y?) where x != y: return x > y
                case (nil, _?): return false
                case (_?, nil): return true
                default: return l.2 != r.2 ? l.2 < r.2 : l.0 < r.0
                }
            }.map(\.0)
            for limit in [1, 2, 5, 13] {
                #expect(try await client.allIDs("/api/audio/sample?sort=-plays,title", limit: limit) == sorted, "limit \(limit)")
            }
            let ascending = try await client.allIDs("/api/audio/sample?sort=plays", limit: 3)
            #expect(Set(ascending) == Set(expected.map(\.0)) && ascending.count == 13)
            // A cursor belongs to its sort.
            let page = try await client.get("/api/audio/sample?sort=plays&limit=2").json()
            let cursor = try #require(page["next_cursor"]?.stringValue)
            #expect(try await client.get("/api/audio/sample?sort=title&cursor=\(cursor)").status == .badRequest)
            // And to its kind: the same sort on another kind is refused (it was served from the
            // other kind's position), as a cursor error.
            for i in 0..<2 { _ = try await client.create(#"{"filetype":"song","name":"s\#(i)","duration":\#(100 + i)}"#) }
            let songs = try await client.get("/api/audio/song?sort=created_at&limit=1").json()
            let songCursor = try #require(songs["next_cursor"]?.stringValue)
            let elsewhere = try await client.get("/api/audio/sample?sort=created_at&cursor=\(songCursor)")
            #expect(try elsewhere.status == .badRequest && elsewhere.errorCodes() == ["cursor:format"], "\(elsewhere.text)")
            let own = try await client.get("/api/audio/sample?sort=created_at&limit=1").json()["next_cursor"]?.stringValue
            #expect(try await client.get("/api/audio/sample?sort=created_at&cursor=\(try #require(own))").status == .ok)
        }
    }

    @Test func paginationUnderConcurrentInsertsSkipsAndRepeatsNothing() async throws {
        try await TestServer.run { client, _ in
            var original: [Int64] = []
            for i in 0..<20 { original.append(try await client.create(#"{"filetype":"song","name":"s\#(i)","duration":\#(100 + i)}"#)) }
            var seen: [Int64] = []
            var cursor: String?
            for _ in 0..<50 {
                let uri = "/api/audio/song?sort=-duration&limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.get(uri).json()
                seen += (page["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["id"]?.int64 }
                // Between pages, others insert records both before and after the reader's position.
                _ = try await client.create(#"{"filetype":"song","name":"early","duration":1000}"#)
                _ = try await client.create(#"{"filetype":"song","name":"late","duration":1}"#)
                cursor = page["next_cursor"]?.stringValue
                if cursor == nil { break }
            }
            #expect(Set(seen).count == seen.count, "repeated: \(seen)")
            #expect(Set(original).isSubset(of: Set(seen)), "skipped some of \(original)")
        }
    }
}

@Suite struct UpdateTests {
    @Test func patchValidatesLikeCreate() async throws {
        try await TestServer.run { client, _ in
            let id = try await client.create(#"{"filetype":"podcast","name":"Ep","duration":60,"host":"Joe","participants":["a"]}"#)
            func patch(_ json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
                var h = headers
                h[.contentType] = "application/json"
                return try await client.execute(uri: "/api/audio/podcast/\(id)", method: .patch, headers: h, body: ByteBuffer(string: json))
            }
            let before = try await client.get("/api/audio/podcast/\(id)").json()
            let ok = try await patch(#"{"name":"Ep 2","participants":null}"#)
            #expect(ok.status == .ok)
            let after = try ok.json()
            #expect(after["name"] == "Ep 2" && after["participants"] == .array([]) && after["host"] == "Joe")
            #expect((after["updated_at"]?.stringValue ?? "") > (before["updated_at"]?.stringValue ?? "~"))
            #expect(after["created_at"] == before["created_at"])
            let bad = try await patch(#"{"name":"","duration":2147483648,"host":null,"extra":1}"#)
            #expect(bad.status == .badRequest)
            #expect(Set(try bad.errorCodes()) == ["name:min_length", "duration:max", "host:required", "extra:unknown_field"])
            #expect(try await patch(#"{"filetype":"song"}"#).status == .badRequest)
            #expect(try await patch(#"{"filetype":"podcast","name":"same kind is fine"}"#).status == .ok)
            #expect(try await patch("[1]").status == .badRequest)
            let notJSON = try await client.execute(
                uri: "/api/audio/podcast/\(id)", method: .patch, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "{}"))
            #expect(notJSON.status == .unsupportedMediaType)
            #expect(
                try await client.execute(
                    uri: "/api/audio/podcast/99999", method: .patch, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}")
                ).status == .notFound)
            // Nothing invalid was stored.
            #expect(try await client.get("/api/audio/podcast/\(id)").json()["name"] == "same kind is fine")
        }
    }

    @Test func ifMatchPreventsLostUpdates() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"v0","duration":60}"#)
            let etag = try #require(try await client.get("/api/audio/song/\(id)").headers[.eTag])
            // Two editors read the same version and race to write it.
            let results = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for name in ["alice", "bob"] {
                    group.addTask {
                        let r = try await client.execute(
                            uri: "/api/audio/song/\(id)", method: .patch,
                            headers: [.contentType: "application/json", .ifMatch: etag],
                            body: ByteBuffer(string: #"{"name":"\#(name)"}"#))
                        return (r.status, r.headers[.eTag])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.map(\.0).sorted { $0.code < $1.code } == [.ok, .preconditionFailed])
            let winnerTag = results.first { $0.0 == .ok }?.1
            let loserTag = results.first { $0.0 == .preconditionFailed }?.1
            #expect(winnerTag != nil && winnerTag == loserTag)  // the 412 tells the current version
            let stale = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .patch,
                headers: [.contentType: "application/json", .ifMatch: etag], body: ByteBuffer(string: #"{"name":"late"}"#))
            #expect(stale.status == .preconditionFailed && stale.isProblem)
            let fresh = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .patch,
                headers: [.contentType: "application/json", .ifMatch: winnerTag ?? ""], body: ByteBuffer(string: #"{"name":"merged"}"#))
            #expect(fresh.status == .ok)
            let star = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .patch,
                headers: [.contentType: "application/json", .ifMatch: "*"], body: ByteBuffer(string: #"{"duration":61}"#))
            #expect(star.status == .ok)
        }
    }
}

@Suite struct ReloadTests {
    @Test func validReloadSwapsInvalidReloadIsKeptOut() async throws {
        try await TestServer.run { client, context in
            let logger = Logger(label: "reload-test")
            let migrations = MigrationDirectory(path: context.kindsDirectory + "/../migrations")
            let registry = KindRegistry(try KindLoader.load(directory: context.kindsDirectory))
            try await context.sql { db in
                let reloader = KindReloader(
                    registry: registry, kindsDirectory: context.kindsDirectory, migrations: migrations, client: db, logger: logger)
                #expect(await reloader.reload() == .unchanged)
                // Broken YAML: refused, old kinds kept.
                try "fields:\n  a: {type: strin}\n".write(toFile: context.kindsDirectory + "/broken.yaml", atomically: true, encoding: .utf8)
                guard case .refused(let why) = await reloader.reload() else {
                    Issue.record("broken kinds accepted")
                    return
                }
                #expect(why.contains("broken.yaml:2:"))
                try FileManager.default.removeItem(atPath: context.kindsDirectory + "/broken.yaml")
                // A valid new kind whose table does not exist yet: refused until migrated.
                try "fields:\n  title: {type: string}\n".write(toFile: context.kindsDirectory + "/jingle.yaml", atomically: true, encoding: .utf8)
                guard case .refused(let pending) = await reloader.reload() else {
                    Issue.record("unmigrated kind accepted")
                    return
                }
                #expect(pending.contains("migrate generate"))
                #expect(registry.runtime.catalog.kind(named: "jingle") == nil)
                // Generate and apply: now it swaps in.
                let catalog = try KindLoader.load(directory: context.kindsDirectory)
                _ = try migrations.generate(for: catalog)
                try await MigrationRunner(client: db, directory: migrations, logger: logger).apply()
                #expect(await reloader.reload() == .reloaded(["audio_book", "jingle", "podcast", "song"]))
                #expect(registry.runtime.catalog.kind(named: "jingle") != nil)
            }
        }
    }
}
