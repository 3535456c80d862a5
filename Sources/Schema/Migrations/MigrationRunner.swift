public import Foundation
public import Logging
import PostgresNIO

/// An applied or pending migration, for `migrate status`.
public struct MigrationStatus: Sendable, Equatable {
    public var name: String
    public var appliedAt: Date?
}

/// Applies migration files to PostgreSQL: in order, one transaction per file, each exactly once.
///
/// A session-level advisory lock serialises concurrent runners (several servers starting at
/// once); the ledger `audio_server.migrations` records each file's checksum so an edited applied
/// file is refused instead of silently diverging.
public struct MigrationRunner: Sendable {
    public let client: any ConnectionSource
    public let directory: MigrationDirectory
    public let logger: Logger

    /// Key of the advisory lock (the bytes of "audiomig").
    public static let lockKey: Int64 = 0x617564696f6d6967

    public init(client: any ConnectionSource, directory: MigrationDirectory, logger: Logger) {
        self.client = client
        self.directory = directory
        self.logger = logger
    }

    static let ledgerStatements = [
        ServerSchema.create,
        "CREATE TABLE IF NOT EXISTS \(ServerSchema.migrations) (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    ]

    /// Applies every pending file; returns the names applied.
    @discardableResult
    public func apply() async throws -> [String] {
        let files = try directoryFiles()
        return try await withLock { connection in
            // Concurrent CREATE ... IF NOT EXISTS can still race on the catalog, hence under the lock.
            for statement in Self.ledgerStatements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            let ledger = try await readLedger(connection)
            try verify(files, against: ledger)
            var applied: [String] = []
            for file in files where ledger[file.name] == nil {
                try await applyFile(file, on: connection)
                logger.info("applied migration", metadata: ["file": "\(file.name)"])
                applied.append(file.name)
            }
            return applied
        }
    }

    /// Runs `body` on one connection holding the migration advisory lock (waiting for it).
    func withLock<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.lease { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    func directoryFiles() throws -> [MigrationFile] {
        do { return try directory.files() } catch { throw MigrationError.directory(error) }
    }

    /// The statements of a file that the runner executes: everything but its BEGIN/COMMIT,
    /// since the runner wraps each file in its own transaction.
    static func statements(of text: String) -> [String] {
        SQLStatementSplitter.split(text).filter {
            let upper = SQLStatementSplitter.stripComments($0).uppercased()
            return upper != "BEGIN" && upper != "COMMIT" && upper != "BEGIN TRANSACTION" && upper != "END"
        }
    }

    private func applyFile(_ file: MigrationFile, on connection: PostgresConnection) async throws {
        // A generated file is applied from its manifest (its steps as data); others from the SQL reader.
        let planned = stepGroups(of: (file.name, file.text)).flatMap(\.statements)
        let statements = planned.map(\.sql)
        try await connection.query("BEGIN", logger: logger)
        var failure: (statement: String, error: PSQLError)?
        var violations: RuleViolations?
        do {
            for statement in planned {
                // A data-dependent statement runs after a savepoint: if existing rows break it, the
                // rows are counted in the schema exactly as this file left it (columns it renamed
                // included) before the whole file is rolled back.
                let probe = statement.probe
                if probe != nil { try await connection.query("SAVEPOINT audio_server_step", logger: logger) }
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: statement.sql), logger: logger)
                } catch let error as PSQLError {
                    failure = (statement.sql, error)
                    if let probe, (try? await connection.query("ROLLBACK TO SAVEPOINT audio_server_step", logger: logger)) != nil {
                        violations = try? await probe.count(on: connection, logger: logger)
                    }
                    throw error
                }
            }
            try await connection.query(
                "INSERT INTO \(unescaped: ServerSchema.migrations) (name, checksum) VALUES (\(file.name), \(file.checksum))", logger: logger)
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            guard let failure else { throw error }
            let message = failure.error.serverInfo?[.message] ?? String(reflecting: failure.error)
            if violations == nil {
                // A hand-written statement: count in the schema as it was before this file.
                violations = try? await ViolationReport.describe(
                    error: failure.error, statements: statements,
                    on: connection, logger: logger)
            }
            throw MigrationError.statementFailed(
                file: file.name, statement: SQLStatementSplitter.stripComments(failure.statement),
                message: message,
                detail: violations?.description ?? failure.error.serverInfo?[.detail],
                violations: violations)
        }
    }

    func readLedger(_ connection: PostgresConnection) async throws -> [String: (checksum: String, appliedAt: Date)] {
        var ledger: [String: (checksum: String, appliedAt: Date)] = [:]
        let rows = try await connection.query("SELECT name, checksum, applied_at FROM \(unescaped: ServerSchema.migrations)", logger: logger)
        for try await (name, checksum, at) in rows.decode((String, String, Date).self) { ledger[name] = (checksum, at) }
        return ledger
    }

    /// The ledger, or empty when it does not exist yet (nothing applied).
    func readLedgerIfPresent(_ connection: PostgresConnection) async throws -> [String: (checksum: String, appliedAt: Date)] {
        let exists = try await connection.query("SELECT to_regclass('\(unescaped: ServerSchema.migrations)') IS NOT NULL", logger: logger)
        var present = false
        for try await (p) in exists.decode(Bool.self) { present = p }
        return present ? try await readLedger(connection) : [:]
    }

    /// Refuses an edited applied file, an applied file that is gone, and a pending file before an applied one.
    func verify(_ files: [MigrationFile], against ledger: [String: (checksum: String, appliedAt: Date)]) throws {
        let byName = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0) })
        for (name, entry) in ledger.sorted(by: { $0.key < $1.key }) {
            guard let file = byName[name] else { throw MigrationError.missing(file: name) }
            if file.checksum != entry.checksum { throw MigrationError.edited(file: name, applied: entry.checksum, now: file.checksum) }
        }
        if let lastApplied = files.lastIndex(where: { ledger[$0.name] != nil }),
            let gap = files[..<lastApplied].first(where: { ledger[$0.name] == nil })
        {
            throw MigrationError.outOfOrder(file: gap.name, laterApplied: files[lastApplied].name)
        }
    }

    /// Applied and pending files, verifying checksums.
    public func status() async throws -> [MigrationStatus] {
        let files = try directoryFiles()
        let ledger = try await client.lease { connection in try await readLedgerIfPresent(connection) }
        try verify(files, against: ledger)
        return files.map { MigrationStatus(name: $0.name, appliedAt: ledger[$0.name]?.appliedAt) }
    }

    /// Names of files not yet applied.
    public func pending() async throws -> [String] {
        try await status().filter { $0.appliedAt == nil }.map(\.name)
    }
}
