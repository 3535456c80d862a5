import AudioProbe
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Where a resumable upload's acknowledged bytes are when they live in object storage, as its
/// session row records it (`audio_server.upload_sessions.object_*`): whole parts of a multipart
/// upload, then a tail of fewer than `ObjectUploadStaging.minimumPart` bytes as an object of its own.
/// The session's offset is `partsSize` plus the tail's length.
public struct ObjectUploadState: Sendable, Equatable {
    /// One uploaded part; its number is its position in `parts` plus one.
    public struct Part: Sendable, Equatable {
        public var etag: String
        public var size: Int64
        public init(etag: String, size: Int64) {
            self.etag = etag
            self.size = size
        }
    }

    /// The key the file will have (`FileBackend.newKey`); nil until the first part is uploaded.
    public var key: String?
    /// The multipart upload; nil before the first part, and again once it is completed.
    public var uploadID: String?
    public var parts: [Part]
    /// The object holding the bytes after the parts (`uploads/<session>/<uuid>.tail`), if any.
    public var tailKey: String?

    public init(key: String? = nil, uploadID: String? = nil, parts: [Part] = [], tailKey: String? = nil) {
        self.key = key
        self.uploadID = uploadID
        self.parts = parts
        self.tailKey = tailKey
    }

    /// Bytes in the parts.
    public var partsSize: Int64 { parts.reduce(0) { $0 + $1.size } }

    /// The multipart upload was completed: the whole file is the object at `key`.
    public var isCompleted: Bool { key != nil && uploadID == nil }
}

/// Resumable uploads' bytes in object storage, so that any server sharing the database and the
/// bucket continues an upload another started, whatever its local disk holds.
///
/// S3 parts must be at least 5 MiB (`minimumPart`) except the last, but an append may carry any
/// number of bytes. So an append is received into a local temporary file that starts with the
/// session's tail (read back from the bucket), then whole parts are uploaded from it and what is
/// left (< 5 MiB) is stored as a new tail object, the way tusd's s3store does. Only then may the
/// session row store the new offset with the new parts and tail (`UploadSessionStore.release`):
/// an acknowledged offset is in the bucket.
///
/// Why each tail has a new key: an append whose claim was lost (stalled past its lease) may
/// still write; under a fixed name it could overwrite the tail a newer append acknowledged.
/// Old tails are deleted after the row moved on; strays under `uploads/<session>/` are removed
/// when the session ends, and `storage verify` reports those of sessions that are gone.
///
/// The multipart upload is begun with the first part, not with the session: by then the file's
/// first bytes are known, so its key gets the sniffed format's extension like every other file's
/// (`files/<kind>/<id>/<uuid>.<ext>`; `bin` when they are no audio format, which the completion
/// then refuses), and a small upload costs no multipart upload until its last append.
public struct ObjectUploadStaging: Sendable {
    public let store: ObjectFileStore
    /// The local folder whose `tmp/` holds an append while it is received.
    public let files: FileStore

    /// S3's smallest part but the last.
    public static let minimumPart: Int64 = 5 << 20

    public init(store: ObjectFileStore, files: FileStore) {
        self.store = store
        self.files = files
    }

    /// The folder of a session's tail objects.
    public static func tailPrefix(_ sessionID: String) -> String { "uploads/\(sessionID)/" }

    /// How `pending` bytes (tail and append) are cut: every part but the last of an upload at
    /// least `minimumPart`, each at most about `partSize`. Not `final`: fewer than `minimumPart`
    /// bytes stay as the tail, else everything becomes parts. `final`: everything becomes parts
    /// (the last may be small).
    public static func split(pending: Int64, final: Bool, partSize: Int64) -> (parts: [Int64], tail: Int64) {
        if pending == 0 { return ([], 0) }
        if !final && pending < minimumPart { return ([], pending) }
        var parts: [Int64] = []
        var left = pending
        // A part of `partSize` only when what follows it can still be a whole part.
        while left >= partSize + minimumPart {
            parts.append(partSize)
            left -= partSize
        }
        parts.append(left)
        return (parts, 0)
    }

    /// A new local file for an append to `session`, holding its tail's bytes (read back from the
    /// bucket) so that the append's bytes follow them; returns its path and the tail's length.
    /// Throws `FileStoreError.missingData` when the tail object is gone or short.
    public func beginAppend(_ session: UploadSession, state: ObjectUploadState) async throws -> (path: String, tail: Int64) {
        let tail = session.offset - state.partsSize
        let sink = try files.beginUpload()
        do {
            if tail > 0 {
                guard let tailKey = state.tailKey else { throw FileStoreError.missingData("tail of upload \(session.id)") }
                do {
                    try await Self.download(store.client.getObject(key: tailKey, range: .closed(0, tail - 1)), into: sink)
                } catch ObjectStorageError.notFound, ObjectStorageError.invalidRange {
                    throw FileStoreError.missingData(tailKey)
                }
                guard sink.size == tail else { throw FileStoreError.missingData(tailKey) }
            } else if tail < 0 {
                throw FileStoreError.missingData("parts of upload \(session.id)")
            }
            _ = try await NIOThreadPool.singleton.runIfActive { try sink.finish() }
            return (sink.path, tail)
        } catch {
            sink.discard()
            throw error
        }
    }

    /// Stores the `size` bytes of the local file at `path` (the tail and the append's bytes, from
    /// `beginAppend`) after `state`'s parts: whole parts and, unless `final`, a new tail. Returns
    /// the state to record with the new offset. Runs detached: a client that hung up does not
    /// cancel it (what arrived is kept).
    ///
    /// A multipart upload it begins is recorded in the session's row (`recordBegun`) before its
    /// first part is sent, so that a server killed during the append leaves it named there, for
    /// the session's end to abort. When that record fails (the session ended, or another append
    /// took it over), nobody else knows the upload: it is aborted here.
    public func persist(
        _ state: ObjectUploadState, session: UploadSession, path: String, size: Int64, final: Bool,
        recordBegun: @escaping @Sendable (_ key: String, _ uploadID: String) async throws -> Void
    ) async throws -> ObjectUploadState {
        let split = Self.split(pending: size, final: final, partSize: store.partSize)
        let client = store.client
        return try await Task.detached { () -> ObjectUploadState in
            let source = try FileByteSource(path: path)
            guard source.size >= size else { throw FileStoreError.io("local append file shorter than expected") }
            let read: @Sendable (Int64, UnsafeMutableRawBufferPointer) throws -> Int = { try source.read(at: $0, into: $1) }
            var next = state
            var offset: Int64 = 0
            // A multipart upload begun and not yet recorded: aborted on a failure, not left open
            // (and billed) in the bucket.
            var began: (key: String, uploadID: String)?
            do {
                for length in split.parts {
                    guard next.parts.count < 10_000 else { throw FileStoreError.io("an upload in object storage has at most 10,000 parts") }
                    if next.key == nil {
                        // The first part starts at the file's first byte: its format names the key.
                        let prefix = try await NIOThreadPool.singleton.runIfActive { try source.read(at: 0, count: Int(min(source.size, 64 << 10))) }
                        let format = AudioFormat.sniff(prefix)
                        let key = FileBackend.newKey(kind: session.kind, id: session.recordID, fileExtension: format?.fileExtension ?? "bin")
                        let uploadID = try await client.createMultipartUpload(key: key, contentType: format?.contentType)
                        began = (key, uploadID)
                        try await recordBegun(key, uploadID)
                        began = nil
                        next.key = key
                        next.uploadID = uploadID
                    }
                    guard let key = next.key, let uploadID = next.uploadID else { throw FileStoreError.io("the upload was already completed") }
                    let etag = try await client.uploadPart(
                        key: key, uploadID: uploadID, partNumber: next.parts.count + 1,
                        body: FileChunks(read: read, offset: offset, length: length), length: length)
                    next.parts.append(.init(etag: etag, size: length))
                    offset += length
                }
                next.tailKey = nil
                if split.tail > 0 {
                    let tailKey = Self.tailPrefix(session.id) + UUID().uuidString.lowercased() + ".tail"
                    try await client.putObject(key: tailKey, body: FileChunks(read: read, offset: offset, length: split.tail), length: split.tail)
                    next.tailKey = tailKey
                }
            } catch {
                if let began { try? await client.abortMultipartUpload(key: began.key, uploadID: began.uploadID) }
                throw error
            }
            return next
        }.value
    }

    /// Joins the parts into the object at `state.key`; returns the state to record (completed).
    /// A multipart upload already completed (by an earlier try whose answer, or whose row update,
    /// was lost) counts as completed when its object exists; else `noSuchUpload` is thrown.
    public func complete(_ state: ObjectUploadState) async throws -> ObjectUploadState {
        guard let key = state.key else { throw FileStoreError.missingData("upload has no parts") }
        if let uploadID = state.uploadID {
            let client = store.client
            let parts = state.parts.enumerated().map { ObjectStorageClient.CompletedPart(partNumber: $0.offset + 1, etag: $0.element.etag) }
            do {
                try await Task.detached { _ = try await client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts) }.value
            } catch ObjectStorageError.noSuchUpload {
                guard try await store.exists(key: key) else { throw ObjectStorageError.noSuchUpload(uploadID: uploadID) }
            }
        }
        var completed = state
        completed.uploadID = nil
        return completed
    }

    /// Reads the completed object into a new local temporary file, hashing it (the probe needs
    /// the bytes at hand; the hash is that of what the bucket holds). The caller finishes the sink
    /// (`finish()` returns the SHA-256) and discards it.
    public func fetch(_ key: String) async throws -> UploadSink {
        let sink = try files.beginUpload()
        do {
            try await Self.download(store.client.getObject(key: key), into: sink)
            return sink
        } catch {
            sink.discard()
            throw error
        }
    }

    /// Writes a download's bytes into `sink` (written and hashed on NIO's thread pool in steps).
    static func download(_ download: ObjectStorageClient.Download, into sink: UploadSink) async throws {
        for try await chunk in ObjectBytes(body: download.body) {
            if chunk.withUnsafeReadableBytes({ sink.append($0) }) { try await sink.flush() }
        }
        try await sink.flush()
    }

    /// Removes an old tail once the row names another (a failure leaves it to the session's end).
    public func removeTail(_ key: String) async {
        _ = await store.remove(key: key)
    }

    /// Removes what an ended session left in the bucket: its multipart upload (aborted, unless it
    /// was completed: that object is noted in `FileIntents` and is its caller's or the sweeper's to
    /// remove) and every tail object under its folder. Throws when something may be left (object
    /// storage unreachable or refusing): the session's row then stays, ended, for a later sweep
    /// (`UploadSessionStore`). An upload already aborted or completed counts as removed.
    ///
    /// `finishIfCancelled`: run apart from the calling task, so that a request cut short does not
    /// cut its session's removal short. The sweeper passes false: at a shutdown, an ended row left
    /// for the next sweep is better than waiting out an unreachable store's timeouts.
    public func discard(sessionID: String, key: String?, uploadID: String?, finishIfCancelled: Bool = true) async throws {
        let client = store.client
        @Sendable func remove() async throws {
            if let key, let uploadID { try await client.abortIfOpen(key: key, uploadID: uploadID) }
            for object in try await client.listAllObjects(prefix: Self.tailPrefix(sessionID)) {
                try Task.checkCancellation()
                try await client.deleteObject(key: object.key)
            }
        }
        if finishIfCancelled { try await Task.detached { try await remove() }.value } else { try await remove() }
    }
}

/// One append to a session kept in object storage, on the server receiving it: the local file
/// that holds the session's tail and then this append's bytes (`ObjectUploadStaging.beginAppend`).
public struct ObjectAppend: Sendable {
    public let staging: ObjectUploadStaging
    /// Where the session's bytes were when the append was claimed.
    public let state: ObjectUploadState
    /// The local file: the tail's bytes, then the append's.
    public let path: String
    /// How many of its bytes are the tail's (the append's bytes start there).
    public let tail: Int64

    /// Reads the tail of `session` into a new local file. Throws `FileStoreError.missingData` when
    /// the session's bytes in the bucket are gone.
    public init(staging: ObjectUploadStaging, session: UploadSession, state: ObjectUploadState) async throws {
        self.staging = staging
        self.state = state
        (path, tail) = try await staging.beginAppend(session, state: state)
    }

    /// Stores the tail and the `appended` bytes received after it in the bucket (whole parts, and
    /// a new tail unless `final`); returns where the session's bytes are now.
    /// `recordBegun`: see `ObjectUploadStaging.persist`.
    public func persist(
        session: UploadSession, appended: Int64, final: Bool,
        recordBegun: @escaping @Sendable (_ key: String, _ uploadID: String) async throws -> Void
    ) async throws -> ObjectUploadState {
        try await staging.persist(state, session: session, path: path, size: tail + appended, final: final, recordBegun: recordBegun)
    }

    /// Once the row names `now`: the tail it replaced is deleted.
    public func removeReplacedTail(now: ObjectUploadState) async {
        if let old = state.tailKey, old != now.tailKey { await staging.removeTail(old) }
    }

    /// When the row could not name `stored` (the session ended, or another append took it over):
    /// the tail this append wrote is nobody's. (Its parts are overwritten by the next append's or
    /// left out of the completion, which frees them, or go with the multipart upload when the
    /// session's end aborts it; a multipart upload it began is in the row already, `persist`.)
    public func removeUnrecordedTail(_ stored: ObjectUploadState) async {
        if let new = stored.tailKey, new != state.tailKey { await staging.removeTail(new) }
    }

    /// Deletes the local file (the bucket has what was kept).
    public func discard() { unlink(path) }
}
