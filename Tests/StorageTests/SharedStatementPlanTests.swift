import KindModel
import PostgresNIO
import TestSupport
import Testing

@testable import Storage

/// The shared GET and page statements keep a generic plan instead of being planned afresh on every
/// execution (`PreparedStatements.sharedArray`): PostgreSQL plans a prepared statement five times
/// with its values, then keeps the generic plan if that costs no more, which it only does when
/// the planner cannot count the arrays' elements.
@Suite struct SharedStatementPlanTests {
    /// How many of `runs` executions of `sql`, prepared on one connection with `types` and run with
    /// `arguments`, used the generic plan and how many a custom one (`pg_prepared_statements`).
    static func plans(
        _ sql: String, types: [String], arguments: [String], runs: Int = 8, client: PostgresClient
    ) async throws -> (generic: Int64, custom: Int64) {
        try await client.withConnection { connection in
            let logger = TestDatabase.logger
            let prepare = "PREPARE shared_plan_probe(\(types.joined(separator: ", "))) AS \(sql)"
            try await connection.query(PostgresQuery(unsafeSQL: prepare), logger: logger)
            let execute = "EXECUTE shared_plan_probe(\(arguments.joined(separator: ", ")))"
            for _ in 0..<runs {
                for try await _ in try await connection.query(PostgresQuery(unsafeSQL: execute), logger: logger) {}
            }
            let counts = try await connection.query(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'shared_plan_probe'", logger: logger)
            for try await (generic, custom) in counts.decode((Int64, Int64).self) {
                try await connection.query("DEALLOCATE shared_plan_probe", logger: logger)
                return (generic, custom)
            }
            Issue.record("the prepared statement is missing from pg_prepared_statements")
            return (0, 0)
        }
    }

    /// Rows and statistics, so that plans are costed as on a real table (on an empty, never
    /// analysed one every plan costs the same and PostgreSQL keeps any generic plan).
    static func fill(_ client: PostgresClient, _ queries: KindQueries) async throws {
        let sql = "INSERT INTO \(queries.table) (\"title\", \"gain\") SELECT 'track ' || g, g / 100.0 FROM generate_series(1, 3000) g"
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        try await client.query(PostgresQuery(unsafeSQL: "ANALYZE \(queries.table)"), logger: TestDatabase.logger)
    }

    @Test func aSharedGetKeepsItsGenericPlan() async throws {
        try await SharedRoundTripDatabaseTests.withTrackTable { client, queries in
            try await Self.fill(client, queries)
            let shared = try await Self.plans(queries.selectByIDs, types: ["int8[]"], arguments: ["'{1,2,3}'"], client: client)
            #expect(shared.custom == 5 && shared.generic == 3, "\(queries.selectByIDs): \(shared)")
            // What the test tells apart: with the array in plain sight, every run is planned again.
            let plain = "SELECT t.\"id\" FROM \(queries.table) t WHERE t.\"id\" = ANY($1)"
            let replanned = try await Self.plans(plain, types: ["int8[]"], arguments: ["'{1,2,3}'"], client: client)
            #expect(replanned.generic == 0 && replanned.custom == 8, "\(replanned)")
        }
    }

    @Test func sharedPagesKeepTheirGenericPlan() async throws {
        try await SharedRoundTripDatabaseTests.withTrackTable { client, queries in
            try await Self.fill(client, queries)
            let kind = queries.kind
            var query = ListQuery()
            query.limit = 10
            query.filters = [RecordFilter(field: try #require(kind.field(named: "gain")), op: .gte, value: "0.5")]
            query.sort = [SortKey(column: "gain", descending: true, sqlType: "double precision", nullable: true)]
            for after in [nil, PagePosition(values: ["2.5"], id: 7)] {
                query.after = after
                let texts = RecordStore.pageSQL(query, in: queries).texts
                let arguments = texts.map { "ARRAY['\($0)', '\($0)']::text[]" } + ["ARRAY[11, 11]::int8[]"]
                let types = Array(repeating: "text[]", count: texts.count) + ["int8[]"]
                let sql = RecordStore.sharedPagesSQL(query, in: queries)
                let counts = try await Self.plans(sql, types: types, arguments: arguments, client: client)
                #expect(counts.custom == 5 && counts.generic == 3, "\(sql): \(counts)")
            }
        }
    }
}
