public import Logging
public import PostgresNIO
public import Schema

/// Keys of stored files that a crash could leave without a row: a new file from before it is
/// committed (renamed into place or uploaded to object storage) until the row that names it has
/// committed, and a replaced file from the transaction that replaces it until it is removed.
///
/// Why: a file is committed before its row may name it (never a row without its file), so a server
/// killed between the two leaves a file no row names; `scripts/lb-e2e.sh` found one in the bucket
/// after a SIGKILL. Each such key is noted here first; the sweeper (`AudioAPI.sweepOrphanFiles`) removes a
/// noted file that no row names once it is older than any commit can take, and forgets the rest.
public struct FileIntents: Sendable {
    public let client: any ConnectionSource
    public let logger: Logger

    public init(client: any ConnectionSource, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The table, created by `AccessTables.ensure` with the server's other tables.
    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS audio_server.file_intents (
            key text PRIMARY KEY,
            noted_at timestamptz NOT NULL DEFAULT now()
        )
        """
    ]

    /// Notes `key` before its file is committed.
    public func note(_ key: String) async throws {
        _ = try await PreparedStatements.rows(Self.noteQuery(key), client: client, logger: logger)
    }

    /// The statement that notes `key` inside a transaction that makes it unnamed (a replace).
    public static func noteQuery(_ key: String) -> PostgresQuery {
        "INSERT INTO audio_server.file_intents (key) VALUES (\(key)) ON CONFLICT (key) DO UPDATE SET noted_at = now()"
    }

    /// The statement that forgets `key` inside the transaction whose row now names it.
    public static func forgetQuery(_ key: String) -> PostgresQuery {
        "DELETE FROM audio_server.file_intents WHERE key = \(key)"
    }

    /// Forgets `key` (its file was removed, or its row names it).
    public func forget(_ key: String) async throws {
        _ = try await PreparedStatements.rows(Self.forgetQuery(key), client: client, logger: logger)
    }

    /// Keys noted longer ago than `age`, oldest first, at most `limit`.
    public func stale(olderThan age: Duration, limit: Int = 500) async throws -> [String] {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let rows = try await PreparedStatements.rows(
            """
            SELECT key FROM audio_server.file_intents WHERE noted_at < now() - make_interval(secs => \(seconds))
            ORDER BY noted_at LIMIT \(limit)
            """, client: client, logger: logger)
        return try rows.map { try $0.decode(String.self) }
    }
}
