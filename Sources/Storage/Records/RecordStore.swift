import Foundation
import KindModel
public import Logging
import PostgresNIO
public import Schema

/// A record as the API returns it: its JSON (UTF-8 bytes, the response body as is) and its version for ETags.
public struct StoredRecord: Sendable, Equatable {
    public var id: Int64
    public var json: [UInt8]
    /// Changes on every write of the row; the HTTP layer turns it into an ETag.
    public var version: String
}

/// Records of every kind in PostgreSQL. Every value is a bound parameter; every name is quoted.
public struct RecordStore: Sendable {
    public let client: any ConnectionSource
    /// The store's logger, as given.
    public let baseLogger: Logger
    /// What queries are handed: carries the request id at debug level (`RequestLogContext.tagged`).
    public var logger: Logger { RequestLogContext.tagged(baseLogger) }
    /// Concurrent GETs by id of one kind share a statement (`RoundTripSharing`); nil: each runs alone.
    let sharedGets: RoundTripSharing<Int64, StoredRecord?>?
    /// Concurrent creates of one kind and column set share a multi-row `INSERT`; nil: each runs alone.
    let sharedCreates: RoundTripSharing<PendingCreate, Result<StoredRecord, any Error>>?
    /// Concurrent list pages of one query shape share a statement; nil: each runs alone.
    let sharedPages: RoundTripSharing<PageRequest, Result<QueryPage, any Error>>?
    /// Refuses unindexed sorts of large tables; nil: none is refused.
    let fullScan: FullScanGuard?

    /// - Parameter sharing: how concurrent requests share round trips; `.off` runs each alone.
    /// - Parameter fullScan: when a list page whose order no index serves is refused (by default on
    ///   tables over 100,000 rows; `serve` passes what `LIST_SCAN_MAX_ROWS` says).
    public init(
        client: any ConnectionSource, logger: Logger, sharing: RoundTripLimits = .standard,
        fullScan: FullScanGuard? = FullScanGuard()
    ) {
        self.client = client
        self.baseLogger = logger
        self.fullScan = fullScan
        sharedGets = sharing.makeSharing()
        sharedCreates = sharing.makeSharing()
        sharedPages = sharing.makeSharing()
    }

    /// The record with `id`, or nil. Concurrent GETs of a kind share one `id = ANY($1)` statement.
    public func get(_ id: Int64, in queries: KindQueries) async throws -> StoredRecord? {
        guard let sharedGets else { return try await get(ids: [id], in: queries)[0] }
        return try await sharedGets.submit(id, lane: queries.selectByIDs) { ids in try await get(ids: ids, in: queries) }
    }

    /// The record of each id (nil where none), in the order of `ids`; one statement.
    func get(ids: [Int64], in queries: KindQueries) async throws -> [StoredRecord?] {
        var bindings = StatementBindings()
        if ids.count == 1 {
            bindings.append(ids[0])
            return [try await records(queries.selectByID, bindings, in: queries).first]
        }
        bindings.append(ids)
        var byID: [Int64: StoredRecord] = [:]
        for record in try await records(queries.selectByIDs, bindings, in: queries) { byID[record.id] = record }
        return ids.map { byID[$0] }
    }

    /// Deletes the record, when its version matches `ifMatch` (if given). The row goes first and the
    /// caller removes the returned file key after, so a crash never leaves a row naming a missing
    /// file; the same statement notes that key in `FileIntents`, so a crash before the file is
    /// removed leaves it to the orphan sweeper. The caller forgets the note once the file is gone.
    /// `audit`: who asked; the audit row (`delete`) is written by the same statement.
    public func delete(_ id: Int64, ifMatch: VersionGuard? = nil, in queries: KindQueries, audit: AuditActor? = nil) async throws -> DeleteOutcome {
        var bindings = PostgresBindings()
        bindings.append(id)
        if let ifMatch { bindings.append(ifMatch.tags) }
        var sql = ifMatch == nil ? queries.deleteByID : queries.deleteByIDIfVersion
        if let audit {
            sql = AuditLog.wrapping(sql, firstParameter: ifMatch == nil ? 2 : 3, also: [FileIntents.notingChangedFiles])
            AuditLog.bind(.delete, kind: queries.kind.name, actor: audit, into: &bindings)
        } else {
            sql = AuditLog.changed(sql, effects: [FileIntents.notingChangedFiles])
        }
        for row in try await allRows(PostgresQuery(unsafeSQL: sql, binds: bindings)) {
            return .deleted(fileKey: try row.decode((String?, Int64).self).0)
        }
        guard ifMatch != nil, let current = try await get(id, in: queries) else { return .notFound }
        return .stale(current: current.version)
    }

    /// nil when the database answers `SELECT 1` within `timeout`, else why not. Bounded because the
    /// pool keeps retrying a refused connection for a long time: `/healthz` and startup must not hang.
    public func ping(timeout: Duration = .seconds(2)) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    _ = try await client.lease { try await $0.query("SELECT 1", logger: logger) }
                    return nil
                } catch {
                    return StorageError.unavailability(of: error) ?? ConnectFailure.explain(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return "no answer within \(timeout)"
            }
            let first = await group.next() ?? "no answer"
            group.cancelAll()
            return first
        }
    }

    // MARK: helpers

    /// Every row of an unprepared statement, on a connection leased for just this call (see
    /// `PreparedStatements.rows` for why not `PostgresClient.query`).
    func allRows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await PreparedStatements.rows(query, client: client, logger: logger)
    }

    /// Runs a statement whose rows start with `queries.recordColumns` and renders them;
    /// `prepared: false` for rare shapes that should not take one of the prepared slots.
    func records(_ sql: String, _ bindings: StatementBindings, in queries: KindQueries, prepared: Bool = true) async throws -> [StoredRecord] {
        try await rows(sql, bindings, in: queries, prepared: prepared).map(queries.renderer.render)
    }

    /// The rows of a statement on `queries`' table, with PostgreSQL's client errors (constraint
    /// violations, values it cannot read) turned into `StorageError`s.
    func rows(_ sql: String, _ bindings: StatementBindings, in queries: KindQueries, prepared: Bool = true) async throws -> [PostgresRow] {
        do {
            return try await PreparedStatements.rows(sql, bindings, prepare: prepared, client: client, logger: logger)
        } catch {
            guard let mapped = StorageError.from(error, kind: queries.kind.name, owners: queries.constraintOwners) else { throw error }
            if case .tooLargeForDatabase(let kind, _, let index?, let message) = mapped {
                throw StorageError.tooLargeForDatabase(
                    kind: kind, fields: await indexedFields(index, in: queries), index: index, message: message)
            }
            throw mapped
        }
    }

    /// The kind's fields that the index `name` holds, from PostgreSQL's catalog: for a value too
    /// large for an index (rare, so one more query then costs nothing that matters), which may be
    /// one no kind declares. Empty when they cannot be read.
    func indexedFields(_ name: String, in queries: KindQueries) async -> [String] {
        var bindings = PostgresBindings()
        bindings.append(SQLText.identifier(name))
        let sql = """
            SELECT a.attname::text FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
            WHERE x.indexrelid = to_regclass($1) ORDER BY array_position(x.indkey::int2[], a.attnum)
            """
        guard let rows = try? await allRows(PostgresQuery(unsafeSQL: sql, binds: bindings)) else { return [] }
        return rows.compactMap { try? $0.decode(String.self) }.filter { queries.kind.field(named: $0) != nil }
    }

    /// Appends a validated value with the type its placeholder expects (`FieldDefinition.placeholder`):
    /// dates and datetimes as text cast in SQL, everything else as the column's own type.
    static func bind(_ value: FieldValue, as field: FieldDefinition, into bindings: inout StatementBindings) {
        switch value {
        case .null: bindings.appendNull(field.bindingType)
        case .string(let s), .date(let s), .datetime(let s): bindings.append(s)
        case .integer(let i): bindings.append(i)
        case .number(let d): bindings.append(d)
        case .boolean(let b): bindings.append(b)
        case .list(let items):
            // The item type comes from the field, not the items: an empty list still needs the right array type.
            switch field.valueType {
            case .integer: bindings.append(items.compactMap { if case .integer(let v) = $0 { v } else { nil } })
            case .number: bindings.append(items.compactMap { if case .number(let v) = $0 { v } else { nil } })
            case .boolean: bindings.append(items.compactMap { if case .boolean(let v) = $0 { v } else { nil } })
            case .string, .text, .enum, .date, .datetime, .list:  // (.list: never an item type; the linter refuses lists of lists)
                bindings.append(
                    items.compactMap { item -> String? in
                        switch item {
                        case .string(let s), .date(let s), .datetime(let s): s
                        default: nil
                        }
                    })
            }
        }
    }
}
