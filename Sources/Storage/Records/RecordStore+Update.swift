public import KindModel
import PostgresNIO
import Schema

/// How a conditional update ended.
public enum UpdateOutcome: Sendable, Equatable {
    case updated(StoredRecord)
    case notFound
    /// `If-Match` named another version; `current` is the record's version now.
    case stale(current: String)
}

/// How a conditional delete ended.
public enum DeleteOutcome: Sendable, Equatable {
    /// The row is gone; `fileKey` is its stored file, for the caller to remove.
    case deleted(fileKey: String?)
    case notFound
    case stale(current: String)
}

/// How attaching an uploaded file to its record ended.
public enum AttachOutcome: Sendable, Equatable {
    /// `replacedKey` is the file the record named before, for the caller to remove.
    case attached(StoredRecord, replacedKey: String?)
    case notFound
    case stale(current: String)
}

/// The `If-Match` tags a write is conditional on (`*` or none: unconditional).
public struct VersionGuard: Sendable, Equatable {
    public var tags: [String]

    /// nil when the header was absent or is `*` (any existing record matches).
    public init?(_ tags: [String]?) {
        guard let tags, !tags.contains("*") else { return nil }
        self.tags = tags
    }

    /// Whether `version` is one of the tags.
    public func accepts(_ version: String) -> Bool { tags.contains(version) }
}

extension RecordStore {
    /// Writes the given fields. With `ifMatch`, only when the record's version is one of them (or `*`):
    /// the check and the write are one statement, so two editors cannot both win.
    /// `audit`: who asked; the audit row (`update`) is written by the same statement.
    public func update(
        _ id: Int64, with record: ValidatedRecord, ifMatch: VersionGuard?, in queries: KindQueries, audit: AuditActor? = nil
    ) async throws -> UpdateOutcome {
        var bindings = StatementBindings()
        bindings.append(id)
        var sets: [String] = []
        for (field, value) in record.values {
            RecordStore.bind(value, as: field, into: &bindings)
            sets.append("\(SQLText.identifier(field.name)) = \(field.placeholder(bindings.count))")
        }
        sets.append("\"updated_at\" = greatest(clock_timestamp(), \"updated_at\" + interval '1 microsecond')")
        var condition = "\"id\" = $1"
        if let ifMatch {
            bindings.append(ifMatch.tags)
            condition += " AND \(KindQueries.version) = ANY($\(bindings.count))"
        }
        var sql = "UPDATE \(queries.table) AS t SET \(sets.joined(separator: ", ")) WHERE \(condition) RETURNING \(queries.recordColumns)"
        if let audit {
            sql = AuditLog.wrapping(sql, firstParameter: bindings.count + 1)
            AuditLog.bind(.update, kind: queries.kind.name, actor: audit, into: &bindings)
        }
        if let stored = try await records(sql, bindings, in: queries, prepared: false).first {
            return .updated(stored)
        }
        guard let current = try await get(id, in: queries) else { return .notFound }
        return .stale(current: current.version)
    }
}
