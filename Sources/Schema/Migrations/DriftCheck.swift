import Foundation
public import KindModel
public import Logging
public import PostgresNIO

/// What `migrate check` found against a database.
public struct DriftReport: Sendable, Equatable {
    /// Files in `migrations/` not applied yet.
    public var pending: [String]
    /// The snapshot the database was compared with (the last applied file), nil when none is applied.
    public var comparedWith: String?
    /// How the database differs from what the applied migrations produce, one line each.
    public var differences: [String]

    public var isClean: Bool { pending.isEmpty && differences.isEmpty }
}

/// Detects drift: a database whose tables differ from what its applied migrations produce
/// (a column altered by hand, a constraint dropped, an index added outside migrations).
///
/// The expected catalog is built by PostgreSQL itself — the tables of the applied snapshot are
/// created in a scratch schema inside a transaction that is rolled back — so types, defaults and
/// constraint texts are compared exactly as the server normalises them, with no shadow database
/// and nothing left behind. The migration tests prove that applying migrations one by one yields
/// the same catalog as creating the final tables at once, which is what makes this comparison valid.
public enum DriftCheck {
    /// Helper functions that list constraints call, as `name(argument types)`.
    static var helperSignatures: [String] { HelperFunction.allCases.map(\.signature).sorted() }

    /// The catalog `kinds` imply (in tables of `layout`): their tables created in a scratch schema,
    /// read, and rolled back.
    public static func expectedCatalog(
        for kinds: [KindDefinition], in layout: SchemaLayout = .current, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> DatabaseCatalog {
        let scratch = "audio_server_check_\(UInt32.random(in: 0...UInt32.max))"
        try await connection.query("BEGIN", logger: logger)
        do {
            let missingHelpers = try await self.missingHelpers(on: connection, logger: logger)
            if !missingHelpers.isEmpty {
                for statement in HelperFunction.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            }
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(SQLText.identifier(scratch))"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(SQLText.identifier(scratch))"), logger: logger)
            for kind in kinds.sorted(by: { $0.name < $1.name }) {
                for statement in TableDDL.create(Snapshot.normalized(kind), in: layout) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
            let catalog = try await DatabaseCatalog.introspect(schema: scratch, on: connection, logger: logger)
            try await connection.query("ROLLBACK", logger: logger)
            return catalog
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Helper functions missing from schema `audio_server`.
    static func missingHelpers(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let rows = try await connection.query(
            """
            SELECT p.proname::text || '(' || pg_get_function_arguments(p.oid) || ')'
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '\(unescaped: ServerSchema.name)'
            """, logger: logger)
        var present = Set<String>()
        for try await signature in rows.decode(String.self) { present.insert(signature) }
        return helperSignatures.filter { !present.contains($0) }
    }

    /// Every difference between the kind tables in `public` and the tables `kinds` imply (as an
    /// engine of `layout` made them).
    public static func differences(
        expected kinds: [KindDefinition], in layout: SchemaLayout = .current, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [String] {
        var out: [String] = []
        if !kinds.isEmpty {
            for helper in try await missingHelpers(on: connection, logger: logger) {
                out.append("helper function \(ServerSchema.name).\(helper) is missing from the database")
            }
        }
        let actual = try await DatabaseCatalog.introspect(schema: "public", on: connection, logger: logger)
        let expected = try await expectedCatalog(for: kinds, in: layout, on: connection, logger: logger)
        return out + expected.differences(from: actual)
    }
}

extension MigrationRunner {
    /// Pending files, and how the database differs from the snapshot of the last applied file.
    public func checkDrift() async throws -> DriftReport {
        let files = try directoryFiles()
        return try await client.lease { connection in
            let ledger = try await readLedgerIfPresent(connection)
            try verify(files, against: ledger)
            let applied = files.filter { ledger[$0.name] != nil }
            var state = SchemaState.empty
            if let last = applied.last {
                do { state = try directory.state(after: last) } catch let error as MigrationDirectoryError { throw MigrationError.directory(error) }
            }
            let differences = try await DriftCheck.differences(expected: state.kinds, in: state.layout, on: connection, logger: logger)
            return DriftReport(
                pending: files.filter { ledger[$0.name] == nil }.map(\.name),
                comparedWith: applied.last?.name, differences: differences)
        }
    }
}
