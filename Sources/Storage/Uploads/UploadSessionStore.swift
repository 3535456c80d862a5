public import Crypto
public import Foundation
import KindModel
public import Logging
import PostgresNIO
public import Schema
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A resumable upload in progress (tus), as its row in `audio_server.upload_sessions` says.
public struct UploadSession: Sendable, Equatable {
    /// The unguessable token in the session's URL (256 random bits, base64url).
    public var id: String
    public var kind: String
    public var recordID: Int64
    /// The file's declared length (`Upload-Length`); no byte beyond it is accepted. Nil until
    /// known (an IETF-draft upload may learn it only from the request that completes it).
    public var length: Int64?
    /// Bytes received, fsynced and acknowledged (`Upload-Offset`).
    public var offset: Int64
    /// `Upload-Metadata` as the client sent it (echoed by HEAD).
    public var metadata: String?
    /// The client's file name (`filename` in the metadata), cleaned like a multipart file name.
    public var originalName: String?
    /// When the session and its data are removed.
    public var expiresAt: Date
    /// The key that created it.
    public var keyID: Int64?
    /// Whether `expiresAt` has passed (by PostgreSQL's clock, the one every server shares).
    public var expired: Bool
    /// Where the acknowledged bytes live when they are kept in object storage (a multipart upload
    /// and a small tail object, `ObjectUploadStaging`); nil when they are in the local `dataPath`.
    public var object: ObjectUploadState? = nil
}

/// What a claim on a session (the right to append at an offset) found.
public enum UploadClaim: Sendable {
    /// This request may append; `token` identifies the claim until it is released.
    case claimed(UploadSession, token: UUID)
    case notFound
    case expired
    /// The offset sent is not the session's: the client must ask (HEAD) and resume from `current`.
    case offsetMismatch(current: Int64)
    /// Another request is appending to this session now.
    case busy
    /// The session's record is gone (deleted behind the API's back): the session must end (a
    /// completed upload's is forgotten already).
    case recordGone
    /// The upload is complete: its file is its record's (`CompletedUpload`).
    case completed(CompletedUpload)
}

/// A resumable upload that completed: its file became its record's, and its URL answers "complete,
/// at this offset" until the session would have expired (`Upload-Expires`), so that a client whose
/// completing request's answer was lost (a cut connection, a crash after the commit) learns from
/// HEAD that it is done instead of being told the upload is unknown (tus 1.0: HEAD includes the
/// offset "even if … the upload is already considered completed"; the IETF draft's upload resource
/// likewise answers `Upload-Complete: ?1`). Written in the transaction that attaches the file.
public struct CompletedUpload: Sendable, Equatable {
    public var id: String
    public var kind: String
    public var recordID: Int64
    /// The file's length: the final `Upload-Offset` (and `Upload-Length`).
    public var length: Int64
    /// `Upload-Metadata` as the client sent it.
    public var metadata: String?
    /// When the URL stops answering (the session's own expiry).
    public var expiresAt: Date
}

/// The record an append's URL names: the session must be this record's, and the record must
/// still exist (`table`: its kind's table, quoted).
public struct AppendTarget: Sendable {
    var kind: String
    var recordID: Int64
    var table: String
    public init(recordID: Int64, in queries: KindQueries) {
        self.kind = queries.kind.name
        self.recordID = recordID
        self.table = queries.table
    }
}

/// Resumable upload sessions: rows in `audio_server.upload_sessions` (the truth every server
/// sharing the database reads) and partial data in `STORAGE_DIR/uploads/<id>.part` or, with
/// object storage, in the bucket (`ObjectUploadStaging`: multipart parts and a tail object, named
/// in the row, so a server with another local disk can continue the upload).
///
/// An append claims the session with a compare-and-set on its offset (one of two concurrent
/// appends wins, the other gets `busy` or `offsetMismatch`), writes, fsyncs (or stores the bytes
/// in the bucket), and only then stores the new offset: an offset the server acknowledged is durable. A claim is a lease of
/// `claimLease`, renewed while bytes flow, so a server killed mid-append blocks its session for
/// at most that long. Bytes after the acknowledged offset (an append cut by a crash) are cut off
/// by the next append.
public struct UploadSessionStore: Sendable {
    public let client: any ConnectionSource
    public let logger: Logger
    public let files: FileStore
    /// With object storage: new sessions keep their bytes there, and ending a session removes them.
    public let objects: ObjectFileStore?

    /// How long a claim holds without being renewed.
    public static let claimLease: Duration = .seconds(20)
    /// How often an append in progress renews its claim.
    public static let claimRenewal: Duration = .seconds(5)

    /// The SHA-256 state of each session's acknowledged bytes, kept by the server that appended
    /// them (process-wide: tokens are unique), so completing an upload does not read the whole
    /// file again. A miss (another server appended last, or a restart) falls back to that read.
    static let runningHashes = Mutex([String: (offset: Int64, state: SHA256)]())
    static let maxRunningHashes = 4096

    /// The state of `id`'s first `offset` bytes: a fresh one at 0, else what this process kept
    /// (taken: the caller puts back what is true after its append).
    public static func takeRunningHash(_ id: String, offset: Int64) -> SHA256? {
        let kept = runningHashes.withLock { $0.removeValue(forKey: id) }
        if offset == 0 { return SHA256() }
        guard let kept, kept.offset == offset else { return nil }
        return kept.state
    }

    /// Keeps `state` as the hash of `id`'s first `offset` bytes.
    public static func keepRunningHash(_ id: String, offset: Int64, state: SHA256?) {
        guard let state else { return }
        runningHashes.withLock { hashes in
            if hashes.count >= maxRunningHashes, let any = hashes.keys.first { hashes.removeValue(forKey: any) }
            hashes[id] = (offset, state)
        }
    }

    public init(client: any ConnectionSource, logger: Logger, files: FileStore, objects: ObjectFileStore? = nil) {
        self.client = client
        self.logger = logger
        self.files = files
        self.objects = objects
    }

    /// Where new sessions keep their bytes: in object storage when the server has one.
    public var staging: ObjectUploadStaging? { objects.map { ObjectUploadStaging(store: $0, files: files) } }

    /// The table, created by `AccessTables.ensure` with the server's other tables.
    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS audio_server.upload_sessions (
            id text PRIMARY KEY CHECK (length(id) BETWEEN 16 AND 64),
            kind text NOT NULL,
            record_id bigint NOT NULL,
            upload_length bigint CHECK (upload_length >= 0),
            upload_offset bigint NOT NULL DEFAULT 0,
            metadata text,
            original_name text,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            key_id bigint,
            claim uuid,
            claimed_until timestamptz,
            CHECK (upload_offset >= 0 AND (upload_length IS NULL OR upload_offset <= upload_length))
        )
        """,
        "CREATE INDEX IF NOT EXISTS upload_sessions_expires ON audio_server.upload_sessions (expires_at)",
        "CREATE INDEX IF NOT EXISTS upload_sessions_record ON audio_server.upload_sessions (kind, record_id)",
        // A table made before the IETF draft's uploads (tus only) required the length; the draft
        // may learn it last. Once, when the column is still NOT NULL (CREATE … IF NOT EXISTS
        // does not change an existing table).
        """
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'audio_server'
                       AND table_name = 'upload_sessions' AND column_name = 'upload_length' AND is_nullable = 'NO') THEN
                ALTER TABLE audio_server.upload_sessions ALTER COLUMN upload_length DROP NOT NULL;
                ALTER TABLE audio_server.upload_sessions DROP CONSTRAINT IF EXISTS upload_sessions_upload_length_check;
                ALTER TABLE audio_server.upload_sessions DROP CONSTRAINT IF EXISTS upload_sessions_check;
                ALTER TABLE audio_server.upload_sessions ADD CONSTRAINT upload_sessions_upload_length_check CHECK (upload_length >= 0);
                ALTER TABLE audio_server.upload_sessions ADD CONSTRAINT upload_sessions_check
                    CHECK (upload_offset >= 0 AND (upload_length IS NULL OR upload_offset <= upload_length));
            END IF;
        END $$
        """,
        // Sessions whose bytes live in object storage (`ObjectUploadState`); NULL parts: on disk.
        "ALTER TABLE audio_server.upload_sessions ADD COLUMN IF NOT EXISTS object_key text",
        "ALTER TABLE audio_server.upload_sessions ADD COLUMN IF NOT EXISTS object_upload_id text",
        "ALTER TABLE audio_server.upload_sessions ADD COLUMN IF NOT EXISTS object_part_etags text[]",
        "ALTER TABLE audio_server.upload_sessions ADD COLUMN IF NOT EXISTS object_part_sizes bigint[]",
        "ALTER TABLE audio_server.upload_sessions ADD COLUMN IF NOT EXISTS object_tail_key text",
        // Set when the session ended (terminated, completed, refused, expired, its record deleted)
        // but its bytes may not be removed yet: clients no longer see it, and the row goes once
        // they are (`end`).
        "ALTER TABLE audio_server.upload_sessions ADD COLUMN IF NOT EXISTS ended_at timestamptz",
        // Completed uploads, until their sessions would have expired (`CompletedUpload`).
        """
        CREATE TABLE IF NOT EXISTS audio_server.completed_uploads (
            id text PRIMARY KEY,
            kind text NOT NULL,
            record_id bigint NOT NULL,
            upload_length bigint NOT NULL CHECK (upload_length >= 0),
            metadata text,
            expires_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS completed_uploads_expires ON audio_server.completed_uploads (expires_at)",
        "CREATE INDEX IF NOT EXISTS completed_uploads_record ON audio_server.completed_uploads (kind, record_id)",
    ]

    static let columns = """
        id, kind, record_id, upload_length, upload_offset, metadata, original_name,
        extract(epoch FROM expires_at)::float8, key_id, expires_at <= now(),
        object_key, object_upload_id, object_part_etags, object_part_sizes, object_tail_key
        """

    static func session(_ row: PostgresRow) throws -> UploadSession {
        let (id, kind, recordID, length, offset, metadata, name, expires, keyID, expired, key, uploadID, etags, sizes, tail) =
            try row.decode(
                (String, String, Int64, Int64?, Int64, String?, String?, Double, Int64?, Bool, String?, String?, [String]?, [Int64]?, String?).self)
        var session = UploadSession(
            id: id, kind: kind, recordID: recordID, length: length, offset: offset, metadata: metadata,
            originalName: name, expiresAt: Date(timeIntervalSince1970: expires), keyID: keyID, expired: expired)
        if let etags, let sizes, etags.count == sizes.count {
            session.object = ObjectUploadState(
                key: key, uploadID: uploadID, parts: zip(etags, sizes).map { ObjectUploadState.Part(etag: $0, size: $1) }, tailKey: tail)
        }
        return session
    }

    public var directory: String { files.root + "/uploads" }

    /// Where a session's partial data lives.
    public func dataPath(_ id: String) -> String { directory + "/\(id).part" }

    /// A new session token: 32 random bytes, base64url (43 characters).
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Makes a session and its empty data file (with object storage: no local file; its bytes go
    /// to the bucket as they are acknowledged, `ObjectUploadStaging`).
    /// `id`: a token already announced to the client (an IETF draft 104), else a new one.
    public func create(
        id announced: String? = nil, kind: String, recordID: Int64, length: Int64?, metadata: String?, originalName: String?,
        expiresIn: Duration, keyID: Int64?
    ) async throws -> UploadSession {
        let id = announced ?? Self.newToken()
        let inObjectStorage = objects != nil
        if !inObjectStorage {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let fd = open(dataPath(id), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw FileStoreError.system("cannot create \(dataPath(id))") }
            close(fd)
            FileStore.fsyncDirectory(directory)
        }
        let seconds = Double(expiresIn.components.seconds)
        do {
            let rows = try await PreparedStatements.rows(
                """
                INSERT INTO audio_server.upload_sessions
                    (id, kind, record_id, upload_length, metadata, original_name, expires_at, key_id, object_part_etags, object_part_sizes)
                VALUES (\(id), \(kind), \(recordID), \(length), \(metadata), \(originalName), now() + make_interval(secs => \(seconds)), \(keyID),
                    CASE WHEN \(inObjectStorage) THEN '{}'::text[] END, CASE WHEN \(inObjectStorage) THEN '{}'::bigint[] END)
                RETURNING \(unescaped: Self.columns)
                """, client: client, logger: logger)
            guard let row = rows.first else { throw FileStoreError.io("upload session not stored") }
            return try Self.session(row)
        } catch {
            if !inObjectStorage { unlink(dataPath(id)) }
            throw error
        }
    }

    /// The session with this id, expired or not; nil when there is none.
    public func session(_ id: String) async throws -> UploadSession? {
        let rows = try await PreparedStatements.rows(
            "SELECT \(unescaped: Self.columns) FROM audio_server.upload_sessions WHERE id = \(id) AND ended_at IS NULL",
            client: client, logger: logger)
        return try rows.first.map(Self.session)
    }

    /// Claims the session for an append at `offset`: one request at a time, at the acknowledged offset only.
    public func claim(_ id: String, offset: Int64) async throws -> UploadClaim {
        let token = UUID()
        let lease = Double(Self.claimLease.components.seconds)
        let rows = try await PreparedStatements.rows(
            """
            UPDATE audio_server.upload_sessions SET claim = \(token), claimed_until = clock_timestamp() + make_interval(secs => \(lease))
            WHERE id = \(id) AND upload_offset = \(offset) AND expires_at > now() AND (claim IS NULL OR claimed_until < clock_timestamp())
            RETURNING \(unescaped: Self.columns)
            """, client: client, logger: logger)
        if let row = rows.first { return .claimed(try Self.session(row), token: token) }
        return try await whyNotClaimed(id, offset: offset, of: nil)
    }

    /// Claims the session of `target`'s record for an append at `offset`, in one statement when
    /// it succeeds: the session must be that record's, not expired, at that offset, not claimed,
    /// and the record must exist. (An append used to read the session and the record first:
    /// two round trips more per chunk of a resumable upload, whose rate is measured against a plain
    /// upload's.)
    public func claim(_ id: String, offset: Int64, of target: AppendTarget) async throws -> UploadClaim {
        let token = UUID()
        let lease = Double(Self.claimLease.components.seconds)
        let rows = try await PreparedStatements.rows(
            """
            UPDATE audio_server.upload_sessions SET claim = \(token), claimed_until = clock_timestamp() + make_interval(secs => \(lease))
            WHERE id = \(id) AND kind = \(target.kind) AND record_id = \(target.recordID) AND upload_offset = \(offset)
              AND expires_at > now() AND (claim IS NULL OR claimed_until < clock_timestamp())
              AND EXISTS (SELECT 1 FROM \(unescaped: target.table) WHERE "id" = \(target.recordID))
            RETURNING \(unescaped: Self.columns)
            """, client: client, logger: logger)
        if let row = rows.first { return .claimed(try Self.session(row), token: token) }
        return try await whyNotClaimed(id, offset: offset, of: target)
    }

    /// Why a claim failed: read once more (the answer may race with another request; it is only advice).
    private func whyNotClaimed(_ id: String, offset: Int64, of target: AppendTarget?) async throws -> UploadClaim {
        let why = try await PreparedStatements.rows(
            """
            SELECT upload_offset, expires_at <= now(), claim IS NOT NULL AND claimed_until >= clock_timestamp(), kind, record_id
            FROM audio_server.upload_sessions WHERE id = \(id) AND ended_at IS NULL
            """, client: client, logger: logger)
        guard let row = why.first else {
            guard let done = try await completed(id), target.map({ done.kind == $0.kind && done.recordID == $0.recordID }) ?? true else {
                return .notFound
            }
            if let target, try await !recordExists(target) {
                _ = try await forgetCompleted(id)
                return .recordGone
            }
            return .completed(done)
        }
        let (current, expired, busy, kind, recordID) = try row.decode((Int64, Bool, Bool, String, Int64).self)
        if let target {
            guard kind == target.kind, recordID == target.recordID else { return .notFound }
            if try await !recordExists(target) { return .recordGone }
        }
        if expired { return .expired }
        if current != offset { return .offsetMismatch(current: current) }
        return busy ? .busy : .offsetMismatch(current: current)
    }

    private func recordExists(_ target: AppendTarget) async throws -> Bool {
        try await !PreparedStatements.rows(
            "SELECT 1 FROM \(unescaped: target.table) WHERE \"id\" = \(target.recordID)", client: client, logger: logger
        ).isEmpty
    }

    /// Extends a claim while its append is running; false when it was lost (the session was deleted,
    /// or the lease ran out and another request claimed it).
    public func renew(_ id: String, token: UUID) async throws -> Bool {
        let lease = Double(Self.claimLease.components.seconds)
        let rows = try await PreparedStatements.rows(
            """
            UPDATE audio_server.upload_sessions SET claimed_until = clock_timestamp() + make_interval(secs => \(lease))
            WHERE id = \(id) AND claim = \(token) RETURNING 1
            """, client: client, logger: logger)
        return !rows.isEmpty
    }

    /// Records the multipart upload an append has just begun, before its first part is sent
    /// (`ObjectUploadStaging.persist`), so that a server killed during the append leaves it named
    /// by the row, for the session's end to abort. False when the claim was lost.
    public func recordBegunUpload(_ id: String, token: UUID, key: String, uploadID: String) async throws -> Bool {
        let rows = try await PreparedStatements.rows(
            """
            UPDATE audio_server.upload_sessions SET object_key = \(key), object_upload_id = \(uploadID)
            WHERE id = \(id) AND claim = \(token) AND object_key IS NULL RETURNING 1
            """, client: client, logger: logger)
        return !rows.isEmpty
    }

    /// Ends a claim, storing the new acknowledged offset (its bytes must be durable already: fsynced,
    /// or in object storage as `object` says) and the length when it became known. Nil when the
    /// claim was lost (deleted session, or the lease was taken over).
    @discardableResult
    public func release(
        _ id: String, token: UUID, offset: Int64, length: Int64? = nil, object: ObjectUploadState? = nil
    ) async throws -> UploadSession? {
        try await store(id, token: token, offset: offset, length: length, object: object, keepClaim: false)
    }

    /// Stores the new acknowledged offset (and `object`, where its bytes now are) but keeps the
    /// claim: the append that completes an upload records its last bytes before the completion
    /// runs, so that a failed completion can be retried from them. Nil when the claim was lost.
    @discardableResult
    public func advance(
        _ id: String, token: UUID, offset: Int64, length: Int64? = nil, object: ObjectUploadState? = nil
    ) async throws -> UploadSession? {
        try await store(id, token: token, offset: offset, length: length, object: object, keepClaim: true)
    }

    private func store(
        _ id: String, token: UUID, offset: Int64, length: Int64?, object: ObjectUploadState?, keepClaim: Bool
    ) async throws -> UploadSession? {
        // Where the bytes are now is written with the offset, in one statement, so the two never disagree.
        let moved = object != nil
        let rows = try await PreparedStatements.rows(
            """
            UPDATE audio_server.upload_sessions
            SET upload_offset = \(offset), upload_length = coalesce(\(length), upload_length),
                claim = CASE WHEN \(keepClaim) THEN claim END, claimed_until = CASE WHEN \(keepClaim) THEN claimed_until END,
                object_key = CASE WHEN \(moved) THEN \(object?.key) ELSE object_key END,
                object_upload_id = CASE WHEN \(moved) THEN \(object?.uploadID) ELSE object_upload_id END,
                object_part_etags = CASE WHEN \(moved) THEN \(object?.parts.map(\.etag)) ELSE object_part_etags END,
                object_part_sizes = CASE WHEN \(moved) THEN \(object?.parts.map(\.size)) ELSE object_part_sizes END,
                object_tail_key = CASE WHEN \(moved) THEN \(object?.tailKey) ELSE object_tail_key END
            WHERE id = \(id) AND claim = \(token) RETURNING \(unescaped: Self.columns)
            """, client: client, logger: logger)
        return try rows.first.map(Self.session)
    }

    /// What ending a session must remove besides its row: the local file, or what it has in object storage.
    static let endedColumns = "id, object_key, object_upload_id, object_part_etags IS NOT NULL"

    /// How long a server removing an ended session's bytes holds the session before another may
    /// try again (its removal failed, or the server died meanwhile).
    public static let removalRetry: Duration = .seconds(60)

    /// How many sessions a call of `end` ended, and how many of them it removed with their bytes.
    private typealias Ending = (ended: Int, removed: Int)

    /// Ends the sessions `condition` picks (its values are `$3`, `$4`, …): marks them ended and
    /// claimed by this call for `removalRetry`, removes their bytes, then deletes the rows whose
    /// bytes are gone. A row whose bytes could not be removed (object storage down) stays, ended,
    /// and a later sweep tries again; so does one whose server died in between. Clients see an
    /// ended session as gone at once; a claim it held (an append in progress) is lost. Its expiry
    /// is brought forward, so every check for a live session (`expires_at > now()`: claims,
    /// `storage verify`, a server of an earlier version during a rolling upgrade) excludes it and
    /// the sweep takes it like an expired one; `ended_at` only tells lookups to answer "gone" (404)
    /// rather than "expired" (410).
    /// `finishIfCancelled`: see `ObjectUploadStaging.discard`.
    private func end(
        where condition: String, _ values: [any PostgresNonThrowingEncodable & Sendable] = [], finishIfCancelled: Bool = true
    ) async throws -> Ending {
        let token = UUID()
        var binds = PostgresBindings()
        binds.append(token)
        binds.append(Double(Self.removalRetry.components.seconds))
        for value in values { binds.append(value) }
        let rows = try await PreparedStatements.rows(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE audio_server.upload_sessions
                    SET ended_at = coalesce(ended_at, now()), expires_at = least(expires_at, now()),
                        claim = $1, claimed_until = clock_timestamp() + make_interval(secs => $2)
                    WHERE \(condition) RETURNING \(Self.endedColumns)
                    """, binds: binds), client: client, logger: logger)
        var removed: [String] = []
        for row in rows {
            let (id, key, uploadID, inObjectStorage) = try row.decode((String, String?, String?, Bool).self)
            _ = Self.runningHashes.withLock { $0.removeValue(forKey: id) }
            if !inObjectStorage {
                unlink(dataPath(id))
            } else if let staging {
                do {
                    try await staging.discard(sessionID: id, key: key, uploadID: uploadID, finishIfCancelled: finishIfCancelled)
                } catch {
                    if Task.isCancelled { continue }  // shutting down: the next sweep, here or elsewhere, goes on
                    logger.warning(
                        "could not remove an ended resumable upload's bytes from object storage; a later sweep tries again",
                        metadata: ["error": "\(error)"])
                    continue
                }
            } else {
                continue  // in object storage, and this server has none: left for a server that has (`sweepOne`)
            }
            removed.append(id)
        }
        if !removed.isEmpty {
            _ = try await PreparedStatements.rows(
                "DELETE FROM audio_server.upload_sessions WHERE id = ANY(\(removed)) AND claim = \(token)",
                client: client, logger: logger)
        }
        return (rows.count, removed.count)
    }

    /// Ends a session and removes its data (termination, completion, refusal). False when there
    /// was none. A completed object (`ObjectUploadState.isCompleted`) is not removed here: its key
    /// is noted in `FileIntents` until a record names it, and whoever refused it removes it.
    @discardableResult
    public func delete(_ id: String) async throws -> Bool {
        try await remove(id, where: "id = $3 AND ended_at IS NULL")
    }

    /// Ends the session `condition` picks by `id` and removes its data; whatever of its data is
    /// left goes even when it picks none. True when it picked one.
    private func remove(_ id: String, where condition: String) async throws -> Bool {
        let ended = try await end(where: condition, [id]).ended
        if ended == 0 {
            unlink(dataPath(id))
            _ = Self.runningHashes.withLock { $0.removeValue(forKey: id) }
        }
        return ended > 0
    }

    /// The statement that ends session `id` inside the transaction that makes its file the
    /// record's (`RecordStore.attachFile`) and keeps its completion (`CompletedUpload`, `length`
    /// bytes) until the session's expiry: a crash after that commit, before `removeEnded`, leaves
    /// an upload that answers "complete" like any completed one, not a live session whose bytes
    /// were moved into the record (its resume would find them missing: 410). The sweep removes
    /// the ended session then, as an expired one. (All parts of one statement read the rows as
    /// they were before it, so `expires_at` is the session's own, not the ended one's.)
    static func completionQuery(_ id: String, length: Int64) -> PostgresQuery {
        """
        WITH ended AS (
            UPDATE audio_server.upload_sessions AS s SET ended_at = coalesce(s.ended_at, now()), expires_at = least(s.expires_at, now())
            FROM audio_server.upload_sessions AS before WHERE s.id = \(id) AND before.id = s.id
            RETURNING s.id, s.kind, s.record_id, s.metadata, before.expires_at
        )
        INSERT INTO audio_server.completed_uploads (id, kind, record_id, upload_length, metadata, expires_at)
        SELECT id, kind, record_id, \(length), metadata, expires_at FROM ended ON CONFLICT (id) DO NOTHING
        """
    }

    /// The completed upload `id`, until its expiry; nil when there is none.
    public func completed(_ id: String) async throws -> CompletedUpload? {
        let rows = try await PreparedStatements.rows(
            """
            SELECT id, kind, record_id, upload_length, metadata, extract(epoch FROM expires_at)::float8
            FROM audio_server.completed_uploads WHERE id = \(id) AND expires_at > now()
            """, client: client, logger: logger)
        return try rows.first.map { row in
            let (id, kind, recordID, length, metadata, expires) = try row.decode((String, String, Int64, Int64, String?, Double).self)
            return CompletedUpload(
                id: id, kind: kind, recordID: recordID, length: length, metadata: metadata, expiresAt: Date(timeIntervalSince1970: expires))
        }
    }

    /// Forgets the completed upload `id` (its termination; the record keeps its file). False when
    /// there was none.
    public func forgetCompleted(_ id: String) async throws -> Bool {
        try await !PreparedStatements.rows(
            "DELETE FROM audio_server.completed_uploads WHERE id = \(id) RETURNING id", client: client, logger: logger
        ).isEmpty
    }

    /// Forgets completed uploads whose time has passed (part of the sweep); returns how many.
    @discardableResult
    public func forgetExpiredCompletions() async throws -> Int {
        try await PreparedStatements.rows(
            "DELETE FROM audio_server.completed_uploads WHERE expires_at <= now() RETURNING id", client: client, logger: logger
        ).count
    }

    /// Removes session `id` and whatever of its bytes is left, ended already or not (a completed
    /// session, ended by `completionQuery` in its record's transaction).
    public func removeEnded(_ id: String) async throws {
        _ = try await remove(id, where: "id = $3")
    }

    /// Ends every session of a record (the record was deleted), and forgets its completed ones;
    /// returns how many sessions it ended.
    @discardableResult
    public func deleteSessions(kind: String, recordID: Int64) async throws -> Int {
        _ = try await PreparedStatements.rows(
            "DELETE FROM audio_server.completed_uploads WHERE kind = \(kind) AND record_id = \(recordID)", client: client, logger: logger)
        return try await end(where: "kind = $3 AND record_id = $4 AND ended_at IS NULL", [kind, recordID]).ended
    }

    /// What one step of the sweep of expired and ended sessions did.
    public enum SweepStep: Sendable, Equatable {
        /// No session is waiting to be removed (or each is held by another server).
        case nothingToDo
        case removed
        /// Its bytes could not be removed; it is tried again after `removalRetry`.
        case keptForRetry
    }

    /// Removes the oldest expired session, or an ended one whose removal failed or was cut short,
    /// with its data. Every server may run it: a session is held by one of them at a time (`SKIP
    /// LOCKED`, then the claim). One at a time, so that a shutdown waits for at most one session's
    /// clean-up, and a cancelled sweep (a shutdown) stops waiting on object storage at once: the
    /// session stays ended for the next sweep. A session with an append in progress (claimed)
    /// waits for it.
    public func sweepOne() async throws -> SweepStep {
        // A session whose bytes are in object storage is left to servers that have it ($3).
        let (ended, removed) = try await end(
            where: """
                id IN (SELECT id FROM audio_server.upload_sessions
                    WHERE expires_at <= now() AND (claim IS NULL OR claimed_until < clock_timestamp())
                      AND (object_part_etags IS NULL OR $3)
                    ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                """, [objects != nil], finishIfCancelled: false)
        return ended == 0 ? .nothingToDo : removed == 1 ? .removed : .keptForRetry
    }

    /// The ids of sessions that have not expired (for `storage verify`: data files of any other
    /// are abandoned). Empty when the table was never made (no server ran on this database).
    public func liveIDs() async throws -> Set<String> {
        let exists = try await PreparedStatements.rows(
            "SELECT to_regclass('audio_server.upload_sessions') IS NOT NULL", client: client, logger: logger)
        guard try exists.first?.decode(Bool.self) == true else { return [] }
        let rows = try await PreparedStatements.rows(
            "SELECT id FROM audio_server.upload_sessions WHERE expires_at > now()",
            client: client, logger: logger)
        return Set(try rows.map { try $0.decode(String.self) })
    }

    /// What live sessions (not expired) hold in object storage, for `storage verify`: their ids
    /// (tail objects under `uploads/<id>/` are theirs) and their multipart upload ids (not
    /// abandoned). Empty when the table was never made.
    public static func liveObjectUploads(
        client: any ConnectionSource, logger: Logger
    ) async throws -> (
        sessions: Set<String>, uploadIDs: Set<String>
    ) {
        let exists = try await PreparedStatements.rows(
            "SELECT to_regclass('audio_server.upload_sessions') IS NOT NULL", client: client, logger: logger)
        guard try exists.first?.decode(Bool.self) == true else { return ([], []) }
        let rows = try await PreparedStatements.rows(
            "SELECT id, object_upload_id FROM audio_server.upload_sessions WHERE expires_at > now()", client: client, logger: logger)
        var sessions = Set<String>()
        var uploads = Set<String>()
        for row in rows {
            let (id, upload) = try row.decode((String, String?).self)
            sessions.insert(id)
            if let upload { uploads.insert(upload) }
        }
        return (sessions, uploads)
    }

    /// The SHA-256 in hex, as files' rows record it.
    public static func hex(_ state: SHA256) -> String {
        state.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA-256 of a whole file, in hex (a resumable upload's, once complete). Blocking.
    public static func sha256(ofFileAt path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileStoreError.system("cannot open \(path)") }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileStoreError.system("read failed")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
