import Foundation
import Logging
import PostgresNIO

/// Why applying migrations stopped. Nothing of the failing file stays applied.
public enum MigrationError: Error, Sendable, CustomStringConvertible {
    /// An applied file's bytes changed since it was applied.
    case edited(file: String, applied: String, now: String)
    /// The ledger records a file that is not in `migrations/`.
    case missing(file: String)
    /// A file is pending although a later file is already applied (a file was added to the
    /// middle of the sequence, e.g. by merging two branches that both generated a migration).
    case outOfOrder(file: String, laterApplied: String)
    /// A statement failed; the file's transaction was rolled back. `violations` counts the rows
    /// that break the new rule when the failure was a constraint check.
    case statementFailed(file: String, statement: String, message: String, detail: String?, violations: RuleViolations?)
    case directory(MigrationDirectoryError)

    public var description: String {
        switch self {
        case .edited(let file, let applied, let now):
            "\(file) was edited after it was applied (checksum \(applied.prefix(12))… in the database, \(now.prefix(12))… on disk); restore the applied version and put the change in a new migration"
        case .missing(let file):
            "\(file) is recorded as applied but is missing from migrations/; restore it"
        case .outOfOrder(let file, let later):
            "\(file) is not applied, but the later \(later) is: migrations apply in sequence only; delete \(file) (and its .kinds.json) and run `migrate generate` again so the change comes after \(later)"
        case .statementFailed(let file, let statement, let message, let detail, _):
            "\(file) failed and was rolled back completely: \(message)\(detail.map { "\n  \($0)" } ?? "")\n  in: \(statement.prefix(300))"
        case .directory(let e): e.description
        }
    }
}
