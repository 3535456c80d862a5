public import KindModel
import PostgresNIO
import Schema

extension RecordStore {
    /// Inserts a validated record and returns it as stored (with defaults, id and timestamps).
    ///
    /// Concurrent creates of a kind that set the same fields share one `INSERT … SELECT` from
    /// `json_populate_recordset` (`RoundTripSharing`). When PostgreSQL rejects such a batch for a
    /// value (a unique or check constraint, a value it cannot read) or aborts it in a deadlock with
    /// another batch, each of its records is inserted again alone, so every request gets the answer
    /// it would have had alone and a bad record never fails its neighbours.
    ///
    /// `audit`: who asked; the audit row (`create`) is written by the same statement.
    public func create(_ record: ValidatedRecord, in queries: KindQueries, audit: AuditActor? = nil) async throws -> StoredRecord {
        let pending = PendingCreate(record: record, actor: audit)
        guard let sharedCreates, !record.values.isEmpty, Self.approximateSize(record) <= Self.sharedCreateSizeLimit else {
            return try await insert(pending, in: queries)
        }
        let columns = Self.columns(of: record)
        let lane = "\(queries.table) (\(columns))" + (audit == nil ? "" : " audited")
        let result = try await sharedCreates.submit(pending, lane: lane) { batch in
            try await insert(batch, columns: columns, in: queries)
        }
        return try result.get()
    }

    /// Records larger than this (as JSON, roughly) are inserted alone: a batch's JSON is one more copy
    /// of its records in memory, and this keeps that copy under `maxBatch` × 16 KiB.
    static let sharedCreateSizeLimit = 16 * 1024

    /// About how many bytes the record's values take as JSON.
    static func approximateSize(_ record: ValidatedRecord) -> Int {
        func size(_ value: FieldValue) -> Int {
            switch value {
            case .string(let s), .date(let s), .datetime(let s): s.utf8.count + 2
            case .list(let items): items.reduce(2) { $0 + size($1) + 1 }
            case .null, .integer, .number, .boolean: 24
            }
        }
        return record.values.reduce(2) { $0 + $1.field.name.utf8.count + 4 + size($1.value) }
    }

    /// The quoted columns a record sets, in the kind's order: records with the same ones share a lane.
    static func columns(of record: ValidatedRecord) -> String {
        record.values.map { SQLText.identifier($0.field.name) }.joined(separator: ", ")
    }

    /// One record, one `INSERT … VALUES` (with its audit row when it has an actor).
    func insert(_ pending: PendingCreate, in queries: KindQueries) async throws -> StoredRecord {
        let record = pending.record
        var bindings = StatementBindings()
        var placeholders: [String] = []
        for (field, value) in record.values {
            placeholders.append(field.placeholder(placeholders.count + 1))
            Self.bind(value, as: field, into: &bindings)
        }
        let values = placeholders.isEmpty ? "DEFAULT VALUES" : "(\(Self.columns(of: record))) VALUES (\(placeholders.joined(separator: ", ")))"
        var sql = "\(queries.insertPrefix) \(values) RETURNING \(queries.recordColumns)"
        if let actor = pending.actor {
            sql = AuditLog.wrapping(sql, firstParameter: bindings.count + 1)
            AuditLog.bind(.create, kind: queries.kind.name, actor: actor, into: &bindings)
        }
        return try await records(sql, bindings, in: queries).first!
    }

    /// Records that all set `columns` (quoted, in the kind's order), in one statement when there are
    /// several; one result per record, in order.
    /// Every record of a batch has an actor or none has (they share a lane only then).
    func insert(_ batch: [PendingCreate], columns: String, in queries: KindQueries) async throws -> [Result<StoredRecord, any Error>] {
        guard batch.count > 1 else { return await eachAlone(batch) { try await insert($0, in: queries) } }
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(batch.count * 160)
        for (i, pending) in batch.enumerated() {
            if i > 0 { json.append(UInt8(ascii: ",")) }
            Self.writeJSON(pending.record, into: &json)
        }
        json.append(UInt8(ascii: "]"))
        var bindings = StatementBindings()
        bindings.append(String(decoding: json, as: UTF8.self))
        let selected = batch[0].record.values.map { "r.\(SQLText.identifier($0.field.name))" }.joined(separator: ", ")
        // WITH ORDINALITY … ORDER BY: rows go in (and take their ids) in the batch's order.
        var sql =
            "\(queries.insertPrefix) (\(columns)) SELECT \(selected) FROM json_populate_recordset(NULL::\(queries.table), $1::json)"
            + " WITH ORDINALITY AS r ORDER BY r.ordinality RETURNING \(queries.recordColumns)"
        if batch[0].actor != nil {
            sql = AuditLog.wrappingBatch(sql)
            bindings.append(AuditLog.actorsJSON(batch.map(\.actor)))
            bindings.append(queries.kind.name)
        }
        let stored: [StoredRecord]
        do {
            stored = try await records(sql, bindings, in: queries)
        } catch let error where error is StorageError || Self.isRolledBackByConflict(error) {
            return await eachAlone(batch) { try await insert($0, in: queries) }
        }
        // Ids come from the sequence in insertion order, so sorting by id restores the batch's order.
        return stored.sorted { $0.id < $1.id }.map { .success($0) }
    }

    /// A deadlock or serialization failure (SQLSTATE class 40). Two multi-row inserts can deadlock
    /// where single-row ones cannot: batch A inserts unique values x then y while batch B inserts y
    /// then x, and each waits for the other's uncommitted row. PostgreSQL then aborts one of them;
    /// its records are retried alone, like a batch rejected for a value.
    static func isRolledBackByConflict(_ error: any Error) -> Bool {
        (error as? PSQLError).flatMap { PostgresError.Code(of: $0) }?.sqlClass == PostgresError.Code.transactionRollbackClass
    }

    /// The record as a JSON object of its set fields, for `json_populate_recordset`: PostgreSQL reads
    /// each value with its column type's input function, as it reads the text the single-record
    /// `INSERT` binds (numbers print with the shortest round-trip digits, so they read back equal).
    static func writeJSON(_ record: ValidatedRecord, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, (field, value)) in record.values.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            CellJSON.writeString(field.name.utf8, into: &out)
            out.append(UInt8(ascii: ":"))
            writeJSON(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func writeJSON(_ value: FieldValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .string(let s), .date(let s), .datetime(let s): CellJSON.writeString(s.utf8, into: &out)
        case .integer(let i): CellJSON.writeInteger(i, &out)
        case .number(let d): CellJSON.writeDouble(d, into: &out)
        case .boolean(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .list(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeJSON(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }
}

/// A create waiting for its round trip: the record and who asked (nil: not audited).
struct PendingCreate: Sendable {
    var record: ValidatedRecord
    var actor: AuditActor?
}
