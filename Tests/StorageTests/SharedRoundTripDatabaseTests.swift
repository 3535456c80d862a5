import Foundation
import KindModel
import PostgresNIO
import Schema
import TestSupport
import Testing

@testable import Storage

/// GETs and creates that share statements (`RoundTripSharing`) against a real PostgreSQL: each
/// request must get exactly what it would have got alone.
@Suite struct SharedRoundTripDatabaseTests {
    static let kindYAML = """
        name: track
        fields:
          title: {type: string, required: true, max_length: 100}
          code: {type: string, max_length: 20, unique: true}
          gain: {type: number}
          loud: {type: boolean, default: false}
          released: {type: date}
          air_at: {type: datetime}
          tags: {type: list, items: {type: string, max_length: 40}, max_items: 10, default: []}
          marks: {type: list, items: {type: datetime}, max_items: 10}
          notes: {type: text}
        """

    /// A fresh database with the `track` table, and its queries.
    static func withTrackTable(poolSize: Int = 8, _ body: @Sendable (PostgresClient, KindQueries) async throws -> Void) async throws {
        let catalog = try KindLoader.parse([(file: "kinds/track.yaml", text: kindYAML)])
        let kind = try #require(catalog.kinds.first)
        let url = try await TestDatabase.create(label: "sharing")
        let migrations = FileManager.default.temporaryDirectory.appendingPathComponent("sharing-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: migrations) }
        let directory = MigrationDirectory(path: migrations)
        _ = try directory.generate(for: catalog)
        try await TestDatabase.withClient(url, maximumConnections: poolSize) { client in
            _ = try await MigrationRunner(client: client, directory: directory, logger: TestDatabase.logger).apply()
            try await body(client, KindQueries(kind: kind))
        }
    }

    static func validated(_ json: String, _ kind: KindDefinition) throws -> ValidatedRecord {
        let object = try #require(try JSONParser.parse(json).objectValue)
        return try RecordValidator.validate(object, kind: kind, mode: .create).get()
    }

    /// The record's JSON without what differs between two inserts of the same values.
    static func content(_ record: StoredRecord) throws -> JSONObject {
        var object = try #require(try JSONParser.parse(record.json).objectValue)
        for key in ["id", "created_at", "updated_at"] { object[key] = nil }
        return object
    }

    static let bodies: [String] = (0..<40).map { n in
        let tricky = ["plain", "quote \\\" and backslash \\\\", "line\\nbreak\\ttab", "ünïcødé 🎵", "\\u0001 control"][n % 5]
        return """
            {"title":"t\(n) \(tricky)","code":"c\(n)","gain":\([1.5, -0.1, 1e-7, 123456789.125, 3.0][n % 5]),"loud":\(n % 2 == 0),
             "released":"2024-02-\(String(format: "%02d", n % 28 + 1))","air_at":"2024-03-01T12:00:0\(n % 10).123456+02:00",
             "tags":["a\(n)","b \\"q\\""],"marks":["2020-01-01T00:00:00Z","2021-06-15T08:30:00.5-05:00"]}
            """
    }

    /// Forty concurrent creates through one slot: they share statements, and each response equals
    /// the record that a lone `INSERT` of the same body stores.
    @Test func sharedCreatesStoreWhatLoneCreatesStore() async throws {
        try await Self.withTrackTable { client, queries in
            let shared = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let alone = RecordStore(client: client, logger: TestDatabase.logger, sharing: .off)
            let kind = queries.kind
            let records = try Self.bodies.map { try Self.validated($0, kind) }
            let created = try await withThrowingTaskGroup(of: (Int, StoredRecord).self) { group in
                for (i, record) in records.enumerated() { group.addTask { (i, try await shared.create(record, in: queries)) } }
                var out: [Int: StoredRecord] = [:]
                for try await (i, stored) in group { out[i] = stored }
                return out
            }
            let statements = try #require(shared.sharedCreates).statementsRun
            #expect(statements < records.count, "creates should have shared statements: \(statements) for \(records.count)")
            for (i, record) in records.enumerated() {
                let mine = try #require(created[i])
                #expect(try Self.content(mine)["code"] == .string("c\(i)"))
                // The same values once more, alone (a different code, since it is unique).
                var again = record
                again.values = again.values.map { $0.field.name == "code" ? ($0.field, .string("again\(i)")) : $0 }
                var expected = try Self.content(try await alone.create(again, in: queries))
                expected["code"] = .string("c\(i)")
                #expect(try Self.content(mine) == expected)
                // And as GET reads it back.
                #expect(try await alone.get(mine.id, in: queries) == mine)
            }
        }
    }

    /// Creates of different keys and requests that share statements: each record's audit row names
    /// its own key, request and client (the batch's audit rows are matched to its records by the
    /// order of their ids, `AuditLog.wrappingBatch`), and there is exactly one per record.
    @Test func sharedCreatesAreEachAuditedToTheirOwnActor() async throws {
        try await Self.withTrackTable { client, queries in
            try await AccessTables.ensure(on: client, logger: TestDatabase.logger)
            let shared = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let actors = (0..<Self.bodies.count).map { n in
                AuditActor(keyID: Int64(100 + n % 3), keyName: "key \(n % 3)", requestID: "request-\(n)", client: "10.0.0.\(n)")
            }
            let records = try Self.bodies.map { try Self.validated($0, queries.kind) }
            let created = try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
                for (i, record) in records.enumerated() {
                    group.addTask { (i, try await shared.create(record, in: queries, audit: actors[i]).id) }
                }
                var out: [Int64: Int] = [:]
                for try await (i, id) in group { out[id] = i }
                return out
            }
            let statements = try #require(shared.sharedCreates).statementsRun
            #expect(statements < records.count, "creates should have shared statements: \(statements) for \(records.count)")
            let sql = "SELECT record_id, key_id, key_name, request_id, client FROM \(ServerSchema.audit) WHERE action = 'create' AND kind = 'track'"
            var audited: [Int64: AuditActor] = [:]
            var rows = 0
            for try await (recordID, keyID, keyName, requestID, client) in try await client.query(
                PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger
            ).decode((Int64, Int64?, String?, String, String).self) {
                audited[recordID] = AuditActor(keyID: keyID, keyName: keyName, requestID: requestID, client: client)
                rows += 1
            }
            #expect(rows == records.count)
            for (id, i) in created { #expect(audited[id] == actors[i], "record \(id), created by request \(i)") }
        }
    }

    /// A batch that PostgreSQL rejects for one record (a duplicate unique code) is retried record by
    /// record: the duplicate gets its unique violation, its neighbours are stored.
    @Test func aRejectedRecordDoesNotFailItsNeighbours() async throws {
        try await Self.withTrackTable { client, queries in
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let kind = queries.kind
            _ = try await store.create(try Self.validated(#"{"title":"first","code":"taken"}"#, kind), in: queries)
            let codes = (0..<30).map { $0 == 17 ? "taken" : "free\($0)" }
            let outcomes = try await withThrowingTaskGroup(of: (String, Result<StoredRecord, any Error>).self) { group in
                for code in codes {
                    let record = try Self.validated(#"{"title":"x","code":"\#(code)"}"#, kind)
                    group.addTask {
                        do { return (code, .success(try await store.create(record, in: queries))) } catch { return (code, .failure(error)) }
                    }
                }
                var out: [String: Result<StoredRecord, any Error>] = [:]
                for try await (code, outcome) in group { out[code] = outcome }
                return out
            }
            for code in codes {
                switch try #require(outcomes[code]) {
                case .success(let stored):
                    #expect(code != "taken")
                    #expect(try Self.content(stored)["code"] == .string(code))
                case .failure(let error):
                    #expect(code == "taken")
                    #expect(error as? StorageError == .uniqueViolation(kind: "track", field: "code"))
                }
            }
            let count = try await client.query("SELECT count(*)::int8 FROM track", logger: TestDatabase.logger)
            for try await n in count.decode(Int64.self) { #expect(n == 30) }
        }
    }

    /// Concurrent GETs of present, missing and repeated ids through one slot: each gets its own record or nil.
    @Test func sharedGetsReturnEachRequestsOwnRecord() async throws {
        try await Self.withTrackTable { client, queries in
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let alone = RecordStore(client: client, logger: TestDatabase.logger, sharing: .off)
            var stored: [Int64: StoredRecord] = [:]
            for n in 0..<20 {
                let record = try await alone.create(try Self.validated(#"{"title":"g\#(n)"}"#, queries.kind), in: queries)
                stored[record.id] = record
            }
            let ids = Array(stored.keys) + Array(stored.keys.prefix(5)) + [0, -3, 999_999]
            let answers = try await withThrowingTaskGroup(of: (Int64, StoredRecord?).self) { group in
                for id in ids { group.addTask { (id, try await store.get(id, in: queries)) } }
                var out: [(Int64, StoredRecord?)] = []
                for try await answer in group { out.append(answer) }
                return out
            }
            #expect(answers.count == ids.count)
            for (id, record) in answers { #expect(record == stored[id]) }
            let statements = try #require(store.sharedGets).statementsRun
            #expect(statements < ids.count, "GETs should have shared statements: \(statements) for \(ids.count)")
        }
    }

    /// Concurrent list pages of one shape but different values (filters, cursors, limits), and
    /// identical ones, through one slot: each request gets the page it gets alone.
    @Test func sharedPagesEqualLonePages() async throws {
        try await Self.withTrackTable { client, queries in
            let shared = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let alone = RecordStore(client: client, logger: TestDatabase.logger, sharing: .off)
            let kind = queries.kind
            for n in 0..<120 {
                let gain = n % 7 == 0 ? "null" : String(Double(n % 13) / 4)
                let body = #"{"title":"t\#(n)","code":"c\#(n)","gain":\#(gain),"loud":\#(n % 3 == 0),"tags":["a\#(n % 5)"]}"#
                _ = try await alone.create(try Self.validated(body, kind), in: queries)
            }
            func field(_ name: String) throws -> FieldDefinition { try #require(kind.field(named: name)) }
            let byGain = [SortKey(column: "gain", descending: true, sqlType: "double precision", nullable: true)]
            var variants: [ListQuery] = []
            for limit in [1, 7, 50] {
                var q = ListQuery()
                q.limit = limit
                variants.append(q)
            }
            for value in ["true", "false"] {
                var q = ListQuery()
                q.limit = 10
                q.filters = [RecordFilter(field: try field("loud"), op: .eq, value: value)]
                variants.append(q)
            }
            for tag in ["a0", "a3", "zz"] {
                var q = ListQuery()
                q.limit = 8
                q.filters = [RecordFilter(field: try field("tags"), op: .has, value: tag)]
                variants.append(q)
            }
            var sorted = ListQuery()
            sorted.limit = 9
            sorted.sort = byGain
            variants.append(sorted)
            // Deep pages: the cursors of pages read alone, continued through the shared path.
            var cursorQuery = sorted
            for _ in 0..<12 {
                guard let next = try await alone.list(cursorQuery, in: queries).next else { break }
                cursorQuery.after = next
                variants.append(cursorQuery)
            }
            var plain = ListQuery()
            plain.limit = 20
            for _ in 0..<5 {
                guard let next = try await alone.list(plain, in: queries).next else { break }
                plain.after = next
                variants.append(plain)
            }
            var expected: [QueryPage] = []
            for q in variants { expected.append(try await alone.list(q, in: queries)) }
            #expect(expected.contains { $0.next == nil } && expected.contains { $0.itemsJSON.isEmpty })
            let all = variants
            let requests = Array(variants.indices) + Array(variants.indices) + Array(variants.indices.prefix(6))
            let got = try await withThrowingTaskGroup(of: (Int, QueryPage).self) { group in
                for i in requests { group.addTask { (i, try await shared.list(all[i], in: queries)) } }
                var out: [(Int, QueryPage)] = []
                for try await answer in group { out.append(answer) }
                return out
            }
            #expect(got.count == requests.count)
            for (i, page) in got {
                #expect(page == expected[i], "variant \(i) differs when shared")
            }
            let statements = try #require(shared.sharedPages).statementsRun
            #expect(statements < requests.count, "pages should have shared statements: \(statements) for \(requests.count)")
        }
    }

    /// A record over the size limit is inserted alone (its JSON is not copied into a batch).
    @Test func largeRecordsAreInsertedAlone() async throws {
        try await Self.withTrackTable { client, queries in
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let notes = String(repeating: "long notes ", count: 2_000)
            let large = try Self.validated(#"{"title":"large","notes":"\#(notes)"}"#, queries.kind)
            let small = try Self.validated(#"{"title":"small","notes":"short"}"#, queries.kind)
            #expect(RecordStore.approximateSize(large) > RecordStore.sharedCreateSizeLimit)
            #expect(RecordStore.approximateSize(small) < RecordStore.sharedCreateSizeLimit)
            let sharing = try #require(store.sharedCreates)
            let stored = try await store.create(large, in: queries)
            #expect(try Self.content(stored)["notes"] == .string(notes))
            #expect(sharing.statementsRun == 0)
            _ = try await store.create(small, in: queries)
            #expect(sharing.statementsRun == 1)
        }
    }

    /// A batch that PostgreSQL aborts as a deadlock victim (SQLSTATE 40P01: two multi-row inserts
    /// waiting on each other's unique values) is retried record by record, so no request sees it.
    /// A statement trigger aborts every multi-row insert that way here.
    @Test func aDeadlockedBatchIsRetriedAlone() async throws {
        try await Self.withTrackTable { client, queries in
            try await client.query(
                """
                CREATE FUNCTION abort_multi_row() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF (SELECT count(*) FROM inserted) > 1 THEN
                    RAISE EXCEPTION 'deadlock detected (simulated)' USING ERRCODE = '40P01';
                  END IF;
                  RETURN NULL;
                END $$
                """, logger: TestDatabase.logger)
            try await client.query(
                """
                CREATE TRIGGER abort_multi_row AFTER INSERT ON track REFERENCING NEW TABLE AS inserted
                FOR EACH STATEMENT EXECUTE FUNCTION abort_multi_row()
                """, logger: TestDatabase.logger)
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let records = try (0..<30).map { try Self.validated(#"{"title":"d\#($0)","code":"d\#($0)"}"#, queries.kind) }
            let codes = try await withThrowingTaskGroup(of: String?.self) { group in
                for record in records { group.addTask { try Self.content(try await store.create(record, in: queries))["code"]?.stringValue } }
                var out: Set<String> = []
                for try await code in group { if let code { out.insert(code) } }
                return out
            }
            #expect(codes == Set((0..<30).map { "d\($0)" }))
            let statements = try #require(store.sharedCreates).statementsRun
            #expect(statements < records.count, "creates should have shared (and lost) a batch: \(statements) statements for \(records.count)")
        }
    }

    @Test func conflictClassification() async throws {
        let url = try await TestDatabase.create(label: "sharing")
        try await TestDatabase.withClient(url) { client in
            for (state, expected) in [("40P01", true), ("40001", true), ("23505", false), ("22P02", false)] {
                do {
                    try await client.query(
                        PostgresQuery(unsafeSQL: "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '\(state)'; END $$"), logger: TestDatabase.logger)
                    Issue.record("no error for \(state)")
                } catch {
                    #expect(RecordStore.isRolledBackByConflict(error) == expected, "\(state)")
                }
            }
        }
    }

    struct Hung: Error {}

    /// `body`, or `Hung` after `seconds`: a leaked pool connection shows as a request that never ends.
    static func within<T: Sendable>(_ seconds: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw Hung()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// A shared INSERT that PostgreSQL rejects at its second row has already sent the first row.
    /// Statements failing that way must give their connection back: with a pool of two, twenty of
    /// them and then a GET all finish (through `PostgresClient.execute` the pool lost a connection
    /// to each, and the GET waited forever).
    @Test func statementsFailingAfterTheirFirstRowReturnTheirConnection() async throws {
        try await Self.withTrackTable(poolSize: 2) { client, queries in
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            let kind = queries.kind
            let taken = try await store.create(try Self.validated(#"{"title":"taken","code":"taken"}"#, kind), in: queries)
            for n in 0..<20 {
                let batch = try [
                    Self.validated(#"{"title":"new","code":"new\#(n)"}"#, kind), Self.validated(#"{"title":"dup","code":"taken"}"#, kind),
                ]
                let results = try await Self.within(20) {
                    try await store.insert(batch.map { PendingCreate(record: $0) }, columns: RecordStore.columns(of: batch[0]), in: queries)
                }
                #expect(try Self.content(try results[0].get())["code"] == .string("new\(n)"))
                if case .failure(let error) = results[1] {
                    #expect(error as? StorageError == .uniqueViolation(kind: "track", field: "code"))
                } else {
                    Issue.record("the duplicate was stored")
                }
            }
            let fetched = try await Self.within(20) { try await store.get(taken.id, in: queries) }
            #expect(fetched == taken)
        }
    }

    /// A page whose cursor no longer casts (edited by hand) fails alone, even when it shared a
    /// statement with other pages that PostgreSQL had already sent rows for; and the failed shared
    /// statement gives its connection back.
    @Test func aBadCursorFailsOnlyItsOwnPage() async throws {
        try await Self.withTrackTable(poolSize: 2) { client, queries in
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: RoundTripLimits(maxRunning: 1, maxBatch: 64))
            for n in 0..<30 {
                _ = try await store.create(try Self.validated(#"{"title":"p\#(n)","gain":\#(n % 7)}"#, queries.kind), in: queries)
            }
            var good = ListQuery()
            good.limit = 5
            good.sort = [SortKey(column: "gain", descending: false, sqlType: "double precision", nullable: true)]
            // Page 2 through a cursor, and the same shape with a value that does not cast.
            good.after = try #require(try await store.list(good, in: queries).next)
            var bad = good
            bad.after = PagePosition(values: ["not a number"], id: 3)
            let expected = try await store.list(good, in: queries)
            let goodQuery = good
            for _ in 0..<20 {
                let requests = [
                    PageRequest(query: good, statement: RecordStore.pageSQL(good, in: queries)),
                    PageRequest(query: bad, statement: RecordStore.pageSQL(bad, in: queries)),
                ]
                let results = try await Self.within(20) { try await store.pages(requests, in: queries) }
                #expect((try? results[0].get()) == expected)
                if case .failure(let error) = results[1] {
                    #expect(error is StorageError, "\(error)")
                } else {
                    Issue.record("a page with an edited cursor was read")
                }
            }
            // Alone, the bad page fails with PostgreSQL's own message, naming the value.
            let badRequest = PageRequest(query: bad, statement: RecordStore.pageSQL(bad, in: queries))
            let lone = try await Self.within(20) { try await store.pages([badRequest], in: queries) }
            if case .failure(let error) = lone[0], case .invalidValue(let message) = error as? StorageError {
                #expect(message.contains("not a number"), "\(message)")
            } else {
                Issue.record("a lone page with an edited cursor gave \(lone[0])")
            }
            let again = try await Self.within(20) { try await store.list(goodQuery, in: queries) }
            #expect(again == expected, "the page read after the failures differs")
        }
    }
}
