public import PostgresNIO

/// The SQLSTATEs the server acts on, named by PostgresNIO's `PostgresError.Code` (never written
/// as digit strings), and the classes some decisions go by.
extension PostgresError.Code {
    /// The two-character class: `23` integrity, `22` data, `40` rollback, `08` connection,
    /// `28` authorization, `57` operator intervention.
    public var sqlClass: String { String(raw.prefix(2)) }

    public static let integrityClass = "23"
    public static let dataExceptionClass = "22"
    public static let transactionRollbackClass = "40"
    public static let connectionExceptionClass = "08"
    public static let authorizationClass = "28"

    /// The code of a PostgreSQL error (nil for errors that did not come from the server).
    public init?(of error: PSQLError) {
        guard let state = error.serverInfo?[.sqlState] else { return nil }
        self.init(raw: state)
    }
}
