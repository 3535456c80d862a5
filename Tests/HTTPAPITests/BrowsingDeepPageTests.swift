import Foundation
import KindModel
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// Deep pages of every kind of browsing field start at their cursor in the index: optional fields
/// (NULLs sort last), descending ones, and sorts whose keys change direction. Before, only a
/// required field sorted ascending did; an optional one read every row before the cursor (a deep
/// page cost 25–60× the first on 200,000 rows).
@Suite struct BrowsingDeepPageTests {
    static let kind = """
        name: shelf
        access: {read: public}
        fields:
          title: {type: string, max_length: 40}
          plays: {type: integer, browse: true}
          rating: {type: number, browse: desc}
          released: {type: date, browse: asc}
          length: {type: integer, required: true, browse: true}
        indexes:
          - [length, -plays]
        """

    /// 30,000 rows: a third without plays, a fifth without rating or release date; 40 distinct
    /// plays, 25 ratings, 60 dates and 300 lengths, so ties span every page boundary.
    static let load = """
        INSERT INTO shelf (title, plays, rating, released, length)
        SELECT 't' || (g % 13), CASE WHEN g % 3 = 0 THEN NULL ELSE (g * 7919) % 40 END,
          CASE WHEN g % 5 = 0 THEN NULL ELSE ((g::int8 * 104729) % 25) / 4.0 END,
          CASE WHEN g % 5 = 1 THEN NULL ELSE date '2020-01-01' + (g * 31) % 60 END, 1 + (g * 613) % 300
        FROM generate_series(1, 30000) AS g
        """

    static let sorts = ["plays", "-plays", "-rating", "released", "length", "-length", "length,-plays", "-rating,title", "plays,-length"]

    /// The sorts one index returns in their whole order: a browsing field in a direction it has, and
    /// the `indexes:` entry.
    static let servedWhole: Set<String> = ["plays", "-plays", "-rating", "released", "length", "-length", "length,-plays"]

    static func orderSQL(_ sort: String) -> String {
        sort.split(separator: ",").map { key in
            key.hasPrefix("-") ? "\"\(key.dropFirst())\" DESC NULLS LAST" : "\"\(key)\" ASC NULLS LAST"
        }.joined(separator: ", ") + ", id"
    }

    @Test func everyBrowsingSortPagesExactlyAndADeepPageReadsOnlyItsRows() async throws {
        try await TestServer.run(extraKinds: ["shelf.yaml": Self.kind]) { client, server in
            try await server.sql { db in
                try await db.query(PostgresQuery(unsafeSQL: Self.load), logger: TestDatabase.logger)
                try await db.query("ANALYZE shelf", logger: TestDatabase.logger)
            }
            let kind = try #require(try KindLoader.load(directory: server.kindsDirectory).kind(named: "shelf"))
            for sort in Self.sorts {
                // Walked on two subsets of about 2,000–3,000 rows (the whole table would take a minute of pages).
                for (filter, condition) in [
                    ("&length%5Blte%5D=30", "WHERE length <= 30"), ("&title=t3&plays%5Bgte%5D=5", "WHERE title = 't3' AND plays >= 5"),
                ] {
                    let expected: [Int64] = try await server.sql { db in
                        var ids: [Int64] = []
                        for try await id in try await db.query(
                            PostgresQuery(unsafeSQL: "SELECT id FROM shelf \(condition) ORDER BY \(Self.orderSQL(sort))"), logger: TestDatabase.logger
                        ).decode(Int64.self) {
                            ids.append(id)
                        }
                        return ids
                    }
                    let walked = try await client.allIDs("/api/audio/shelf?sort=\(sort)\(filter)", limit: 97)
                    #expect(walked == expected, "sort=\(sort)\(filter): \(walked.count) walked, \(expected.count) expected")
                }

                // The page after row 20,000 (in the non-NULL part or in the NULLs, by sort), as the
                // server builds it, for the sorts an index serves whole: each range of the index is
                // read from the cursor on, so the scans return about a page's rows, whatever the
                // depth (the old condition read all 20,000 before the cursor). A sort whose later
                // keys no index serves (`plays,-length`) still sorts each tie group of its first key.
                guard Self.servedWhole.contains(sort) else { continue }
                let order = Self.orderSQL(sort)
                let keys = sort.split(separator: ",").map { $0.hasPrefix("-") ? String($0.dropFirst()) : String($0) }
                let cursorRow: [String?] = try await server.sql { db in
                    let columns = keys.map { "\"\($0)\"::text" }.joined(separator: ", ")
                    let rows = try await db.query(
                        PostgresQuery(unsafeSQL: "SELECT json_build_array(\(columns), id)::text FROM shelf ORDER BY \(order) OFFSET 19999 LIMIT 1"),
                        logger: TestDatabase.logger)
                    for try await text in rows.decode(String.self) {
                        guard case .array(let values) = try JSONParser.parse(Array(text.utf8)) else { break }
                        return values.map { value -> String? in
                            if case .string(let s) = value { return s }
                            if case .number(let n) = value { return n.int64.map(String.init) }
                            return nil
                        }
                    }
                    throw TestFailure("no row 20,000")
                }
                var (query, _) = try ListQueryParser.parse([("sort", sort)], kind: kind)
                query.after = PagePosition(values: Array(cursorRow.dropLast()), id: Int64(cursorRow.last!!)!)
                let (sql, bindings) = RecordStore.pageStatement(query, in: KindQueries(kind: kind))
                let plan: String = try await server.sql { db in
                    var lines: [String] = []
                    for try await line in try await db.query(
                        PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, binds: bindings.values),
                        logger: TestDatabase.logger
                    ).decode(String.self) {
                        lines.append(line)
                    }
                    return lines.joined(separator: "\n")
                }
                #expect(!plan.contains("Seq Scan"), "sort=\(sort): \(plan)")
                // Rows the index scans returned, and rows they passed over, both about a page.
                let read = plan.split(separator: "\n").filter { $0.contains("Index Scan") || $0.contains("Index Only Scan") }
                    .compactMap { line in line.split(separator: "rows=").last.flatMap { Int($0.prefix { $0.isNumber }) } }
                #expect(!read.isEmpty && read.reduce(0, +) <= 3 * 51, "sort=\(sort): \(read) rows read\n\(plan)")
                let removed = plan.split(separator: "\n").filter { $0.contains("Rows Removed by Filter") }
                    .compactMap { line in line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
                // At most a tie group of the cursor's value (the planner may read the ties through
                // the primary key, filtering on the value: 1,200 rows share a rating here).
                #expect(removed.reduce(0, +) <= 2_000, "sort=\(sort): \(removed) rows filtered out\n\(plan)")
            }
        }
    }
}
