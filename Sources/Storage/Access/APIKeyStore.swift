public import Foundation
public import KindModel
public import Logging
import PostgresNIO
public import Schema

/// Why a key could not be made or revoked.
public enum APIKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A working key already has this name.
    case nameTaken(String)
    /// No working key has this id or name.
    case notFound(String)

    /// What the command line prints (the HTTP API answers with its own problems).
    public var description: String {
        switch self {
        case .nameTaken(let name):
            "a working key is already named '\(name)': pick another name, or revoke that key first (`audio-server keys revoke \(name)`)"
        case .notFound(let idOrName):
            "no working key has id or name '\(idOrName)' (it may be revoked already); `audio-server keys list` shows the keys"
        }
    }
}

/// API keys in `audio_server.api_keys`. Secrets are never stored: only their SHA-256.
public struct APIKeyStore: Sendable {
    public let client: any ConnectionSource
    public let logger: Logger

    /// The channel servers sharing a database hear key changes on (`KeyDirectory`).
    public static let channel = "\(ServerSchema.name)_keys"

    public init(client: any ConnectionSource, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let infoColumns = """
        id, name, scopes, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), revoked_at IS NOT NULL
        """

    static func info(_ row: PostgresRow) throws -> APIKeyInfo {
        let (id, name, scopes, created, expires, used, revoked) = try row.decode((Int64, String, [String], String, String?, String?, Bool).self)
        return APIKeyInfo(id: id, name: name, scopes: scopes, createdAt: created, expiresAt: expires, lastUsedAt: used, revoked: revoked)
    }

    /// Makes a key and returns it with its secret, which exists only in this return value.
    /// `actor`: who asked (audited as `key_create`, in the same transaction); nil from the CLI.
    public func create(name: String, scopes: [Scope], expiresAt: Date?, actor: AuditActor?) async throws -> (key: APIKeyInfo, secret: String) {
        let secret = APIKeySecret.generate()
        let hash = APIKeySecret.hash(Substring(secret)).bytes
        let scopeText = scopes.map(\.description)
        let expires = expiresAt?.timeIntervalSince1970
        do {
            return try await client.lease { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    let rows = try await connection.query(
                        """
                        INSERT INTO \(unescaped: ServerSchema.apiKeys) (name, secret_sha256, scopes, expires_at)
                        VALUES (\(name), \(Data(hash)), \(scopeText), to_timestamp(\(expires)::float8))
                        RETURNING \(unescaped: Self.infoColumns)
                        """, logger: logger)
                    var made: APIKeyInfo?
                    for try await row in rows { made = try Self.info(row) }
                    guard let made else { throw APIKeyError.notFound(name) }
                    if let actor { try await Self.audit(.keyCreate, keyID: made.id, actor: actor, on: connection, logger: logger) }
                    return (made, secret)
                }
            }
        } catch {
            if Self.cause(of: error).flatMap({ PostgresError.Code(of: $0) }) == .uniqueViolation { throw APIKeyError.nameTaken(name) }
            throw Self.unwrapped(error)
        }
    }

    /// The error a transaction's body threw (PostgresNIO wraps it in `PostgresTransactionError`).
    static func unwrapped(_ error: any Error) -> any Error {
        (error as? PostgresTransactionError)?.closureError ?? error
    }

    static func cause(of error: any Error) -> PSQLError? { unwrapped(error) as? PSQLError }

    /// Every key, newest first (revoked ones too, marked).
    public func list() async throws -> [APIKeyInfo] {
        try await PreparedStatements.rows(
            PostgresQuery(unsafeSQL: "SELECT \(Self.infoColumns) FROM \(ServerSchema.apiKeys) ORDER BY id DESC"),
            client: client, logger: logger
        ).map(Self.info)
    }

    /// Revokes the working key with this id (digits) or name; servers sharing the database are told
    /// at commit (`NOTIFY`), so it stops working everywhere at once.
    public func revoke(_ idOrName: String, actor: AuditActor?) async throws -> APIKeyInfo {
        let id = Int64(idOrName)
        do {
            return try await revoke(id: id, idOrName: idOrName, actor: actor)
        } catch {
            throw Self.unwrapped(error)
        }
    }

    private func revoke(id: Int64?, idOrName: String, actor: AuditActor?) async throws -> APIKeyInfo {
        try await client.lease { connection in
            try await connection.withTransaction(logger: logger) { connection in
                let rows = try await connection.query(
                    """
                    UPDATE \(unescaped: ServerSchema.apiKeys) SET revoked_at = now()
                    WHERE revoked_at IS NULL AND (id = \(id)::bigint OR (\(id)::bigint IS NULL AND name = \(idOrName)))
                    RETURNING \(unescaped: Self.infoColumns)
                    """, logger: logger)
                var revoked: APIKeyInfo?
                for try await row in rows { revoked = try Self.info(row) }
                guard let revoked else { throw APIKeyError.notFound(idOrName) }
                if let actor { try await Self.audit(.keyRevoke, keyID: revoked.id, actor: actor, on: connection, logger: logger) }
                try await connection.query("SELECT pg_notify(\(Self.channel), \("revoke:\(revoked.id)"))", logger: logger)
                return revoked
            }
        }
    }

    private static func audit(_ action: AuditAction, keyID: Int64, actor: AuditActor, on connection: PostgresConnection, logger: Logger) async throws
    {
        try await connection.query(
            """
            INSERT INTO \(unescaped: ServerSchema.audit) (action, record_id, key_id, key_name, request_id, client)
            VALUES (\(action.rawValue), \(keyID), \(actor.keyID), \(actor.keyName), \(actor.requestID), \(actor.client))
            """, logger: logger)
    }

    static let activeColumns = "id, name, scopes, extract(epoch FROM expires_at)::float8, secret_sha256"

    static func active(_ row: PostgresRow) throws -> ActiveKey {
        let (id, name, scopes, expires, hash) = try row.decode((Int64, String, [String], Double?, Data).self)
        return ActiveKey(id: id, name: name, scopes: ScopeSet(scopes.compactMap(Scope.init)), expiresAt: expires, secretHash: SecretHash(hash))
    }

    /// Every key that is not revoked (expired ones too: they get their own 401).
    public func allActive() async throws -> [ActiveKey] {
        try await PreparedStatements.rows(
            PostgresQuery(unsafeSQL: "SELECT \(Self.activeColumns) FROM \(ServerSchema.apiKeys) WHERE revoked_at IS NULL"),
            client: client, logger: logger
        ).map(Self.active)
    }

    /// The working key whose secret hashes to `hash`, if any.
    public func active(hash: SecretHash) async throws -> ActiveKey? {
        var bindings = PostgresBindings()
        try bindings.append(Data(hash.bytes))
        let sql = "SELECT \(Self.activeColumns) FROM \(ServerSchema.apiKeys) WHERE secret_sha256 = $1 AND revoked_at IS NULL"
        return try await PreparedStatements.rows(PostgresQuery(unsafeSQL: sql, binds: bindings), client: client, logger: logger).first.map(
            Self.active)
    }

    /// Records when these keys were last used (key id → milliseconds since 1970; batched by
    /// `KeyDirectory`, not per request). An older time never replaces a newer one another server wrote.
    public func touch(_ usage: [Int64: Int64]) async throws {
        guard !usage.isEmpty else { return }
        let ids = Array(usage.keys)
        let millis = ids.map { usage[$0]! }
        _ = try await client.lease { connection in
            try await connection.query(
                """
                UPDATE \(unescaped: ServerSchema.apiKeys) AS k SET last_used_at = greatest(k.last_used_at, to_timestamp(u.ms / 1000.0))
                FROM unnest(\(ids)::bigint[], \(millis)::bigint[]) AS u(id, ms) WHERE k.id = u.id
                """, logger: logger)
        }
    }
}
