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

    private func dryRunStep(_ group: StepGroup, file: String, on connection: PostgresConnection,
                            report: inout DryRunReport) async throws {
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
                if violations.count > 0 { aborted = true; break }
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
        try await connection.query(PostgresQuery(unsafeSQL: aborted ? "ROLLBACK TO SAVEPOINT audio_server_dry_run"
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

/// A data-dependent statement of a migration, and how to count the rows that break it. Generated
/// steps say which of their statements are (`MigrationStep.planned`, kept in the manifest); the SQL
/// of a hand-written file is recognised by shape (`recognise`).
public enum DataProbe: Equatable, Sendable, Codable {
    /// `ALTER TABLE "t" VALIDATE CONSTRAINT "c"` (a CHECK added NOT VALID just before).
    case validate(table: String, constraint: String)
    /// `ALTER TABLE "t" ADD CONSTRAINT "c" UNIQUE (columns)`.
    case unique(table: String, constraint: String, columns: String)
    /// `ALTER TABLE "t" ALTER COLUMN "c" SET NOT NULL`.
    case notNull(table: String, column: String)

    /// The probe for a statement (without leading comments), nil when it is not data-dependent.
    static func recognise(_ sql: String) -> DataProbe? {
        let t = SQLTokens(sql)
        guard t.words(0, ["ALTER", "TABLE"]), let table = t.identifier(2) else { return nil }
        if t.count == 6, t.words(3, ["VALIDATE", "CONSTRAINT"]), let name = t.identifier(5) {
            return .validate(table: table, constraint: name)
        }
        if t.count >= 8, t.words(3, ["ADD", "CONSTRAINT"]), let name = t.identifier(5), t.words(6, ["UNIQUE"]),
           let columns = ViolationReport.uniqueColumn(named: name, in: [sql]) {
            return .unique(table: table, constraint: name, columns: columns)
        }
        if t.count == 9, t.words(3, ["ALTER", "COLUMN"]), let column = t.identifier(5), t.words(6, ["SET", "NOT", "NULL"]) {
            return .notNull(table: table, column: column)
        }
        return nil
    }

    /// Counts the rows that break the rule in the schema as it is now on `connection`; nil when
    /// the rule cannot be found (a VALIDATE of a constraint that does not exist).
    func count(on connection: PostgresConnection, logger: Logger) async throws -> RuleViolations? {
        switch self {
        case .validate(let table, let name):
            let rows = try await connection.query("""
                SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint
                WHERE conrelid = to_regclass(\(SQLText.identifier(table))) AND conname = \(name) AND contype = 'c'
                """, logger: logger)
            var expression: String?
            for try await e in rows.decode(String?.self) { expression = e }
            guard let expression else { return nil }
            return try await RuleViolations.count(table: table, rule: name, condition: "(\(expression)) IS FALSE",
                                                  on: connection, logger: logger)
        case .unique(let table, let name, let columns):
            let quoted = SQLText.identifier(table)
            let condition = "(\(columns)) IN (SELECT \(columns) FROM \(quoted) GROUP BY \(columns) HAVING count(*) > 1)"
            return try await RuleViolations.count(table: table, rule: name, condition: condition, on: connection, logger: logger)
        case .notNull(let table, let column):
            return try await RuleViolations.count(table: table, rule: "NOT NULL of \(column)",
                                                  condition: "\(SQLText.identifier(column)) IS NULL", on: connection, logger: logger)
        }
    }
}

/// Words, quoted identifiers and punctuation of a statement: enough to recognise the statement
/// shapes the generator writes.
struct SQLTokens {
    enum Token: Equatable {
        case word(String)
        case identifier(String)
        case symbol(Character)
    }

    let tokens: [Token]
    var count: Int { tokens.count }

    init(_ sql: String) {
        var out: [Token] = []
        let chars = Array(sql)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            if c == "\"" {
                var name = ""
                i += 1
                while i < chars.count {
                    if chars[i] == "\"" {
                        if i + 1 < chars.count && chars[i + 1] == "\"" { name.append("\""); i += 2; continue }
                        i += 1
                        break
                    }
                    name.append(chars[i]); i += 1
                }
                out.append(.identifier(name))
                continue
            }
            if c.isLetter || c == "_" {
                var word = ""
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { word.append(chars[i]); i += 1 }
                out.append(.word(word.uppercased()))
                continue
            }
            out.append(.symbol(c))
            i += 1
        }
        tokens = out
    }

    func words(_ at: Int, _ expected: [String]) -> Bool {
        guard at + expected.count <= tokens.count else { return false }
        return expected.enumerated().allSatisfy { tokens[at + $0.offset] == .word($0.element) }
    }

    func identifier(_ at: Int) -> String? {
        guard at < tokens.count, case .identifier(let name) = tokens[at] else { return nil }
        return name
    }
}
