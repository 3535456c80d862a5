/// The PostgreSQL schema that holds the server's own tables and functions, away from kind tables
/// in `public` (a kind may be called `migrations` or `audit`). Named once; every statement that
/// touches it interpolates these.
public enum ServerSchema {
    public static let name = "audio_server"
    public static let create = "CREATE SCHEMA IF NOT EXISTS \(name)"
    /// The migration ledger (`MigrationRunner`).
    public static let migrations = "\(name).migrations"
    /// API keys and the audit trail (`AccessTables`).
    public static let apiKeys = "\(name).api_keys"
    public static let audit = "\(name).audit"
}
