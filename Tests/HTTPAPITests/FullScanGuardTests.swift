import Foundation
import KindModel
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// A sort no index serves is refused on a large table (`FullScanGuard`), with a problem naming the
/// field and how to index it; browsing sorts are served from their index at any depth.
@Suite struct FullScanGuardTests {
    @Test func largeTableRefusesUnindexedSortsAndServesBrowsingOnes() async throws {
        try await TestServer.run { client, server in
            try await server.sql { db in
                try await db.query(
                    "INSERT INTO song (name, duration) SELECT 'song ' || g, 1 + (g * 7919) % 3600 FROM generate_series(1, 120000) g",
                    logger: TestDatabase.logger)
                try await db.query("ANALYZE song", logger: TestDatabase.logger)
            }
            let refused = try await client.get("/api/audio/song?sort=name&limit=5")
            #expect(refused.status == .badRequest)
            #expect(refused.isProblem)
            let problem = try refused.json()
            #expect(problem["type"]?.stringValue?.hasSuffix("sort-needs-index") == true, "\(problem)")
            let detail = problem["detail"]?.stringValue ?? ""
            #expect(
                detail.contains("Sorting song by name") && detail.contains("`browse: true` to field 'name'")
                    && detail.contains("Sorts an index serves: id, -id, duration, -duration"), "\(detail)")
            let issue = problem["errors"]?.arrayValue?.first?.objectValue
            #expect(issue?["field"] == "sort" && issue?["code"] == "needs_index", "\(problem)")
            // A system column has no `browse:`: the fix offered is another sort.
            let byDate = try await client.get("/api/audio/song?sort=-created_at")
            let byDateDetail = try byDate.json()["detail"]?.stringValue ?? ""
            #expect(byDate.status == .badRequest && byDateDetail.contains("sort by a browsing field instead"), "\(byDateDetail)")

            for served in [
                "", "sort=-id", "sort=duration", "sort=-duration", "duration%5Bgte%5D=1800&sort=duration", "sort=-duration,name", "name=song%207",
            ] {
                #expect(try await client.get("/api/audio/song?\(served)&limit=5").status == .ok, "\(served)")
            }
            // A small table is not guarded: podcasts sort by anything.
            #expect(try await client.get("/api/audio/podcast?sort=name").status == .ok)

            // The browsing page is an index range scan, with no sort, deep in the list too.
            let kind = try #require(try KindLoader.load(directory: server.kindsDirectory).kind(named: "song"))
            var (query, _) = try ListQueryParser.parse([("duration[gte]", "1800"), ("sort", "duration")], kind: kind)
            query.after = PagePosition(values: ["2500"], id: 60000)
            let (sql, bindings) = RecordStore.pageStatement(query, in: KindQueries(kind: kind))
            let plan = try await server.plan(sql, bindings.values)
            #expect(plan.contains("Index Scan using song_duration_idx") && !plan.contains("Sort"), "\(plan)")
            // The scan starts exactly at the cursor, not at the first tie of its duration.
            let indexCondition = plan.split(separator: "\n").first { $0.contains("Index Cond") } ?? ""
            #expect(indexCondition.contains("ROW(duration, id) >"), "\(plan)")
            // Newest first reads the primary key backwards (it was a scan and sort of the table).
            let (newest, _) = try ListQueryParser.parse([("sort", "-id")], kind: kind)
            let newestPlan: String = try await server.sql { db in
                let (sql, bindings) = RecordStore.pageStatement(newest, in: KindQueries(kind: kind))
                var lines: [String] = []
                for try await line in try await db.query(
                    PostgresQuery(unsafeSQL: "EXPLAIN (COSTS OFF) " + sql, binds: bindings.values), logger: TestDatabase.logger
                ).decode(String.self) {
                    lines.append(line)
                }
                return lines.joined(separator: "\n")
            }
            #expect(newestPlan.contains("Index Scan Backward using song_pkey") && !newestPlan.contains("Sort"), "\(newestPlan)")
        }
    }
}
