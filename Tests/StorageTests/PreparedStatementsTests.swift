import PostgresNIO
import TestSupport
import Testing

@testable import Storage

@Suite struct PreparedStatementsTests {
    /// More distinct statements than `capacity`: the first ones run prepared, the rest unprepared,
    /// and every one returns its own answer (a reused name would return another statement's).
    @Test func beyondCapacityStatementsRunUnpreparedAndAllAnswerRight() async throws {
        let url = try await TestDatabase.create(label: "prepared")
        let count = PreparedStatements.capacity + 40
        try await TestDatabase.withClient(url) { client in
            for round in 0..<2 {
                for n in 0..<count {
                    var bindings = StatementBindings()
                    bindings.append(Int64(round))
                    let rows = try await PreparedStatements.rows(
                        "SELECT $1::int8 + \(n) AS v /* prepared-test */", bindings, client: client, logger: TestDatabase.logger)
                    #expect(try rows.map { try $0.decode(Int64.self) } == [Int64(round + n)])
                }
            }
        }
    }

    /// A NULL is bound with its column's type (`appendNull(.int8)`), so it and a value share one
    /// prepared statement whose parameter type, fixed at prepare time, fits both.
    @Test func nullAndValueOfTheSameSQLBothWork() async throws {
        let url = try await TestDatabase.create(label: "prepared")
        try await TestDatabase.withClient(url) { client in
            let sql = "SELECT coalesce($1, -1::int8), $2::text /* null-test */"
            for value: Int64? in [nil, 7, nil, 8] {
                var bindings = StatementBindings()
                if let value { bindings.append(value) } else { bindings.appendNull(.int8) }
                bindings.append("x")
                let rows = try await PreparedStatements.rows(sql, bindings, client: client, logger: TestDatabase.logger)
                #expect(try rows.map { try $0.decode((Int64, String).self).0 } == [value ?? -1])
            }
        }
    }
}
