import Foundation
import HTTPAPI
import KindModel
import PostgresNIO
import TestSupport
import Testing

/// The next cursor is written from the last row's binary cells (not from PostgreSQL's `::text` of
/// every scanned row), so its text must cast back to exactly the value it came from, for every
/// sortable type, in both directions, across ties and NULLs.
@Suite struct CursorExactnessTests {
    /// Values chosen to break a lossy cursor: doubles without a short decimal form and at the
    /// exponent edges, timestamps one microsecond apart, a text with quotes and a backslash, and
    /// every value repeated so that ties span page boundaries.
    static let records: [String] = (0..<24).map { i in
        let ratios = ["0.1", "0.30000000000000004", "1e-7", "1.5e20", "-2.5", "123456789.12345679"]
        let ats = ["2026-01-31T10:00:00Z", "2026-01-31T10:00:00.000001Z", "1999-12-31T23:59:59.999999Z", "2026-06-01T00:00:00+05:30"]
        let titles = [#"a \"quoted\" one"#, #"back\\slash"#, "plain", "Ünïcode ✓"]
        var fields = [#""filetype":"sample""#, #""title":"\#(titles[i % 4])""#]
        if i % 5 != 4 {  // every fifth value of the optional fields is absent: NULLs tie too
            fields += [
                #""ratio":\#(ratios[i % 6])"#, #""at":"\#(ats[i % 4])""#, #""plays":\#(i % 3)"#,
                #""live":\#(i % 2 == 0)"#, #""day":"2026-0\#(1 + i % 3)-15""#, #""mood":"\#(i % 2 == 0 ? "calm" : "wild")""#,
                #""notes":"n\#(i % 3)""#,
            ]
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    @Test func everySortableTypeInBothDirectionsPagesExactlyLikeSQL() async throws {
        try await TestServer.run(extraKinds: ["sample.yaml": everyTypeKind]) { client, server in
            for body in Self.records { _ = try await client.create(body) }
            for column in ["title", "notes", "mood", "plays", "ratio", "live", "day", "at", "id", "created_at", "updated_at"] {
                for descending in [false, true] {
                    let order = "\"\(column)\" \(descending ? "DESC" : "ASC") NULLS LAST, id"
                    let expected: [Int64] = try await server.sql { db in
                        var ids: [Int64] = []
                        for try await id in try await db.query(
                            PostgresQuery(unsafeSQL: "SELECT id FROM sample ORDER BY \(order)"), logger: TestDatabase.logger
                        ).decode(Int64.self) {
                            ids.append(id)
                        }
                        return ids
                    }
                    for limit in [1, 3, 7] {
                        let walked = try await client.allIDs("/api/audio/sample?sort=\(descending ? "-" : "")\(column)", limit: limit)
                        #expect(walked == expected, "sort \(descending ? "-" : "")\(column), limit \(limit)")
                    }
                }
            }
            // Two keys with ties on both, mixed directions.
            let expected: [Int64] = try await server.sql { db in
                var ids: [Int64] = []
                for try await id in try await db.query(
                    "SELECT id FROM sample ORDER BY at DESC NULLS LAST, ratio ASC NULLS LAST, id", logger: TestDatabase.logger
                ).decode(Int64.self) {
                    ids.append(id)
                }
                return ids
            }
            #expect(try await client.allIDs("/api/audio/sample?sort=-at,ratio", limit: 2) == expected)
        }
    }
}
