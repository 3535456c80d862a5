import PostgresNIO

/// Failures of the record store that a client can cause, typed so the HTTP layer can map each to a
/// precise status without parsing messages (the PostgresNIO way: typed errors, not strings).
public enum StorageError: Error, Sendable, Equatable {
    /// A UNIQUE constraint refused the value of `field`.
    case uniqueViolation(kind: String, field: String)
    /// A CHECK or NOT NULL constraint refused the row (validation should have caught it first).
    case constraintViolation(kind: String, constraint: String)

    /// Maps a PostgreSQL error to a client error when it is one; nil for everything else (a 5xx).
    static func from(_ error: any Error, kind: String) -> StorageError? {
        guard let psql = error as? PSQLError, let info = psql.serverInfo, let state = info[.sqlState] else { return nil }
        let constraint = info[.constraintName] ?? info[.columnName] ?? "unknown"
        switch state {
        case "23505":
            let field = constraint.hasPrefix(kind + "_") && constraint.hasSuffix("_unique")
                ? String(constraint.dropFirst(kind.count + 1).dropLast("_unique".count)) : constraint
            return .uniqueViolation(kind: kind, field: field)
        case "23514", "23502":
            return .constraintViolation(kind: kind, constraint: constraint)
        default:
            return nil
        }
    }
}
