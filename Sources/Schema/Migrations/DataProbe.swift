import Foundation
import Logging
import PostgresNIO

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
            let columns = ViolationReport.uniqueColumn(named: name, in: [sql])
        {
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
            let rows = try await connection.query(
                """
                SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint
                WHERE conrelid = to_regclass(\(SQLText.identifier(table))) AND conname = \(name) AND contype = 'c'
                """, logger: logger)
            var expression: String?
            for try await e in rows.decode(String?.self) { expression = e }
            guard let expression else { return nil }
            return try await RuleViolations.count(
                table: table, rule: name, condition: "(\(expression)) IS FALSE",
                on: connection, logger: logger)
        case .unique(let table, let name, let columns):
            let quoted = SQLText.identifier(table)
            let condition = "(\(columns)) IN (SELECT \(columns) FROM \(quoted) GROUP BY \(columns) HAVING count(*) > 1)"
            return try await RuleViolations.count(table: table, rule: name, condition: condition, on: connection, logger: logger)
        case .notNull(let table, let column):
            return try await RuleViolations.count(
                table: table, rule: "NOT NULL of \(column)",
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
            if c.isWhitespace {
                i += 1
                continue
            }
            if c == "\"" {
                var name = ""
                i += 1
                while i < chars.count {
                    if chars[i] == "\"" {
                        if i + 1 < chars.count && chars[i + 1] == "\"" {
                            name.append("\"")
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    name.append(chars[i])
                    i += 1
                }
                out.append(.identifier(name))
                continue
            }
            if c.isLetter || c == "_" {
                var word = ""
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" {
                    word.append(chars[i])
                    i += 1
                }
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
