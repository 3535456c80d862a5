import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import KindModel
import NIOPosix
import Storage
import Synchronization

/// Resumable uploads, tus 1.0 (core, creation, creation-with-upload, termination, checksum,
/// expiration): an upload that survives dropped connections and restarts, ending exactly as a
/// plain `PUT` does (`storeFile`: hash, probe, the kind's rules, commit).
///
///     OPTIONS /api/audio/<kind>/<id>/uploads                 what this server supports
///     POST    /api/audio/<kind>/<id>/uploads                 a session (Upload-Length) → 201, Location
///     HEAD    /api/audio/<kind>/<id>/uploads/<upload>        Upload-Offset, Upload-Length
///     PATCH   /api/audio/<kind>/<id>/uploads/<upload>        bytes at Upload-Offset → 204, new Upload-Offset
///     DELETE  /api/audio/<kind>/<id>/uploads/<upload>        the session and its data are gone → 204
///
/// Sessions live in PostgreSQL and their bytes under `STORAGE_DIR/uploads/` (`UploadSessionStore`)
/// or, with object storage, in the bucket (`ObjectUploadStaging`: multipart parts and a tail
/// object), so any server sharing both continues an upload another started, and an acknowledged
/// offset survives a restart. Every route but OPTIONS needs the `upload:<kind>` scope, as `PUT` does.
extension AudioAPI {
    static let tusVersion = "1.0.0"
    static let tusExtensions = "creation,creation-with-upload,termination,checksum,expiration"
    static let tusChecksums = "sha1,sha256"
    /// How the kind's resumable uploads are tuned (`upload.resumable`), or the defaults.
    static func resumableRules(_ kind: KindDefinition) -> ResumableRules { kind.upload?.resumable ?? .defaults }

    var uploads: UploadSessionStore {
        UploadSessionStore(client: records.client, logger: records.logger, files: files, objects: objectStore)
    }

    /// The object storage committed files go to, if that is the backend (resumable uploads keep
    /// their bytes there too).
    var objectStore: ObjectFileStore? {
        if case .objectStorage(let store) = backend { return store }
        return nil
    }

    /// Runs a tus route that needs a key: the kind and the caller's access are checked first, then
    /// the protocol version, so a missing, bad or insufficient key gets its 401/403 whatever
    /// `Tus-Resumable` says (a version check first would answer 412 to every unauthenticated probe).
    func tus(
        _ request: Request, _ context: AudioRequestContext, authorizing operation: APIOperation,
        _ handler: (KindQueries, ActiveKey?) async throws -> Response
    ) async throws -> Response {
        try await tus(request, context) {
            let (queries, key) = try await authorized(operation, request, context)
            if request.headers[.tusResumable] != Self.tusVersion {
                let sent = request.headers[.tusResumable].map { "'\($0)'" } ?? "none"
                throw Problem(
                    .tusVersionUnsupported,
                    detail: "This server speaks tus \(Self.tusVersion) (Tus-Resumable: \(Self.tusVersion)); the request named \(sent).",
                    headers: [.tusVersion: Self.tusVersion])
            }
            return try await access.quotingRecordsToReaders(queries.kind, key: key) { try await handler(queries, key) }
        }
    }

    /// Runs a tus handler: `Tus-Resumable` on its answer, problems included.
    func tus(_ request: Request, _ context: AudioRequestContext, _ handler: () async throws -> Response) async throws -> Response {
        do {
            var response = try await handler()
            response.headers[.tusResumable] = Self.tusVersion
            return response
        } catch {
            var problem = Problem(for: error, request: request, logger: context.logger)
            problem.headers[.tusResumable] = Self.tusVersion
            throw problem
        }
    }

    /// `OPTIONS …/uploads`: the version, extensions, the kind's size limit and checksum algorithms.
    func uploadOptions(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await tus(request, context) {
            let queries = try resolve(context.route.require("kind"))
            _ = try Self.recordID(context)
            return Response(
                status: .noContent,
                headers: [
                    .tusVersion: Self.tusVersion, .tusExtension: Self.tusExtensions,
                    .tusMaxSize: String(uploadLimit(queries.kind)), .tusChecksumAlgorithm: Self.tusChecksums,
                ])
        }
    }

    /// `POST …/uploads`: a session for the record's file; with a body, its first bytes too.
    func createUpload(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await tus(request, context, authorizing: .createUpload) { queries, key in
            let id = try Self.recordID(context)
            let kind = queries.kind
            if request.headers[.uploadDeferLength] != nil {
                throw Problem(.invalidUploadHeader, detail: "Upload-Defer-Length is not supported; send Upload-Length with the file's size in bytes.")
            }
            guard let text = request.headers[.uploadLength] else {
                throw Problem(.invalidUploadHeader, detail: "Send Upload-Length with the file's size in bytes.")
            }
            guard let length = Self.nonNegative(text) else {
                throw Problem(.invalidUploadHeader, detail: "Upload-Length must be a non-negative integer (got '\(text)').")
            }
            if length == 0 { throw Problem(.emptyFile, detail: "Upload-Length is 0; an audio file has bytes.") }
            // Refused before a byte is stored: a file over the kind's limit.
            if length > uploadLimit(kind) { throw UploadProblems.tooLarge(uploadLimit(kind)) }
            let metadata = request.headers[.uploadMetadata]
            let originalName = try Self.fileName(fromMetadata: metadata)
            let hasBody = Self.hasBody(request)
            if hasBody { try Self.requireOffsetStream(request) }
            if hasBody, let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > length {
                throw Self.beyondLength(length)
            }
            let checksum = try Self.checksum(request)
            guard case .record = try await records.uploadTarget(id, numericField: nil, in: queries) else {
                throw Problem.notFound(kind: kind.name, id: id)
            }
            let actor = access.actor(key, request, context)
            let session = try await uploads.create(
                kind: kind.name, recordID: id, length: length, metadata: metadata, originalName: originalName,
                expiresIn: .seconds(Self.resumableRules(kind).expiresSeconds), keyID: actor.keyID)
            var headers: HTTPFields = [
                .location: "/api/audio/\(kind.name)/\(id)/uploads/\(session.id)",
                .uploadExpires: Self.httpDate(session.expiresAt),
            ]
            if hasBody {
                do {
                    guard case .claimed(let claimed, let token) = try await uploads.claim(session.id, offset: 0) else {
                        throw UploadProblems.busy("The new upload could not be claimed; retry.")
                    }
                    headers[.uploadOffset] = String(
                        try await append(request, session: claimed, token: token, checksum: checksum, queries: queries, actor: actor).offset)
                } catch {
                    // The client never learns the session's URL from a failed creation: drop it,
                    // and do not tell it to resume one (a checksum mismatch's usual advice).
                    _ = try? await uploads.delete(session.id)
                    if var problem = error as? Problem, problem.type == .checksumMismatch {
                        problem.detail =
                            "The \(checksum?.algorithm.rawValue ?? "checksum") of the bytes sent with the creation does not match Upload-Checksum; no upload was created. Create it again (POST), with or without the bytes."
                        problem.headers[.uploadOffset] = nil
                        throw problem
                    }
                    throw error
                }
            }
            return Response(status: .created, headers: headers)
        }
    }

    /// `HEAD …/uploads/<upload>`: how many bytes are stored (resume from there); for a completed
    /// upload, all of them (`Upload-Offset` = `Upload-Length`) until its `Upload-Expires`.
    func uploadStatus(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await tus(request, context, authorizing: .uploadStatus) { queries, key in
            switch try await uploadResource(context, queries: queries) {
            case .completed(let done):
                return Self.status(of: done)
            case .live(let session):
                if let length = session.length, session.offset == length {
                    return try await completeOnStatus(request, context, length: length, key: key, queries: queries)
                }
                return Self.status(of: session)
            }
        }
    }

    /// What `HEAD` answers for a session still taking bytes.
    static func status(of session: UploadSession) -> Response {
        status(offset: session.offset, length: session.length, expiresAt: session.expiresAt, metadata: session.metadata)
    }

    /// What `HEAD` answers for a completed upload: every byte, as tus asks ("even if … the upload
    /// is already considered completed").
    static func status(of done: CompletedUpload) -> Response {
        status(offset: done.length, length: done.length, expiresAt: done.expiresAt, metadata: done.metadata)
    }

    private static func status(offset: Int64, length: Int64?, expiresAt: Date, metadata: String?) -> Response {
        var headers: HTTPFields = [.uploadOffset: String(offset), .cacheControl: "no-store", .uploadExpires: Self.httpDate(expiresAt)]
        if let length { headers[.uploadLength] = String(length) } else { headers[.uploadDeferLength] = "1" }
        if let metadata { headers[.uploadMetadata] = metadata }
        return Response(status: .ok, headers: headers)
    }

    /// `HEAD` of an upload whose every byte is stored but which was not completed: its completion
    /// failed on the server's side after the last bytes reached object storage, or the last
    /// append's connection was cut after its last byte. A tus client that reads an Upload-Offset
    /// equal to Upload-Length stops there, believing the file attached, so HEAD completes the
    /// upload first (exactly as an empty PATCH at that offset does, with the same access) and
    /// reports the final offset only once the record has its file. A failure is answered as that
    /// PATCH would answer it: a refused file (415, 422, …) ends the session, a server-side failure
    /// (5xx) keeps it for the next HEAD or PATCH.
    func completeOnStatus(
        _ request: Request, _ context: AudioRequestContext, length: Int64, key: ActiveKey?, queries: KindQueries
    ) async throws -> Response {
        switch try await claimAppend(try Self.uploadURL(context), offset: length, queries: queries) {
        case .claimed(let session, let token):
            _ = try await append(request, session: session, token: token, checksum: nil, queries: queries, actor: access.actor(key, request, context))
            return Self.status(offset: length, length: length, expiresAt: session.expiresAt, metadata: session.metadata)
        case .busy:
            throw UploadProblems.busy("Another request is completing this upload now; wait for it, then HEAD again.")
        case .completed(let done):
            return Self.status(of: done)
        case .offsetMismatch:
            return Self.status(of: try await liveSession(context, queries: queries))
        }
    }

    /// `PATCH …/uploads/<upload>`: bytes at the current offset. The append that reaches the
    /// declared length completes the upload as a `PUT` would; a refused file ends the session.
    func appendUpload(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await tus(request, context, authorizing: .appendUpload) { queries, key in
            try Self.requireOffsetStream(request)
            guard let text = request.headers[.uploadOffset] else {
                throw Problem(.invalidUploadHeader, detail: "Send Upload-Offset: the offset HEAD returned.")
            }
            guard let offset = Self.nonNegative(text) else {
                throw Problem(.invalidUploadHeader, detail: "Upload-Offset must be a non-negative integer (got '\(text)').")
            }
            let checksum = try Self.checksum(request)
            let url = try Self.uploadURL(context)
            // On disk, the first bytes are hashed while the claim is in flight (`AppendReadAhead`).
            let claim: AppendClaim
            var readAhead: AppendReadAhead?
            if uploads.staging == nil {
                (claim, readAhead) = try await AppendReadAhead.reading(
                    request, session: url.token, offset: offset, sha1: checksum?.algorithm == .sha1, sha256: checksum?.algorithm == .sha256
                ) { try await self.claimAppend(url, offset: offset, queries: queries) }
            } else {
                claim = try await claimAppend(url, offset: offset, queries: queries)
            }
            guard case .claimed(let claimed, let token) = claim else {
                readAhead?.giveBack(session: url.token, offset: offset)
                if case .completed(let done) = claim {
                    // Its answer was lost, say: an empty append at the end is acknowledged again.
                    try Self.refuseAppend(to: done, at: offset, request: request, queries: queries)
                    return Response(status: .noContent, headers: [.uploadOffset: String(done.length), .uploadExpires: Self.httpDate(done.expiresAt)])
                }
                if case .offsetMismatch(let current) = claim {
                    throw Problem(
                        .uploadOffsetMismatch,
                        detail: "Upload-Offset is \(offset) but the upload has \(current) bytes; resume from \(current) (HEAD tells).",
                        extensions: [("upload_offset", .integer(current))], headers: [.uploadOffset: String(current)])
                }
                throw UploadProblems.busy("Another request is appending to this upload now; wait for it, then HEAD and resume.")
            }
            if let length = claimed.length, let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > length - offset,
                offset <= length
            {
                readAhead?.giveBack(session: url.token, offset: offset)
                _ = try? await uploads.release(claimed.id, token: token, offset: claimed.offset)
                throw Self.beyondLength(length)
            }
            let newOffset = try await append(
                request, session: claimed, token: token, checksum: checksum, queries: queries,
                actor: access.actor(key, request, context), readAhead: readAhead
            ).offset
            return Response(status: .noContent, headers: [.uploadOffset: String(newOffset), .uploadExpires: Self.httpDate(claimed.expiresAt)])
        }
    }

    /// `DELETE …/uploads/<upload>`: the session and its bytes are removed.
    func cancelUpload(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await tus(request, context, authorizing: .cancelUpload) { queries, _ in try await removeUpload(context, queries: queries) }
    }

    /// The termination both protocols share (each wraps it in its own headers and problems): the
    /// session of the URL's kind and record, and its bytes, are removed. A completed upload is
    /// forgotten (its URL answers 404 from now on); its file stays the record's.
    func removeUpload(_ context: AudioRequestContext, queries: KindQueries) async throws -> Response {
        let (token, id) = try Self.uploadURL(context)
        if let session = try await uploads.session(token) {
            guard session.kind == queries.kind.name, session.recordID == id, try await uploads.delete(token) else { throw Self.noSession() }
        } else {
            guard let done = try await uploads.completed(token), done.kind == queries.kind.name, done.recordID == id,
                try await uploads.forgetCompleted(token)
            else { throw Self.noSession() }
        }
        return Response(status: .noContent)
    }

    /// Refuses an append to a completed upload unless it is an empty one at its end (a client
    /// sending the completing request again, its answer lost), which tus acknowledges.
    static func refuseAppend(to done: CompletedUpload, at offset: Int64, request: Request, queries: KindQueries) throws {
        guard offset == done.length else {
            throw Problem(
                .uploadOffsetMismatch,
                detail:
                    "Upload-Offset is \(offset) but the upload is complete at \(done.length) bytes: its file is the record's (GET \(recordPath(done, queries))).",
                extensions: [("upload_offset", .integer(done.length))], headers: [.uploadOffset: String(done.length)])
        }
        guard !sendsBytes(request) else { throw uploadComplete(done, queries) }
    }

    /// Bytes (or, in the draft, an append that does not complete it) for a completed upload.
    static func uploadComplete(_ done: CompletedUpload, _ queries: KindQueries) -> Problem {
        Problem(
            .uploadComplete,
            detail:
                "This upload is complete at \(done.length) bytes and takes no more; its file is the record's (GET \(recordPath(done, queries))). To replace the file, upload it again.",
            extensions: [("upload_offset", .integer(done.length))], headers: [.uploadOffset: String(done.length)])
    }

    private static func recordPath(_ done: CompletedUpload, _ queries: KindQueries) -> String {
        "/api/audio/\(queries.kind.name)/\(done.recordID)"
    }

    // MARK: the engine

    /// The token and record id of an upload URL (`…/<id>/uploads/<token>`); 404 for a token that
    /// cannot be one.
    static func uploadURL(_ context: AudioRequestContext) throws -> (token: String, recordID: Int64) {
        let id = try recordID(context)
        let token = try context.route.require("upload")
        guard isToken(token) else { throw noSession() }
        return (token, id)
    }

    /// What `claimAppend` leaves to each protocol to answer in its own words.
    enum AppendClaim {
        case claimed(UploadSession, token: UUID)
        case offsetMismatch(current: Int64)
        case busy
        /// The upload completed: its file is the record's.
        case completed(CompletedUpload)
    }

    /// Claims the URL's session for an append at `offset` (`UploadSessionStore.claim(_:offset:of:)`:
    /// one statement when it succeeds). The outcomes both protocols answer alike are thrown here:
    /// no session (404), its record gone (the session ends, 404), expired (the session ends, 410).
    func claimAppend(_ url: (token: String, recordID: Int64), offset: Int64, queries: KindQueries) async throws -> AppendClaim {
        let target = AppendTarget(recordID: url.recordID, in: queries)
        switch try await uploads.claim(url.token, offset: offset, of: target) {
        case .claimed(let session, let token): return .claimed(session, token: token)
        case .offsetMismatch(let current): return .offsetMismatch(current: current)
        case .busy: return .busy
        case .notFound: throw Self.noSession()
        case .completed(let done): return .completed(done)
        case .recordGone:
            _ = try? await uploads.delete(url.token)
            throw Problem.notFound(kind: queries.kind.name, id: url.recordID)
        case .expired:
            _ = try? await uploads.delete(url.token)
            throw Self.expired()
        }
    }

    /// The session of the URL, for its kind and record, not expired, its record still there
    /// (a session whose record was deleted is removed with its data).
    func liveSession(_ context: AudioRequestContext, queries: KindQueries) async throws -> UploadSession {
        guard case .live(let session) = try await uploadResource(context, queries: queries) else { throw Self.noSession() }
        return session
    }

    /// What an upload URL names: a session taking bytes, or an upload that completed.
    enum UploadResource {
        case live(UploadSession)
        case completed(CompletedUpload)
    }

    /// The upload of the URL, for its kind and record: its live session (not expired; an expired
    /// one is removed, 410) or, once it completed, its completion until that expires; its record
    /// must still be there (a session whose record was deleted is removed with its data).
    func uploadResource(_ context: AudioRequestContext, queries: KindQueries) async throws -> UploadResource {
        let (token, id) = try Self.uploadURL(context)
        let resource: UploadResource
        if let session = try await uploads.session(token) {
            guard session.kind == queries.kind.name, session.recordID == id else { throw Self.noSession() }
            if session.expired {
                _ = try? await uploads.delete(session.id)
                throw Self.expired()
            }
            resource = .live(session)
        } else if let done = try await uploads.completed(token), done.kind == queries.kind.name, done.recordID == id {
            resource = .completed(done)
        } else {
            throw Self.noSession()
        }
        guard case .record = try await records.uploadTarget(id, numericField: nil, in: queries) else {
            switch resource {
            case .live: _ = try? await uploads.delete(token)
            case .completed: _ = try? await uploads.forgetCompleted(token)
            }
            throw Problem.notFound(kind: queries.kind.name, id: id)
        }
        return resource
    }

    /// How an append ends the upload: tus completes it when the declared length is reached; the
    /// IETF draft when the request says `Upload-Complete: ?1` and its content has all arrived.
    enum AppendEnd {
        case tus
        case ietf(complete: Bool)
    }

    /// What an append did: the new offset, and the final response when it completed the upload
    /// (what a plain `PUT` answers).
    struct Appended {
        var offset: Int64
        var completion: Response?
    }

    /// Appends the request body to a claimed session and acknowledges it: fsynced first (or, for a
    /// session kept in object storage, stored in the bucket: `ObjectAppend`), then the offset
    /// stored. A body cut off (client gone) keeps what arrived unless a checksum was sent (it
    /// cannot be verified then); a checksum mismatch keeps nothing. Never beyond the length
    /// (declared, or the kind's limit while unknown). `length`: the length this request declares
    /// (recorded with the offset).
    func append(
        _ request: Request, session: UploadSession, token: UUID, checksum: ChunkChecksum?,
        queries: KindQueries, actor: AuditActor, end: AppendEnd = .tus, length declared: Int64? = nil, ifMatch: VersionGuard? = nil,
        readAhead: AppendReadAhead? = nil
    ) async throws -> Appended {
        let store = uploads
        let length = session.length ?? declared
        let bound = length ?? uploadLimit(queries.kind)
        let remaining = bound - session.offset
        // In object storage, the bytes go to a local file after the session's tail, then to the bucket.
        let objectAppend: ObjectAppend?
        do {
            objectAppend = try await beginObjectAppend(session, store: store)
        } catch FileStoreError.missingData {
            _ = try? await store.delete(session.id)
            throw Self.bytesGone()
        } catch {
            _ = try? await store.release(session.id, token: token, offset: session.offset)
            throw error
        }
        defer { objectAppend?.discard() }
        let sink: UploadSink
        let running: SHA256?
        do {
            let path = objectAppend?.path ?? store.dataPath(session.id)
            let at = objectAppend?.tail ?? session.offset
            if let readAhead {
                // A client that stalled while its bytes were read ahead may have outlived the
                // claim's lease, which another append may then hold: nothing is written unless the
                // claim is renewed first.
                if readAhead.needsRenewal, (try? await store.renew(session.id, token: token)) != true {
                    readAhead.giveBack(session: session.id, offset: session.offset)
                    throw Self.claimLostProblem()
                }
                // Its first bytes are hashed already (while the claim ran): now they are written.
                (sink, running) = (readAhead.sink, readAhead.running)
                try await NIOThreadPool.singleton.runIfActive { try sink.attach(appendingTo: path, at: at) }
            } else {
                running = objectAppend == nil ? UploadSessionStore.takeRunningHash(session.id, offset: session.offset) : nil
                sink = try UploadSink(
                    appendingTo: path, at: at, running: running, sha1: checksum?.algorithm == .sha1, sha256: checksum?.algorithm == .sha256)
            }
        } catch FileStoreError.missingData {
            _ = try? await store.delete(session.id)
            throw Self.bytesGone()
        }
        // The claim is a lease: renewed while the body streams, however slowly it arrives.
        let lost = ClaimFlag()
        let renewal = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: UploadSessionStore.claimRenewal)
                if Task.isCancelled { break }
                if (try? await store.renew(session.id, token: token)) == false {
                    lost.set()
                    break
                }
            }
        }
        defer { renewal.cancel() }
        /// Ends the claim at `offset`; when the session's bytes moved in the bucket, records where
        /// (then the tail they replaced is deleted).
        func release(_ offset: Int64, length: Int64? = nil, object: ObjectUploadState?) async throws -> UploadSession? {
            let released = try await store.release(session.id, token: token, offset: offset, length: length, object: object)
            if let object {
                if released != nil {
                    await objectAppend?.removeReplacedTail(now: object)
                } else {
                    await objectAppend?.removeUnrecordedTail(object)
                }
            }
            return released
        }
        /// Records a multipart upload this append begins, while it holds the claim.
        @Sendable func recordBegun(key: String, uploadID: String) async throws {
            guard try await store.recordBegunUpload(session.id, token: token, key: key, uploadID: uploadID) else { throw ClaimLost() }
        }
        /// Stores the received bytes in the bucket (nil on disk: they are fsynced already). On
        /// failure nothing is acknowledged: the claim ends at the old offset.
        func persisted(final: Bool) async throws -> ObjectUploadState? {
            guard let objectAppend else { return nil }
            do {
                // A claim lost (stalled past its lease) must not write: another append owns the session.
                if lost.isSet { throw ClaimLost() }
                return try await objectAppend.persist(session: session, appended: sink.size, final: final, recordBegun: recordBegun)
            } catch ObjectStorageError.noSuchUpload {
                _ = try? await store.delete(session.id)
                throw Self.bytesGone()
            } catch {
                _ = try? await store.release(session.id, token: token, offset: session.offset)
                if error is ClaimLost { throw Self.claimLostProblem() }
                throw error
            }
        }
        let body = readAhead?.body ?? AppendBody(request)
        do {
            // What was read ahead may already be more than the length allows.
            if sink.size > remaining { throw length.map(Self.beyondLength) ?? UploadProblems.tooLarge(uploadLimit(queries.kind)) }
            while let buffer = try await body.next() {
                if lost.isSet { throw ClaimLost() }
                if sink.size + Int64(buffer.readableBytes) > remaining {
                    throw length.map(Self.beyondLength) ?? UploadProblems.tooLarge(uploadLimit(queries.kind))
                }
                if buffer.withUnsafeReadableBytes({ sink.append($0) }) { try await sink.flush() }
            }
        } catch {
            if objectAppend == nil { renewal.cancel() }
            if error is ClaimLost { throw Self.claimLostProblem() }
            var kept = session.offset
            var object: ObjectUploadState?
            if checksum == nil, !(error is Problem), sink.size > 0,
                let finished = try? await NIOThreadPool.singleton.runIfActive({ try sink.finishAppend() })
            {
                // A cut connection: what arrived is durable (fsynced, or stored in the bucket), so it counts.
                if let objectAppend, !lost.isSet {
                    if let moved = try? await objectAppend.persist(session: session, appended: sink.size, final: false, recordBegun: recordBegun) {
                        kept += sink.size
                        object = moved
                    }
                } else if objectAppend == nil {
                    kept += sink.size
                    UploadSessionStore.keepRunningHash(session.id, offset: kept, state: finished.running)
                }
            } else if objectAppend == nil {
                sink.abandonAppend(to: session.offset)
                UploadSessionStore.keepRunningHash(session.id, offset: session.offset, state: running)
            }
            // Never complete, even when the length was reached: the request did not end.
            _ = try? await release(kept, length: declared, object: object)
            throw error
        }
        let digests: (sha256: [UInt8]?, sha1: [UInt8]?, running: SHA256?)
        do {
            digests = try await NIOThreadPool.singleton.runIfActive { try sink.finishAppend() }
        } catch {
            if objectAppend == nil {
                sink.abandonAppend(to: session.offset)
                UploadSessionStore.keepRunningHash(session.id, offset: session.offset, state: running)
            }
            _ = try? await store.release(session.id, token: token, offset: session.offset)
            throw error
        }
        if let checksum {
            let actual = (checksum.algorithm == .sha1 ? digests.sha1 : digests.sha256) ?? []
            if actual != checksum.digest {
                // In object storage nothing of this append left the local file, which is deleted.
                if objectAppend == nil {
                    sink.abandonAppend(to: session.offset)
                    UploadSessionStore.keepRunningHash(session.id, offset: session.offset, state: running)
                }
                _ = try? await store.release(session.id, token: token, offset: session.offset)
                throw Problem(
                    .checksumMismatch,
                    detail:
                        "The \(checksum.algorithm.rawValue) of the \(sink.size) bytes received does not match Upload-Checksum; they were discarded. Send them again from offset \(session.offset).",
                    headers: [.uploadOffset: String(session.offset)])
            }
        }
        let offset = session.offset + sink.size
        let completes: Bool
        switch end {
        case .tus: completes = offset == length
        case .ietf(let complete): completes = complete
        }
        if completes {
            if let length, length != offset {
                // The request said it was the last, but the upload's length says otherwise.
                _ = try? await release(offset, object: try await persisted(final: false))
                throw Problem(
                    .inconsistentUploadLength,
                    detail:
                        "The upload's length is \(length) bytes but Upload-Complete: ?1 ended it at \(offset); send the rest from offset \(offset) or start again.",
                    extensions: [("upload_offset", .integer(offset)), ("upload_length", .integer(length))])
            }
            var completing = session
            if let object = try await persisted(final: true) {
                // Every byte is in the bucket: recorded before the completion, which may then be retried.
                guard let advanced = try await store.advance(session.id, token: token, offset: offset, length: offset, object: object) else {
                    throw Self.noSession()
                }
                await objectAppend?.removeReplacedTail(now: object)
                completing = advanced
            }
            do {
                return Appended(
                    offset: offset,
                    completion: try await complete(
                        completing, size: offset, token: token, queries: queries, actor: actor,
                        sha256: digests.running.map(UploadSessionStore.hex), ifMatch: ifMatch))
            } catch var problem as Problem {
                // The draft marks answers that come from processing the completed file.
                if case .ietf = end { problem.headers[.uploadComplete] = "?1" }
                throw problem
            }
        }
        let object = try await persisted(final: false)
        if objectAppend == nil { UploadSessionStore.keepRunningHash(session.id, offset: offset, state: digests.running) }
        guard try await release(offset, length: declared, object: object) != nil else {
            // Terminated (or taken over) while this append ran: its bytes count for nothing.
            throw Self.noSession()
        }
        return Appended(offset: offset, completion: nil)
    }

    struct ClaimLost: Error {}

    /// Set by the renewal task when the claim was lost; read by the append (a reference, so the
    /// append's local functions may share it with the task).
    final class ClaimFlag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    static func claimLostProblem() -> Problem {
        UploadProblems.busy("This append lost its claim on the upload (it stalled); HEAD and resume.")
    }

    /// For a session kept in object storage: its tail read into a new local file, after which this
    /// append's bytes go. Nil for a session on disk.
    func beginObjectAppend(_ session: UploadSession, store: UploadSessionStore) async throws -> ObjectAppend? {
        guard let state = session.object else { return nil }
        // Kept in object storage, but this server has none (STORAGE_URL changed): the bytes are out of reach.
        guard let staging = store.staging else { throw FileStoreError.missingData("object storage for upload \(session.id)") }
        return try await ObjectAppend(staging: staging, session: session, state: state)
    }

    /// The last byte arrived: the plain upload's end (`storeFile`), whose response (the record)
    /// is returned. A refused file (4xx) ends the session and its data at once; a server-side
    /// failure keeps both, at the offset before the final append (on disk; in object storage at
    /// the final offset, so that an empty append there reads the object back and tries again).
    /// `sha256`: the file's hash when the appends carried it along (else the file is read for it).
    /// `ifMatch`: the precondition of a resumable `PUT` that completes the upload in one request.
    func complete(
        _ session: UploadSession, size: Int64, token: UUID, queries: KindQueries, actor: AuditActor, sha256: String? = nil,
        ifMatch: VersionGuard? = nil
    ) async throws -> Response {
        let kind = queries.kind
        let store = uploads
        let durationField = kind.upload?.durationTolerance == nil ? nil : kind.upload?.durationField
        guard case .record(let declaredDuration, _) = try await records.uploadTarget(session.recordID, numericField: durationField, in: queries)
        else {
            _ = try? await store.delete(session.id)
            throw Problem.notFound(kind: kind.name, id: session.recordID)
        }
        if size == 0 {
            _ = try? await store.delete(session.id)
            throw Problem(.emptyFile, detail: "The upload ended with no bytes; send the audio bytes.")
        }
        if let object = session.object {
            return try await completeInObjectStorage(
                session, object: object, size: size, token: token, queries: queries, declaredDuration: declaredDuration, ifMatch: ifMatch,
                actor: actor)
        }
        let path = store.dataPath(session.id)
        do {
            // On a server-side failure the bytes come back to the session (`FileBackend.restore`).
            let response = try await storeFile(
                at: path, size: size, originalName: session.originalName, queries: queries, id: session.recordID,
                declaredDuration: declaredDuration, ifMatch: ifMatch, actor: actor, keepingSource: true, endingUpload: session.id
            ) { try sha256 ?? UploadSessionStore.sha256(ofFileAt: path) }
            try? await store.removeEnded(session.id)
            return response
        } catch let problem as Problem where problem.status.code < 500 {
            _ = try? await store.delete(session.id)
            throw problem
        } catch {
            // A server-side failure (the database, the disk): the upload stays at the offset before
            // this append, with its bytes, so that HEAD does not call it complete (a tus client
            // would stop there) and the client sends its last bytes again, which completes it.
            _ = try? await store.release(session.id, token: token, offset: session.offset, length: size)
            throw error
        }
    }

    /// `complete` for a session whose bytes are all in the bucket as parts: the multipart upload
    /// is completed into the object (its key noted in `FileIntents` first, so a crash before a row
    /// names it leaves it to the sweeper), read back into a local file for the hash and the probe,
    /// and checked exactly as a plain `PUT`; then the row names the object where it is, with no
    /// second upload. A refused file removes the object and the session at once; a server-side
    /// failure keeps both (recorded as completed, so a retry only reads it back again).
    func completeInObjectStorage(
        _ session: UploadSession, object: ObjectUploadState, size: Int64, token: UUID, queries: KindQueries,
        declaredDuration: Double?, ifMatch: VersionGuard?, actor: AuditActor
    ) async throws -> Response {
        let store = uploads
        guard let staging = store.staging, let key = object.key else { throw FileStoreError.io("upload \(session.id) has no object to complete") }
        var state = object
        do {
            if !state.isCompleted {
                try await intents.note(key)
                state = try await staging.complete(state)
                try await store.advance(session.id, token: token, offset: size, length: size, object: state)
            }
        } catch ObjectStorageError.noSuchUpload {
            // Aborted behind the server's back (`storage verify --repair`, a bucket lifecycle rule).
            _ = try? await store.delete(session.id)
            throw Self.bytesGone()
        } catch {
            _ = try? await store.release(session.id, token: token, offset: size, length: size)
            throw error
        }
        let sink: UploadSink
        do {
            sink = try await staging.fetch(key)
        } catch ObjectStorageError.notFound {
            // Removed meanwhile (a refused file's object is removed; an unattached one is swept
            // after ORPHAN_FILE_AGE): nothing left to finish.
            _ = try? await store.delete(session.id)
            throw Self.bytesGone()
        } catch {
            _ = try? await store.release(session.id, token: token, offset: size, length: size)
            throw error
        }
        defer { sink.discard() }
        guard sink.size == size else {
            // The object is not the bytes that were acknowledged: it cannot become the record's file.
            _ = try? await store.delete(session.id)
            await removeCommitted(key)
            throw FileStoreError.io("the completed object \(key) has \(sink.size) bytes, the upload \(size)")
        }
        do {
            let response = try await storeFile(
                at: sink.path, size: size, originalName: session.originalName, queries: queries, id: session.recordID,
                declaredDuration: declaredDuration, ifMatch: ifMatch, actor: actor, storedAs: key, keepingSource: true,
                endingUpload: session.id
            ) { try sink.finish() }
            try? await store.removeEnded(session.id)
            return response
        } catch let problem as Problem where problem.status.code < 500 {
            _ = try? await store.delete(session.id)
            await removeCommitted(key)
            throw problem
        } catch {
            _ = try? await store.release(session.id, token: token, offset: size, length: size)
            throw error
        }
    }

    // MARK: headers

    struct ChunkChecksum {
        enum Algorithm: String { case sha1, sha256 }
        var algorithm: Algorithm
        var digest: [UInt8]
    }

    /// `Upload-Checksum: <algorithm> <base64 digest>`, or nil when absent.
    static func checksum(_ request: Request) throws -> ChunkChecksum? {
        guard let text = request.headers[.uploadChecksum] else { return nil }
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let algorithm = ChunkChecksum.Algorithm(rawValue: parts[0].lowercased()) else {
            throw Problem(
                .invalidUploadHeader,
                detail: "Upload-Checksum must be '<algorithm> <base64 digest>' with an algorithm of \(tusChecksums) (got '\(text)').")
        }
        guard let digest = Data(base64Encoded: String(parts[1])), digest.count == (algorithm == .sha1 ? 20 : 32) else {
            throw Problem(
                .invalidUploadHeader, detail: "The Upload-Checksum digest must be the base64 of a \(algorithm.rawValue) digest (got '\(parts[1])').")
        }
        return ChunkChecksum(algorithm: algorithm, digest: Array(digest))
    }

    /// Appended bytes travel as `application/offset+octet-stream` (tus 1.0).
    static func requireOffsetStream(_ request: Request) throws {
        guard HeaderText.mediaType(request.headers[.contentType] ?? "") == "application/offset+octet-stream" else {
            throw Problem(
                .unsupportedMediaType,
                detail:
                    "Send the bytes of a resumable upload with Content-Type: application/offset+octet-stream (got '\(request.headers[.contentType] ?? "none")')."
            )
        }
    }

    /// Whether the request carries bytes: a `Content-Length` above 0, or a chunked body.
    static func sendsBytes(_ request: Request) -> Bool {
        if let length = request.headers[.contentLength] { return length != "0" }
        return request.headers[.transferEncoding] != nil
    }

    /// Whether a creation request carries bytes (creation-with-upload): a declared non-empty body,
    /// or one sent as application/offset+octet-stream (some clients send an empty POST chunked).
    static func hasBody(_ request: Request) -> Bool {
        if let length = request.headers[.contentLength], length != "0" { return true }
        return HeaderText.mediaType(request.headers[.contentType] ?? "") == "application/offset+octet-stream"
    }

    /// Digits only, as tus writes offsets and lengths.
    static func nonNegative(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    /// A session token as `UploadSessionStore` makes them (43 base64url characters).
    static func isToken(_ text: String) -> Bool {
        text.utf8.count == 43
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
            }
    }

    /// The `filename` of tus `Upload-Metadata` (`key base64,key base64`), cleaned like a multipart
    /// file name; 400 for metadata that is not pairs of a key and base64.
    static func fileName(fromMetadata metadata: String?) throws -> String? {
        guard let metadata, !metadata.isEmpty else { return nil }
        guard metadata.utf8.count <= 4096 else {
            throw Problem(.invalidUploadHeader, detail: "Upload-Metadata is longer than 4096 bytes.")
        }
        var name: String?
        for pair in metadata.split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true)
            guard (1...2).contains(parts.count), !parts[0].isEmpty else {
                throw Problem(.invalidUploadHeader, detail: "Upload-Metadata must be comma-separated '<key> <base64 value>' pairs (got '\(pair)').")
            }
            var value = Data()
            if parts.count == 2 {
                guard let data = Data(base64Encoded: String(parts[1])) else {
                    throw Problem(.invalidUploadHeader, detail: "The Upload-Metadata value of '\(parts[0])' is not base64.")
                }
                value = data
            }
            // Values are bytes (tus); only the file name must be text.
            if parts[0] == "filename" || (parts[0] == "name" && name == nil) {
                guard let text = String(data: value, encoding: .utf8) else {
                    throw Problem(.invalidUploadHeader, detail: "The Upload-Metadata \(parts[0]) is not base64 of UTF-8 text.")
                }
                name = UploadReceiver.baseName(text)
            }
        }
        return name
    }

    static func beyondLength(_ length: Int64) -> Problem {
        Problem(
            .tooLarge,
            detail:
                "The upload was declared as \(length) bytes (Upload-Length); this request carries more than the rest of them. Send at most the remaining bytes.",
            extensions: [("max_bytes", .integer(length))])
    }

    static func noSession() -> Problem {
        Problem(
            .uploadNotFound,
            detail:
                "There is no upload session at this URL for this record (it was completed, terminated or never made); start one with POST …/uploads.")
    }

    /// A session whose acknowledged bytes are gone (the local file, or the bucket's multipart upload).
    static func bytesGone() -> Problem {
        Problem(.uploadNotFound, status: .gone, detail: "The stored bytes of this upload are gone; start a new upload.")
    }

    static func expired() -> Problem {
        Problem(.uploadExpired, detail: "This upload session expired and its bytes were removed; start a new upload.")
    }

    /// An IMF-fixdate (RFC 9110 §5.6.7), as `Upload-Expires` is written.
    static func httpDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT")!
        let c = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[c.weekday! - 1]), \(two(c.day!)) \(months[c.month! - 1]) \(c.year!) \(two(c.hour!)):\(two(c.minute!)):\(two(c.second!)) GMT"
    }
}

extension HTTPField.Name {
    static let tusResumable = Self("Tus-Resumable")!
    static let tusVersion = Self("Tus-Version")!
    static let tusExtension = Self("Tus-Extension")!
    static let tusMaxSize = Self("Tus-Max-Size")!
    static let tusChecksumAlgorithm = Self("Tus-Checksum-Algorithm")!
    static let uploadLength = Self("Upload-Length")!
    static let uploadOffset = Self("Upload-Offset")!
    static let uploadMetadata = Self("Upload-Metadata")!
    static let uploadChecksum = Self("Upload-Checksum")!
    static let uploadExpires = Self("Upload-Expires")!
    static let uploadDeferLength = Self("Upload-Defer-Length")!
}
