import Foundation
import Logging
import PostgresNIO

/// One data-dependent statement checked by a dry run: the rows that would break it (none: it passes).
public struct DryRunCheck: Sendable, Equatable {
    public var file: String
    /// The step's summary from the file (its `--` comment), or the statement.
    public var step: String
    public var violations: RuleViolations
    public var passes: Bool { violations.count == 0 }
}

/// A statement that failed during a dry run for another reason than existing rows.
public struct DryRunFailure: Sendable, Equatable {
    public var file: String
    public var step: String
    public var message: String
}

/// What `migrate plan` learned from the database, without changing it.
public struct DryRunReport: Sendable, Equatable {
    /// Files dry-run, in order (pending files, then the migration not yet generated).
    public var files: [String]
    public var checks: [DryRunCheck]
    public var failures: [DryRunFailure]
    /// Whether applying these files now would succeed.
    public var wouldSucceed: Bool { failures.isEmpty && checks.allSatisfy(\.passes) }
}

extension MigrationRunner {
    /// Runs every pending file, then `extra` (migrations not written yet, as name and text), inside
    /// one transaction that is rolled back, counting before each data-dependent statement
    /// (`VALIDATE CONSTRAINT`, `ADD ... UNIQUE`, `SET NOT NULL`) the rows that would break it.
    /// A step that existing rows would break is skipped (rolled back to a savepoint), so the steps
    /// after it are still checked. Holds the migration lock, and the tables' locks until the rollback.
    public func dryRun(extra: [(name: String, text: String)] = []) async throws -> DryRunReport {
        let files = try directoryFiles()
        return try await withLock { connection in
            let ledger = try await readLedgerIfPresent(connection)
            try verify(files, against: ledger)
            let pending = files.filter { ledger[$0.name] == nil }.map { (name: $0.name, text: $0.text) } + extra
            var report = DryRunReport(files: pending.map(\.name), checks: [], failures: [])
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SET LOCAL lock_timeout = '10s'", logger: logger)
                for file in pending {
                    for group in stepGroups(of: file) {
                        try await dryRunStep(group, file: file.name, on: connection, report: &report)
                    }
                }
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            try await connection.query("ROLLBACK", logger: logger)
            return report
        }
    }

    private func dryRunStep(
        _ group: StepGroup, file: String, on connection: PostgresConnection,
        report: inout DryRunReport
    ) async throws {
        try await connection.query("SAVEPOINT audio_server_dry_run", logger: logger)
        var aborted = false
        var checked = false
        for statement in group.statements {
            let sql = statement.sql
            if let probe = statement.probe, let violations = try await probe.count(on: connection, logger: logger) {
                // A SET NOT NULL right after its own validated guard adds nothing to report when it passes.
                let isNotNull = if case .notNull = probe { true } else { false }
                if violations.count > 0 || !isNotNull || !checked {
                    report.checks.append(DryRunCheck(file: file, step: group.summary ?? sql, violations: violations))
                }
                checked = true
                if violations.count > 0 {
                    aborted = true
                    break
                }
            }
            do {
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            } catch {
                let message = (error as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
                report.failures.append(DryRunFailure(file: file, step: group.summary ?? sql, message: message))
                aborted = true
                break
            }
        }
        try await connection.query(
            PostgresQuery(
                unsafeSQL: aborted
                    ? "ROLLBACK TO SAVEPOINT audio_server_dry_run"
                    : "RELEASE SAVEPOINT audio_server_dry_run"), logger: logger)
    }

    /// Statements grouped into steps: a generated file starts each step with a `--` summary line.
    /// A file without such comments is treated statement by statement.
    struct StepGroup {
        var summary: String?
        var statements: [PlannedStatement]
    }

    /// A file's steps: from its manifest when it has one that matches its SQL (a generated file as
    /// generated), else read from the SQL (hand-written or edited files).
    func stepGroups(of file: (name: String, text: String)) -> [StepGroup] {
        if let manifest = directory.manifest(named: file.name, matching: file.text) {
            return manifest.steps.map { StepGroup(summary: $0.summary, statements: $0.statements) }
        }
        return Self.stepGroups(Self.statements(of: file.text))
    }

    /// The SQL reader: a generated file starts each step with a `--` summary line; a file without
    /// such comments is treated statement by statement. Data-dependent statements are recognised
    /// by their shape.
    static func stepGroups(_ statements: [String]) -> [StepGroup] {
        func planned(_ statement: String) -> PlannedStatement {
            let sql = SQLStatementSplitter.stripComments(statement)
            return PlannedStatement(sql, probe: DataProbe.recognise(sql))
        }
        let commented = statements.contains { !SQLStatementSplitter.leadingComments($0).isEmpty }
        guard commented else { return statements.map { StepGroup(summary: nil, statements: [planned($0)]) } }
        var groups: [StepGroup] = []
        for statement in statements {
            let comments = SQLStatementSplitter.leadingComments(statement)
            if comments.isEmpty, !groups.isEmpty {
                groups[groups.count - 1].statements.append(planned(statement))
            } else {
                groups.append(StepGroup(summary: comments.isEmpty ? nil : comments.joined(separator: " "), statements: [planned(statement)]))
            }
        }
        return groups
    }
}
