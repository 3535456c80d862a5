import Foundation
import KindModel
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// A sorted list read deep through its cursor, on the shipped podcast kind and its
/// `indexes: [[host, -duration, name]]` entry (migration 0003).
@Suite struct DeepPageTests {
    /// 2,400 episodes of one host (durations with many ties) among 600 of others, then statistics.
    static let load = """
        INSERT INTO podcast (name, duration, host)
        SELECT 'episode ' || (g % 97), 1 + (g * 7919) % 300, CASE WHEN g % 5 = 0 THEN 'other ' || (g % 7) ELSE 'the host' END
        FROM generate_series(1, 3000) AS g
        """

    @Test func everyPageInOrderAndADeepPageStartsAtItsCursorInTheIndex() async throws {
        try await TestServer.run { client, server in
            let expected: [Int64] = try await server.sql { db in
                try await db.query(PostgresQuery(unsafeSQL: Self.load), logger: TestDatabase.logger)
                try await db.query("ANALYZE podcast", logger: TestDatabase.logger)
                var ids: [Int64] = []
                for try await id in try await db.query(
                    "SELECT id FROM podcast WHERE host = 'the host' AND duration >= 60 ORDER BY duration DESC, name, id", logger: TestDatabase.logger
                ).decode(Int64.self) {
                    ids.append(id)
                }
                return ids
            }
            #expect(expected.count > 1500)
            // Ties on duration (300 values) and on name (97) span page boundaries: nothing may be
            // skipped or repeated now that the cursor condition also bounds duration on its own.
            let walked = try await client.allIDs("/api/audio/podcast?host=the%20host&duration%5Bgte%5D=60&sort=-duration,name", limit: 50)
            #expect(walked == expected)

            // The statement of page 30, exactly as the server builds it, planned by PostgreSQL.
            let kind = try #require(try KindLoader.load(directory: server.kindsDirectory).kind(named: "podcast"))
            var (query, _) = try ListQueryParser.parse([("host", "the host"), ("duration[gte]", "60"), ("sort", "-duration,name")], kind: kind)
            let last = expected[30 * 50 - 1]
            let position: (String, String) = try await server.sql { db in
                for try await row in try await db.query("SELECT duration::text, name FROM podcast WHERE id = \(last)", logger: TestDatabase.logger)
                    .decode((String, String).self)
                {
                    return row
                }
                throw TestFailure("record \(last) is gone")
            }
            query.after = PagePosition(values: [position.0, position.1], id: last)
            let (sql, bindings) = RecordStore.pageStatement(query, in: KindQueries(kind: kind))
            let plan = try await server.plan(sql, bindings.values)
            #expect(plan.contains("Index Scan using podcast_host_duration_desc_name_idx") && !plan.contains("Seq Scan"), "\(plan)")
            // Two ranges of the index, each starting at the cursor rather than filtering every
            // earlier row (or every earlier tie of its duration): the cursor's ties after it, then
            // the shorter episodes. Any sort is of at most a page's rows, under a Limit.
            let conditions = plan.split(separator: "\n").filter { $0.contains("Index Cond") }
            #expect(conditions.contains { $0.contains("(duration = ") && $0.contains("ROW(name, id) > ROW(") }, "\(plan)")
            #expect(conditions.contains { $0.contains("(duration < ") }, "\(plan)")
        }
    }
}
