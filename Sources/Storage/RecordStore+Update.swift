import KindModel
import PostgresNIO
import Schema

/// How a conditional update ended.
public enum UpdateOutcome: Sendable, Equatable {
    case updated(StoredRecord)
    case notFound
    /// `If-Match` named another version; `current` is the record's version now.
    case stale(current: String)
}

extension RecordStore {
    /// Writes the given fields. With `ifMatch`, only when the record's version is one of them (or `*`):
    /// the check and the write are one statement, so two editors cannot both win.
    public func update(_ id: Int64, with record: ValidatedRecord, ifMatch: [String]?, in queries: KindQueries) async throws -> UpdateOutcome {
        var bindings = StatementBindings()
        bindings.append(id)
        var sets: [String] = []
        for (field, value) in record.values {
            RecordStore.bind(value, as: field, into: &bindings)
            sets.append("\(SQLText.identifier(field.name)) = \(KindQueries.placeholder(bindings.count, for: field))")
        }
        sets.append("\"updated_at\" = greatest(clock_timestamp(), \"updated_at\" + interval '1 microsecond')")
        var condition = "\"id\" = $1"
        if let tags = ifMatch, !tags.contains("*") {
            bindings.append(tags)
            condition += " AND \(KindQueries.versionExpression("\"updated_at\"")) = ANY($\(bindings.count))"
        }
        let sql = "UPDATE \(queries.table) AS t SET \(sets.joined(separator: ", ")) WHERE \(condition) RETURNING \(queries.recordColumns)"
        if let stored = try await records(sql, bindings, in: queries, prepared: false).first {
            return .updated(stored)
        }
        guard let current = try await get(id, in: queries) else { return .notFound }
        return .stale(current: current.version)
    }
}
