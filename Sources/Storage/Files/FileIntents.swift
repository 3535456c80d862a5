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
/// noted file that no row names once its note is older than `ORPHAN_FILE_AGE`, and forgets the rest.
///
/// The note's row is also what keeps the sweeper from removing a file whose commit is merely slow.
/// The sweeper first *claims* a stale key (deletes its note, `claim`), and only then checks that no
/// row names it and removes the file; the transaction that makes a row name a key deletes the same
/// note (`forgetQuery`) and fails with `Reclaimed` when it is gone. PostgreSQL serialises the two
/// deletes, so either the row names the key first (and the sweeper sees it named) or the sweeper
/// claims it first (and no row ever names it). Before, the sweeper read the stale notes and removed
/// unnamed files without a claim: an upload whose commit took longer than the age (2 s in a test,
/// under the full suite's load) had its file removed a moment before its row named it, and the
/// client got 200 for a file that was gone.
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

    /// An expression for a statement wrapped as `changed` (`AuditLog.changed`) that notes the file
    /// key of each row it returns. A record's DELETE notes its file in the statement that deletes
    /// the row: the file is removed after the commit, and a crash in between leaves a noted key
    /// the sweeper removes, not an orphan that only `storage verify --repair` would find.
    static let notingChangedFiles =
        "noted AS (INSERT INTO audio_server.file_intents (key) SELECT \"file_key\" FROM changed WHERE \"file_key\" IS NOT NULL "
        + "ON CONFLICT (key) DO UPDATE SET noted_at = now())"

    /// The statement that forgets `key` inside the transaction whose row now names it. It returns
    /// the key when the note was there; no row means the sweeper claimed the key, and that
    /// transaction must not name it (`Reclaimed`).
    public static func forgetQuery(_ key: String) -> PostgresQuery {
        "DELETE FROM audio_server.file_intents WHERE key = \(key) RETURNING key"
    }

    /// A row was about to name a file whose note the sweeper had claimed: the file's commit took
    /// longer than `ORPHAN_FILE_AGE`, so the file is (being) removed as an orphan.
    public struct Reclaimed: Error, CustomStringConvertible {
        public let key: String
        public init(key: String) { self.key = key }
        public var description: String {
            "storing the file took longer than ORPHAN_FILE_AGE, and it was removed as an orphan before its record could name it (\(key))"
        }
    }

    /// Claims `key` for removal when it is still noted and its note is older than `age`: deletes the
    /// note, so that a commit still under way can no longer name it. Returns whether this call
    /// claimed it (false: its row named it meanwhile, or it was noted again).
    public func claim(_ key: String, olderThan age: Duration) async throws -> Bool {
        let rows = try await PreparedStatements.rows(
            """
            DELETE FROM audio_server.file_intents WHERE key = \(key) AND noted_at < now() - make_interval(secs => \(Self.seconds(age)))
            RETURNING key
            """, client: client, logger: logger)
        return !rows.isEmpty
    }

    /// Forgets `key` (its file was removed, or its row names it).
    public func forget(_ key: String) async throws {
        _ = try await PreparedStatements.rows(Self.forgetQuery(key), client: client, logger: logger)
    }

    /// Keys noted longer ago than `age`, oldest first, at most `limit`.
    public func stale(olderThan age: Duration, limit: Int = 500) async throws -> [String] {
        let rows = try await PreparedStatements.rows(
            """
            SELECT key FROM audio_server.file_intents WHERE noted_at < now() - make_interval(secs => \(Self.seconds(age)))
            ORDER BY noted_at LIMIT \(limit)
            """, client: client, logger: logger)
        return try rows.map { try $0.decode(String.self) }
    }

    static func seconds(_ age: Duration) -> Double {
        Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
    }
}
