import PostgresNIO
public import Schema

/// Failures of the record store that a client can cause, typed so the HTTP layer can map each to a
/// precise status without parsing messages (the PostgresNIO way: typed errors, not strings).
public enum StorageError: Error, Sendable, Equatable {
    /// A UNIQUE constraint refused the value of `field`.
    case uniqueViolation(kind: String, field: String)
    /// A CHECK or NOT NULL constraint refused the row (validation should have caught it first).
    case constraintViolation(kind: String, constraint: String)
    /// A named constraint the kind's rules made refused a value: the field and rule it enforces,
    /// found from the definitions that made it (`KindQueries.constraintOwners`), not cut out of
    /// its name (PostgreSQL shortens long names).
    case ruleViolation(kind: String, field: String, rule: ConstraintRule)
    /// PostgreSQL could not read a value sent as text as its column's type (SQLSTATE class 22):
    /// in a list query only a tampered cursor gets that far, since filters are checked first.
    case invalidValue(message: String)
    /// PostgreSQL refused a value as larger than one of its limits (SQLSTATE 54000,
    /// program_limit_exceeded): typically an index entry over the b-tree's 2,704 bytes, on an index
    /// the linter did not vet (made by hand, or by an older engine). `fields` are the kind's fields
    /// that index holds (`RecordStore.indexedFields`), empty when none is known.
    case tooLargeForDatabase(kind: String, fields: [String], index: String?, message: String)
    /// A list sorted by `field` that no index serves, on a table of about `estimatedRows` rows,
    /// more than `FullScanGuard` lets a page scan; `indexedSorts` are the sort keys that are served,
    /// `advice` the kind change that would serve it (`BrowseAdvice`) or to sort by a browsing field.
    case sortNeedsIndex(kind: String, field: String, descending: Bool, estimatedRows: Int64, indexedSorts: [String], advice: String)
    /// PostgreSQL stopped the statement when it ran past the server's `STATEMENT_TIMEOUT` (SQLSTATE
    /// 57014; the server sends no cancel requests of its own, so that is the only cause). A read
    /// that long scanned what no index serves; a write that long waited on a lock.
    case statementTimeout(kind: String)

    /// Maps a PostgreSQL error to a client error when it is one; nil for everything else (a 5xx).
    /// - Parameter owners: constraint name → the field and rule it enforces (`KindQueries.constraintOwners`).
    static func from(_ error: any Error, kind: String, owners: [String: ConstraintOwner] = [:]) -> StorageError? {
        guard let psql = error as? PSQLError, let info = psql.serverInfo, let code = PostgresError.Code(of: psql) else { return nil }
        let constraint = info[.constraintName] ?? info[.columnName] ?? "unknown"
        switch code {
        case .uniqueViolation:
            return .uniqueViolation(kind: kind, field: owners[constraint]?.field ?? constraint)
        case .checkViolation, .notNullViolation:
            if let owner = owners[constraint] { return .ruleViolation(kind: kind, field: owner.field, rule: owner.rule) }
            return .constraintViolation(kind: kind, constraint: constraint)
        case .queryCanceled:
            return .statementTimeout(kind: kind)
        case .programLimitExceeded:
            // PostgreSQL names the index in the constraint field (`errtableconstraint`).
            // Its columns are looked up then (`RecordStore.indexedFields`): the index may be one no kind declares.
            return .tooLargeForDatabase(kind: kind, fields: [], index: info[.constraintName], message: info[.message] ?? "SQLSTATE \(code.raw)")
        case _ where code.sqlClass == PostgresError.Code.dataExceptionClass:
            return .invalidValue(message: info[.message] ?? "invalid value (SQLSTATE \(code.raw))")
        default:
            return nil
        }
    }

    /// Whether `error` is PostgreSQL stopping a statement at the server's `STATEMENT_TIMEOUT`
    /// (SQLSTATE 57014), on a statement that is not a record's (those become `statementTimeout`):
    /// a key lookup, an upload session, an audit read behind a lock or on an overloaded database.
    public static func isStatementTimeout(_ error: any Error) -> Bool {
        if let transaction = error as? PostgresTransactionError, let cause = transaction.closureError ?? transaction.commitError {
            return isStatementTimeout(cause)
        }
        guard let psql = error as? PSQLError, psql.code == .server else { return false }
        return PostgresError.Code(of: psql) == .queryCanceled
    }

    /// Why the database is unreachable, when `error` says so (the HTTP layer answers 503, not 500):
    /// a refused or lost connection, a server shutting down or out of connection slots, or the
    /// pool giving up on creating connections.
    public static func unavailability(of error: any Error) -> String? {
        if let unavailable = error as? DatabaseUnavailable { return unavailable.reason }
        if let transaction = error as? PostgresTransactionError,
            let cause = transaction.beginError ?? transaction.closureError ?? transaction.commitError
        {
            return unavailability(of: cause)
        }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed, .clientClosedConnection,
                .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError, .sslUnsupported:
                return ConnectFailure.explain(psql)
            case .server:
                guard let code = PostgresError.Code(of: psql) else { return nil }
                // Connection exceptions; shutting down / cannot connect now; too many connections;
                // authentication refused; the database does not exist (dropped, renamed).
                let unreachable: [PostgresError.Code] = [
                    .adminShutdown, .crashShutdown, .cannotConnectNow, .databaseDropped, .tooManyConnections, .invalidCatalogName,
                ]
                if unreachable.contains(code)
                    || [PostgresError.Code.connectionExceptionClass, PostgresError.Code.authorizationClass].contains(code.sqlClass)
                {
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

/// The field and rule a named constraint enforces.
public struct ConstraintOwner: Sendable, Equatable {
    public var field: String
    public var rule: ConstraintRule
}
