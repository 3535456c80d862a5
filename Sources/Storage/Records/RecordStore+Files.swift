import Foundation
import KindModel
import PostgresNIO
import Schema

extension RecordStore {
    /// Whether the record exists, the value of `field` as a number when asked for (the duration an
    /// upload is compared with), and its version (for `If-Match` before the body is read).
    public func uploadTarget(_ id: Int64, numericField field: String?, in queries: KindQueries) async throws -> UploadTarget {
        var bindings = PostgresBindings()
        bindings.append(id)
        let column = field.map { "\(SQLText.identifier($0))::double precision" } ?? "NULL::double precision"
        let sql = "SELECT \(column), \(KindQueries.version) FROM \(queries.table) WHERE \"id\" = $1"
        for row in try await allRows(PostgresQuery(unsafeSQL: sql, binds: bindings)) {
            let (value, version) = try row.decode((Double?, String).self)
            return .record(declaredDuration: value, version: version)
        }
        return .noRecord
    }

    /// Points the record at a newly committed file, in one transaction that locks the row (and
    /// checks its version against `ifMatch` under that lock), and returns the updated record and
    /// the key of the file it replaced (for the caller to delete).
    /// `audit`: who asked; the audit row (`upload`) is written by the same statement.
    public func attachFile(
        _ id: Int64, file: StoredFile, key: String, ifMatch: VersionGuard? = nil,
        in queries: KindQueries, audit: AuditActor? = nil, endingUpload upload: String? = nil
    ) async throws -> AttachOutcome {
        do {
            return try await attachFileInTransaction(id, file: file, key: key, ifMatch: ifMatch, in: queries, audit: audit, endingUpload: upload)
        } catch let transaction as PostgresTransactionError {
            // PostgresNIO wraps what the transaction's body threw; a reclaimed key is the caller's to handle.
            if let reclaimed = transaction.closureError as? FileIntents.Reclaimed { throw reclaimed }
            throw transaction
        }
    }

    private func attachFileInTransaction(
        _ id: Int64, file: StoredFile, key: String, ifMatch: VersionGuard?, in queries: KindQueries, audit: AuditActor?,
        endingUpload upload: String?
    ) async throws -> AttachOutcome {
        try await client.lease {
            try await $0.withTransaction(logger: logger) { connection in
                var lockBindings = PostgresBindings()
                lockBindings.append(id)
                let lockSQL = "SELECT \"file_key\", \(KindQueries.version) FROM \(queries.table) WHERE \"id\" = $1 FOR UPDATE"
                let lock = try await connection.query(PostgresQuery(unsafeSQL: lockSQL, binds: lockBindings), logger: logger)
                var found: (oldKey: String?, version: String)?
                for try await (oldKey, version) in lock.decode((String?, String).self) { found = (oldKey, version) }
                guard let found else { return .notFound }
                if let ifMatch, !ifMatch.accepts(found.version) { return .stale(current: found.version) }
                // In the same transaction: the new file is named from now on, the old one is not
                // (noted until it is removed, so a crash before that leaves it to the sweeper).
                // The new key's note must still be there: gone, the sweeper has claimed the file.
                var stillNoted = false
                for try await _ in try await connection.query(FileIntents.forgetQuery(key), logger: logger) { stillNoted = true }
                guard stillNoted else { throw FileIntents.Reclaimed(key: key) }
                if let oldKey = found.oldKey, oldKey != key { try await connection.query(FileIntents.noteQuery(oldKey), logger: logger) }
                var bindings = PostgresBindings()
                bindings.append(id)
                bindings.append(JSONWriter.string(file.json))
                bindings.append(key)
                var sql =
                    "UPDATE \(queries.table) AS t SET \"file\" = $2::json, \"file_key\" = $3, \"uploaded_time\" = now(), \"updated_at\" = greatest(clock_timestamp(), \"updated_at\" + interval '1 microsecond') WHERE \"id\" = $1 RETURNING \(queries.recordColumns)"
                if let audit {
                    sql = AuditLog.wrapping(sql, firstParameter: 4)
                    AuditLog.bind(.upload, kind: queries.kind.name, actor: audit, into: &bindings)
                }
                let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
                var attached: StoredRecord?
                for try await row in rows where attached == nil { attached = try queries.renderer.render(row) }
                guard let attached else { return .notFound }
                // A resumable upload ends, complete, with the commit that gives its record the file.
                if let upload { try await connection.query(UploadSessionStore.completionQuery(upload, length: file.size), logger: logger) }
                return .attached(attached, replacedKey: found.oldKey)
            }
        }
    }

    /// The record's file, or nil when the record or its file does not exist (`exists` tells which).
    public func fileInfo(_ id: Int64, in queries: KindQueries) async throws -> FileLookup {
        var bindings = PostgresBindings()
        bindings.append(id)
        let sql = """
            SELECT "file_key", ("file"->>'size')::bigint, "file"->>'sha256', "file"->>'content_type', "file"->>'original_name'
            FROM \(queries.table) WHERE "id" = $1
            """
        for row in try await allRows(PostgresQuery(unsafeSQL: sql, binds: bindings)) {
            let (key, size, sha, type, name) = try row.decode((String?, Int64?, String?, String?, String?).self)
            guard let key, let size, let sha, let type else { return .noFile }
            return .file(StoredFileInfo(key: key, size: size, sha256: sha, contentType: type, originalName: name))
        }
        return .noRecord
    }

    /// Every (kind, id, key, size, sha256) of stored files, for `storage verify`.
    public func allFiles(in queries: KindQueries) async throws -> [(id: Int64, key: String, size: Int64, sha256: String)] {
        let sql =
            "SELECT \"id\", \"file_key\", (\"file\"->>'size')::bigint, \"file\"->>'sha256' FROM \(queries.table) WHERE \"file_key\" IS NOT NULL ORDER BY \"id\""
        return try await allRows(PostgresQuery(unsafeSQL: sql)).map { try $0.decode((Int64, String, Int64, String).self) }
    }
}
