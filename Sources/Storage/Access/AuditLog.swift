import Foundation
public import Logging
import PostgresNIO
public import Schema

/// Who made a change, as the audit trail records it.
public struct AuditActor: Sendable, Equatable {
    /// nil for anonymous (a lockout).
    public var keyID: Int64?
    public var keyName: String?
    /// The request's `X-Request-Id`.
    public var requestID: String
    /// The client's address (`TRUSTED_PROXIES` decides whether `X-Forwarded-For` counts).
    public var client: String

    public init(keyID: Int64?, keyName: String?, requestID: String, client: String) {
        self.keyID = keyID
        self.keyName = keyName
        self.requestID = requestID
        self.client = client
    }
}

/// What an audit row says happened.
public enum AuditAction: String, Sendable, CaseIterable {
    case create, update, delete, upload
    case keyCreate = "key_create"
    case keyRevoke = "key_revoke"
    case lockout
}

/// One row of the audit trail, as `GET /api/audit` lists it.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    /// RFC 3339 UTC with microseconds.
    public var at: String
    public var keyID: Int64?
    public var keyName: String?
    public var action: String
    public var kind: String?
    /// The record's id; for `key_create` and `key_revoke`, the id of the key made or revoked.
    public var recordID: Int64?
    public var requestID: String?
    public var client: String?
}

/// Filters of `GET /api/audit` / `audio-server audit`.
public struct AuditFilter: Sendable, Equatable {
    public var kind: String?
    public var recordID: Int64?
    public var keyID: Int64?
    public var action: AuditAction?
    /// Keyset paging: only rows older than this id.
    public var before: Int64?
    public var limit: Int

    public init(kind: String? = nil, recordID: Int64? = nil, keyID: Int64? = nil, action: AuditAction? = nil, before: Int64? = nil, limit: Int = 50) {
        self.kind = kind
        self.recordID = recordID
        self.keyID = keyID
        self.action = action
        self.before = before
        self.limit = limit
    }
}

/// The audit trail: rows are appended by the statement that makes the change (`wrapping`), so a
/// change and its row commit together or not at all, in the same round trip.
public struct AuditLog: Sendable {
    public let client: any ConnectionSource
    public let logger: Logger

    public init(client: any ConnectionSource, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "action, kind, record_id, key_id, key_name, request_id, client"

    /// `sql` (a data-changing statement whose RETURNING includes `"id"`) with an audit row appended
    /// for each row it returns, in the same statement. The actor and kind are bound as parameters
    /// `$first…$first+5`; the statement still returns exactly what `sql` returned. `also`: more
    /// common table expressions on `changed` to run in the same statement (`FileIntents.notingChangedFiles`).
    static func wrapping(_ sql: String, firstParameter n: Int, also: [String] = []) -> String {
        let audited =
            "audited AS (INSERT INTO \(ServerSchema.audit) (\(columns)) "
            + "SELECT $\(n)::text, $\(n + 1)::text, changed.\"id\", $\(n + 2)::bigint, $\(n + 3)::text, $\(n + 4)::text, $\(n + 5)::text FROM changed)"
        return changed(sql, effects: [audited] + also)
    }

    /// `sql` as the common table expression `changed`, with `effects` (more expressions reading
    /// `changed`) run by the same statement, which returns exactly what `sql` returned.
    static func changed(_ sql: String, effects: [String]) -> String {
        "WITH changed AS (\(sql)), \(effects.joined(separator: ", ")) SELECT * FROM changed"
    }

    /// A multi-row insert (`RecordStore`'s shared creates) with one audit row per record: `$2` is
    /// `actorsJSON` of the batch's actors in batch order and `$3` the kind. Ids are taken in batch
    /// order, so the n-th smallest id is the n-th record's.
    static func wrappingBatch(_ sql: String) -> String {
        "WITH changed AS (\(sql)), numbered AS (SELECT \"id\", row_number() OVER (ORDER BY \"id\") AS n FROM changed), "
            + "audited AS (INSERT INTO \(ServerSchema.audit) (\(columns)) "
            + "SELECT 'create', $3::text, numbered.\"id\", a.key_id, a.key_name, a.request_id, a.client FROM numbered "
            + "JOIN json_to_recordset($2::json) AS a(n bigint, key_id bigint, key_name text, request_id text, client text) ON a.n = numbered.n) "
            + "SELECT * FROM changed"
    }

    /// The actors of a batch as a JSON array for `wrappingBatch`, each with its position `n` (from 1).
    static func actorsJSON(_ actors: [AuditActor?]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, actor) in actors.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: "{\"n\":\(i + 1),\"key_id\":".utf8)
            if let id = actor?.keyID { CellJSON.writeInteger(id, &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(contentsOf: ",\"key_name\":".utf8)
            if let name = actor?.keyName { CellJSON.writeString(name.utf8, into: &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(contentsOf: ",\"request_id\":".utf8)
            CellJSON.writeString((actor?.requestID ?? "").utf8, into: &out)
            out.append(contentsOf: ",\"client\":".utf8)
            CellJSON.writeString((actor?.client ?? "").utf8, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Binds what `wrapping` expects, in its order.
    static func bind(_ action: AuditAction, kind: String?, actor: AuditActor, into bindings: inout StatementBindings) {
        bindings.append(action.rawValue)
        if let kind { bindings.append(kind) } else { bindings.appendNull(.text) }
        if let id = actor.keyID { bindings.append(id) } else { bindings.appendNull(.int8) }
        if let name = actor.keyName { bindings.append(name) } else { bindings.appendNull(.text) }
        bindings.append(actor.requestID)
        bindings.append(actor.client)
    }

    static func bind(_ action: AuditAction, kind: String?, actor: AuditActor, into bindings: inout PostgresBindings) {
        bindings.append(action.rawValue)
        bindings.append(kind)
        bindings.append(actor.keyID)
        bindings.append(actor.keyName)
        bindings.append(actor.requestID)
        bindings.append(actor.client)
    }

    /// Appends one row on its own (a lockout, which changes nothing else).
    public func append(_ action: AuditAction, kind: String? = nil, recordID: Int64? = nil, actor: AuditActor) async throws {
        _ = try await client.lease { connection in
            try await connection.query(
                """
                INSERT INTO \(unescaped: ServerSchema.audit) (action, kind, record_id, key_id, key_name, request_id, client)
                VALUES (\(action.rawValue), \(kind), \(recordID), \(actor.keyID), \(actor.keyName), \(actor.requestID), \(actor.client))
                """, logger: logger)
        }
    }

    /// Rows newest first, at most `filter.limit`.
    public func list(_ filter: AuditFilter) async throws -> [AuditEntry] {
        var bindings = PostgresBindings()
        var conditions: [String] = []
        func add<T: PostgresNonThrowingEncodable & Sendable>(_ column: String, _ value: T?) {
            guard let value else { return }
            bindings.append(value)
            conditions.append("\(column) = $\(bindings.count)")
        }
        add("kind", filter.kind)
        add("record_id", filter.recordID)
        add("key_id", filter.keyID)
        add("action", filter.action?.rawValue)
        if let before = filter.before {
            bindings.append(before)
            conditions.append("id < $\(bindings.count)")
        }
        bindings.append(Int64(filter.limit))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), key_id, key_name, action, kind, record_id, request_id, client
            FROM \(ServerSchema.audit) \(whereClause) ORDER BY id DESC LIMIT $\(bindings.count)
            """
        return try await PreparedStatements.rows(PostgresQuery(unsafeSQL: sql, binds: bindings), client: client, logger: logger).map { row in
            let (id, at, keyID, keyName, action, kind, recordID, requestID, clientAddress) =
                try row.decode((Int64, String, Int64?, String?, String, String?, Int64?, String?, String?).self)
            return AuditEntry(
                id: id, at: at, keyID: keyID, keyName: keyName, action: action, kind: kind,
                recordID: recordID, requestID: requestID, client: clientAddress)
        }
    }
}
