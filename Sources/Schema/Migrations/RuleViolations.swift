import Foundation
import Logging
import PostgresNIO

/// Rows that break a rule: how many, and the ids of the first few.
public struct RuleViolations: Sendable, Equatable, CustomStringConvertible {
    public var table: String
    /// The constraint (or `NOT NULL` of a column) that the rows break.
    public var rule: String
    public var count: Int64
    /// Up to five ids, smallest first.
    public var sampleIDs: [Int64]

    public init(table: String, rule: String, count: Int64, sampleIDs: [Int64]) {
        self.table = table
        self.rule = rule
        self.count = count
        self.sampleIDs = sampleIDs
    }

    public var description: String {
        let ids = sampleIDs.map(String.init).joined(separator: ", ")
        return "\(count) existing row\(count == 1 ? "" : "s") of \(table) break\(count == 1 ? "s" : "") \(rule)"
            + (ids.isEmpty ? "" : ", e.g. id \(ids)\(count > Int64(sampleIDs.count) ? ", ..." : "")")
            + "; fix or delete them, then apply again"
    }

    /// Counts the rows of `table` matching `condition` (SQL), with a few ids.
    static func count(
        table: String, rule: String, condition: String, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> RuleViolations {
        let quoted = SQLText.identifier(table)
        let sql =
            "SELECT count(*)::bigint, array(SELECT id::bigint FROM \(quoted) WHERE \(condition) ORDER BY id LIMIT 5) FROM \(quoted) WHERE \(condition)"
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await (count, ids) in rows.decode((Int64, [Int64]).self) {
            return RuleViolations(table: table, rule: rule, count: count, sampleIDs: ids)
        }
        return RuleViolations(table: table, rule: rule, count: 0, sampleIDs: [])
    }
}

/// After a new rule fails on existing rows, counts the rows that break it and names a few, so the
/// person applying the migration knows what to fix. Runs after the rollback, on the old schema.
enum ViolationReport {
    static func describe(
        error: PSQLError, statements: [String], on connection: PostgresConnection,
        logger: Logger
    ) async throws -> RuleViolations? {
        guard let info = error.serverInfo, let code = PostgresError.Code(of: error), let table = info[.tableName] else { return nil }
        let quotedTable = SQLText.identifier(table)
        let condition: String
        let rule: String
        switch code {
        case .notNullViolation:
            guard let column = info[.columnName] else { return nil }
            condition = "\(SQLText.identifier(column)) IS NULL"
            rule = "NOT NULL of \(column)"
        case .checkViolation:  // find the CHECK text in the file's ADD CONSTRAINT statement
            guard let name = info[.constraintName],
                let check = checkExpression(named: name, in: statements)
            else { return nil }
            condition = "(\(check)) IS FALSE"
            rule = name
        case .uniqueViolation:  // rows whose value appears more than once
            guard let name = info[.constraintName], let column = uniqueColumn(named: name, in: statements) else { return nil }
            condition = "\(column) IN (SELECT \(column) FROM \(quotedTable) GROUP BY \(column) HAVING count(*) > 1)"
            rule = name
        default:
            return nil
        }
        return try await RuleViolations.count(table: table, rule: rule, condition: condition, on: connection, logger: logger)
    }

    /// `expr` of `ADD CONSTRAINT "name" CHECK (expr) [NOT VALID]` in the migration's statements.
    static func checkExpression(named name: String, in statements: [String]) -> String? {
        let marker = "ADD CONSTRAINT \(SQLText.identifier(name)) CHECK "
        for statement in statements {
            guard let range = statement.range(of: marker) else { continue }
            var expr = String(statement[range.upperBound...]).trimmingWhitespace()
            if expr.hasSuffix(" NOT VALID") { expr.removeLast(" NOT VALID".count) }
            return expr
        }
        return nil
    }

    /// The column list of `ADD CONSTRAINT "name" UNIQUE (cols)`.
    static func uniqueColumn(named name: String, in statements: [String]) -> String? {
        let marker = "ADD CONSTRAINT \(SQLText.identifier(name)) UNIQUE ("
        for statement in statements {
            guard let range = statement.range(of: marker), let close = statement[range.upperBound...].firstIndex(of: ")") else { continue }
            return String(statement[range.upperBound..<close])
        }
        return nil
    }
}
