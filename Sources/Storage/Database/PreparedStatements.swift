public import PostgresNIO
import Schema
import Synchronization

/// Named prepared statements for SQL that is only known at run time (each kind's GET, list page
/// and insert), so PostgreSQL parses and plans each shape once per connection, not per request.
///
/// PostgresNIO prepares a statement per connection from a `PostgresPreparedStatement` type's
/// *static* `name`, `sql` and binding types, which it reads in the calling task when
/// `PostgresClient.execute` starts. `RunTimeStatement`'s static properties read a task-local
/// entry set around that call, so one non-generic type serves every statement (an earlier
/// version used 64 generic slot types, whose unspecialised generic paths cost a GET measurable CPU
/// in metadata lookups). Each distinct SQL text and binding types get a number once and keep it,
/// so a connection never runs a stale statement under a reused name (a kind edited by a reload
/// gets new SQL, hence a new name). After `capacity` shapes, further ones run unprepared, which
/// bounds what each PostgreSQL connection keeps. The key includes the binding types because
/// PostgreSQL fixes parameter types at prepare time.
/// (The measurements behind it: docs/performance.md, "Measured reasons in the code".)
enum PreparedStatements {
    static let capacity = 256
    /// Most SQL text, in bytes, all prepared shapes together may hold: what PostgreSQL keeps per
    /// connection for a statement grows with its text, so this bounds each backend's cache by
    /// memory and not only by count (a shape with many filters takes more of it).
    static let byteBudget = 1 << 20

    struct Entry: Sendable {
        var name: String
        var sql: String
        var types: [PostgresDataType]
    }

    private struct Key: Hashable {
        var sql: String
        var types: [PostgresDataType]
    }

    private struct Table {
        var entries: [Key: Entry] = [:]
        var bytes = 0
    }

    private static let table = Mutex(Table())

    /// The prepared entry for `sql` and `types`, numbering it if new; nil when `capacity` are taken.
    static func claim(sql: String, types: [PostgresDataType]) -> Entry? {
        let key = Key(sql: sql, types: types)
        return table.withLock { table in
            if let entry = table.entries[key] { return entry }
            guard table.entries.count < capacity, table.bytes + sql.utf8.count <= byteBudget else { return nil }
            let entry = Entry(name: "audio_statement_\(table.entries.count)", sql: sql, types: types)
            table.entries[key] = entry
            table.bytes += sql.utf8.count
            return entry
        }
    }

    /// Runs `sql` with `bindings` and returns all its rows: prepared unless `prepare` is false (rare
    /// shapes that should not take a slot) or `capacity` shapes (or `byteBudget` bytes of SQL) are taken.
    ///
    /// On a connection leased for the call (`ConnectionSource.lease`), never through
    /// `PostgresClient.execute`/`query`: those return the connection to the pool when the row
    /// stream finishes, and PostgresNIO (1.x, `PSQLRowStream.asyncSequence`) never reports that
    /// finish for a statement that failed after sending rows but before the stream was handed over
    /// — every such failure leaked a connection until every request hung. A lease ends with the
    /// closure, whatever the stream did.
    static func rows(
        _ sql: String, _ bindings: StatementBindings, prepare: Bool = true, client: any ConnectionSource, logger: Logger
    ) async throws -> [PostgresRow] {
        guard prepare, let entry = claim(sql: sql, types: bindings.types) else {
            return try await rows(PostgresQuery(unsafeSQL: sql, binds: bindings.values), client: client, logger: logger)
        }
        return try await client.lease { connection in
            var rows: [PostgresRow] = []
            try await RunTimeStatement.$current.withValue(entry) {
                for try await row in try await connection.execute(RunTimeStatement(bindings: bindings.values), logger: logger) {
                    rows.append(row)
                }
            }
            return rows
        }
    }

    /// Every row of an unprepared statement, on a connection leased for this call (see above).
    static func rows(_ query: PostgresQuery, client: any ConnectionSource, logger: Logger) async throws -> [PostgresRow] {
        try await client.lease { connection in
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            return rows
        }
    }
}

/// The statement of the task-local `current` entry (see `PreparedStatements`).
struct RunTimeStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow
    @TaskLocal static var current: PreparedStatements.Entry?

    private static var entry: PreparedStatements.Entry {
        guard let current else { preconditionFailure("RunTimeStatement used outside PreparedStatements.rows") }
        return current
    }
    static var name: String { entry.name }
    static var sql: String { entry.sql }
    static var bindingDataTypes: [PostgresDataType] { entry.types }

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// Bound values with the PostgreSQL type of each, which a prepared statement declares up front.
public struct StatementBindings: Sendable {
    public var values = PostgresBindings()
    public var types: [PostgresDataType] = []

    var count: Int { types.count }

    mutating func append<Value: PostgresNonThrowingEncodable & Sendable>(_ value: Value) {
        values.append(value)
        types.append(Value.psqlType)
    }

    /// A NULL of the column's type, so that the statement's parameter types do not depend on
    /// whether this request happened to send null.
    mutating func appendNull(_ type: PostgresDataType) {
        values.appendNull()
        types.append(type)
    }
}
