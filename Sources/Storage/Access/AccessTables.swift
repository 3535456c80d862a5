public import Logging
import PostgresNIO
public import Schema

/// The server's own tables for API keys, the audit trail and resumable uploads
/// (`UploadSessionStore`), in schema `audio_server` beside the
/// migration ledger. They are not kinds, so they are not in `kinds/` migrations: every command
/// that needs them (`serve`, `keys`, `audit`) creates what is missing, idempotently, under one
/// advisory lock so that servers starting together do not race.
public enum AccessTables {
    static let statements =
        [
            ServerSchema.create,
            """
            CREATE TABLE IF NOT EXISTS \(ServerSchema.apiKeys) (
                id bigserial PRIMARY KEY,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                secret_sha256 bytea NOT NULL UNIQUE,
                scopes text[] NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz,
                last_used_at timestamptz,
                revoked_at timestamptz
            )
            """,
            // A name names one working key at a time; a revoked key's name may be used again.
            "CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON \(ServerSchema.apiKeys) (name) WHERE revoked_at IS NULL",
            """
            CREATE TABLE IF NOT EXISTS \(ServerSchema.audit) (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT clock_timestamp(),
                key_id bigint,
                key_name text,
                action text NOT NULL,
                kind text,
                record_id bigint,
                request_id text,
                client text
            )
            """,
        ] + UploadSessionStore.statements + FileIntents.statements

    /// Arbitrary, fixed: the advisory lock id that serialises the statements above.
    static let lockID: Int64 = 0x61_75_64_69_6F_6B_65_79

    /// Creates the tables when missing.
    public static func ensure(on client: any ConnectionSource, logger: Logger) async throws {
        try await client.lease { connection in
            try await connection.query("SELECT pg_advisory_lock(\(lockID))", logger: logger)
            do {
                for sql in statements { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockID))", logger: logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(lockID))", logger: logger)
        }
    }
}
