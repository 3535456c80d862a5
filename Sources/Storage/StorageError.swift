import PostgresNIO

/// Failures of the record store that a client can cause, typed so the HTTP layer can map each to a
/// precise status without parsing messages (the PostgresNIO way: typed errors, not strings).
public enum StorageError: Error, Sendable, Equatable {
    /// A UNIQUE constraint refused the value of `field`.
    case uniqueViolation(kind: String, field: String)
    /// A CHECK or NOT NULL constraint refused the row (validation should have caught it first).
    case constraintViolation(kind: String, constraint: String)
    /// PostgreSQL could not read a value sent as text as its column's type (SQLSTATE class 22):
    /// in a list query only a tampered cursor gets that far, since filters are checked first.
    case invalidValue(message: String)
    /// A list sorted by `field` that no index serves, on a table of about `estimatedRows` rows,
    /// more than `FullScanGuard` lets a page scan; `indexedSorts` are the sort keys that are served.
    case sortNeedsIndex(kind: String, field: String, descending: Bool, estimatedRows: Int64, indexedSorts: [String])

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
        case _ where state.hasPrefix("22"):
            return .invalidValue(message: info[.message] ?? "invalid value (SQLSTATE \(state))")
        default:
            return nil
        }
    }

    /// Why the database is unreachable, when `error` says so (the HTTP layer answers 503, not 500):
    /// a refused or lost connection, a server shutting down or out of connection slots, or the
    /// pool giving up on creating connections.
    public static func unavailability(of error: any Error) -> String? {
        if let unavailable = error as? DatabaseUnavailable { return unavailable.reason }
        if let transaction = error as? PostgresTransactionError,
           let cause = transaction.beginError ?? transaction.closureError ?? transaction.commitError {
            return unavailability(of: cause)
        }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed, .clientClosedConnection,
                 .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError, .sslUnsupported:
                return ConnectFailure.explain(psql)
            case .server:
                guard let state = psql.serverInfo?[.sqlState] else { return nil }
                // 08: connection exception; 57P01–57P03: shutting down / cannot connect now; 53300: too many
                // connections; 28: authentication refused; 3D000: the database does not exist (dropped, renamed).
                if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" || state.hasPrefix("28") || state == "3D000" {
                    return ConnectFailure.explain(psql)
                }
                return nil
            default:
                return nil
            }
        }
        // PostgresNIO's pool reports through `ConnectionPoolError` of its underscored
        // `_ConnectionPoolModule`; matched by name rather than depending on that unstable module.
        if String(describing: type(of: error)) == "ConnectionPoolError" {
            return "no database connection could be made (\(error))"
        }
        return nil
    }
}
