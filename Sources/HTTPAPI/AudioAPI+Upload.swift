import AudioProbe
import Foundation
import HTTPTypes
import Hummingbird
import KindModel
import Logging
import NIOPosix
import Storage

extension AudioAPI {
    /// `PUT /api/audio/<kind>/<id>`: stream, hash, probe, then commit file and row together.
    ///
    /// Order of commitment: temp file (fsynced) → rename to a new permanent name → row update in a
    /// locked transaction → delete the replaced file. Every failure before the row update removes
    /// the new file; a crash between rename and row update leaves an orphan that
    /// `audio-server storage verify --repair` removes. The row never names a file that is not whole.
    func upload(_ request: Request, queries: KindQueries, id: Int64, actor: AuditActor) async throws -> Response {
        let kind = queries.kind
        let limit = uploadLimit(kind)
        let mode = try uploadMode(request)
        // Refuse before reading a byte: an oversized declared length.
        let declaredLength = request.headers[.contentLength].flatMap { Int64($0) }
        if let declaredLength, !declaredLengthFits(declaredLength, kind: kind, multipart: mode.isMultipart) {
            throw UploadProblems.tooLarge(limit)
        }
        let durationField = kind.upload?.durationTolerance == nil ? nil : kind.upload?.durationField
        guard case .record(let declaredDuration, let version) = try await records.uploadTarget(id, numericField: durationField, in: queries) else {
            throw Problem.notFound(kind: kind.name, id: id)
        }
        // A stale If-Match is refused before a declared body is read (a body-less request gets its
        // 400 first); it is checked again under the row lock when the file is attached, in case the
        // record changes during the upload, and that check covers chunked bodies too.
        let ifMatch = Self.versionGuard(request)
        if let declaredLength, declaredLength > 0, let ifMatch, !ifMatch.accepts(version) {
            throw Self.stale(kind: kind.name, id: id, current: version, action: "check the record")
        }

        let sink = try files.beginUpload()
        do {
            let receiver = UploadReceiver(
                mode: mode, limit: limit, fieldNames: Set(["file", kind.name] + kind.aliases),
                notAudio: Self.notAudio(AudioProbeError.unrecognized, kind: kind))
            let received = try await receiver.receive(request.body, into: sink)
            if sink.size == 0 {
                throw Problem(.emptyFile, detail: "The uploaded file is empty; send the audio bytes.")
            }
            return try await storeFile(
                at: sink.path, size: sink.size, originalName: received.originalName, queries: queries, id: id,
                declaredDuration: declaredDuration, ifMatch: ifMatch, actor: actor
            ) { try sink.finish() }
        } catch {
            sink.discard()
            throw error
        }
    }

    /// The end every upload shares (a plain `PUT`, the last append of a resumable one): hash,
    /// probe, the kind's rules (415/413/422), then the file moved to its permanent name and the row
    /// pointed at it; the replaced file is removed after the row commits. `finish` runs on the
    /// thread pool before the probe: it makes the file at `path` durable and returns its SHA-256.
    /// The caller removes the file at `path` when this throws; a file already moved is removed here.
    /// `storedAs`: the key of an object already holding these bytes (a resumable upload completed
    /// in object storage), noted in `FileIntents` by the caller: the file at `path` is then only
    /// read (hash, probe), nothing is uploaded, and the row names that key. `keepingSource`: the
    /// bytes are a resumable session's, which outlive a failure here (the file at `path` is given
    /// back on disk, an object named by `storedAs` is left to the caller). `endingUpload`: that
    /// session, ended by the transaction that attaches the file.
    func storeFile(
        at path: String, size: Int64, originalName: String?, queries: KindQueries, id: Int64,
        declaredDuration: Double?, ifMatch: VersionGuard?, actor: AuditActor, storedAs: String? = nil, keepingSource: Bool = false,
        endingUpload upload: String? = nil, finish: @escaping @Sendable () throws -> String
    ) async throws -> Response {
        let kind = queries.kind
        let durationField = kind.upload?.durationTolerance == nil ? nil : kind.upload?.durationField
        if size > uploadLimit(kind) { throw UploadProblems.tooLarge(uploadLimit(kind)) }
        // Disk flush and the probe (an MP3 frame scan reads the whole file) run off the request executor.
        let (sha256, probe) = try await NIOThreadPool.singleton.runIfActive {
            let sha = try finish()
            return (sha, Result { try AudioProbe.probe(try FileByteSource(path: path)) })
        }
        let result = try checkedProbe(probe, kind: kind)
        if let tolerance = kind.upload?.durationTolerance, let field = durationField, let declared = declaredDuration,
            !tolerance.accepts(probed: result.durationSeconds, declared: declared)
        {
            throw Problem(
                .durationMismatch,
                detail:
                    "The file lasts \(String(format: "%.3f", result.durationSeconds)) s but the record's \(field) is \(JSONNumber(declared)) s; the allowed difference is \(tolerance.description). Fix the record or upload the right file.",
                extensions: [("probed_duration", .double(result.durationSeconds)), ("declared_duration", .double(declared))])
        }
        let file = StoredFile(
            size: size, sha256: sha256, contentType: result.format.contentType, originalName: originalName,
            format: result.format.rawValue, codec: result.codec, durationSeconds: result.durationSeconds,
            sampleRate: result.sampleRate, channels: result.channels, bitrate: result.bitrate)
        // On disk a rename; on object storage an upload of the local file (multipart when large,
        // aborted on failure) under a new key. Only then does the row name it. The key is noted
        // first, so that a crash in between leaves nothing the sweeper does not find (`FileIntents`).
        let key: String
        if let storedAs {
            key = storedAs
        } else {
            key = FileBackend.newKey(kind: kind.name, id: id, fileExtension: result.format.fileExtension)
            try await intents.note(key)
            do {
                try await backend.commit(path, as: key, contentType: result.format.contentType, keepingSource: keepingSource)
            } catch {
                try? await intents.forget(key)
                throw error
            }
        }
        do {
            switch try await records.attachFile(id, file: file, key: key, ifMatch: ifMatch, in: queries, audit: actor, endingUpload: upload) {
            case .attached(let record, let replacedKey):
                if let replacedKey, replacedKey != key { await removeCommitted(replacedKey) }
                return JSONResponse.record(.ok, record)
            case .notFound:
                throw Problem.notFound(kind: kind.name, id: id)
            case .stale(let current):
                throw Self.stale(kind: kind.name, id: id, current: current, action: "check the record")
            }
        } catch {
            // A resumable session's bytes outlive the failure: its completed object stays, named by
            // the session (`storedAs`), or its file goes back where the next append finds it.
            let keptForSession = keepingSource && (storedAs != nil || backend.restore(key, to: path))
            if !keptForSession {
                await removeCommitted(key)
            } else if storedAs == nil {
                try? await intents.forget(key)
            }
            throw error
        }
    }

    /// Removes a committed file no row names any more (replaced, deleted, or never attached). A
    /// failure is logged, not thrown: the row is already right, and the key stays noted in
    /// `FileIntents` (a replaced or never attached file) for the sweeper to try again.
    func removeCommitted(_ key: String) async {
        if let error = await backend.remove(key: key) {
            records.logger.warning("could not remove a file no record names", metadata: ["key": "\(key)", "error": "\(error)"])
            return
        }
        try? await intents.forget(key)
    }

    /// Files a crash may leave without a row (`FileIntents`).
    var intents: FileIntents { FileIntents(client: records.client, logger: records.logger) }

    /// Whether a request's declared body can be accepted, judged from its head alone (for
    /// `Expect: 100-continue`, and the draft's 104), from the route table: false for a body on a
    /// route that needs a key when none is sent or the key is one this server holds without the
    /// scope (its 401 or 403 comes first), and for an upload whose Content-Length is over its
    /// kind's limit.
    @Sendable func acceptsBody(_ head: HTTPRequest) -> Bool {
        guard let path = head.path?.split(separator: "?", maxSplits: 1).first,
            let (operation, segments) = APIOperation.matching(head.method, path: path)
        else { return true }
        if case .kind(let purpose) = operation.access, purpose != .read, purpose != .download {
            let authorization = head.headerFields[.authorization]
            if authorization == nil { return false }
            // A key held in memory without the scope gets its 403 before the body, like no key its 401.
            if segments.count > 2, let queries = registry.runtime.resolve(Self.pathSegment(String(segments[2]))),
                access.certainlyRefuses(operation.decision(for: queries.kind), authorization: authorization)
            {
                return false
            }
        }
        guard operation.body == .audio, let length = head.headerFields[.contentLength].flatMap({ Int64($0) }),
            let queries = registry.runtime.resolve(Self.pathSegment(String(segments[2])))
        else { return true }
        let multipart = HeaderText.mediaType(head.headerFields[.contentType] ?? "") == "multipart/form-data"
        return declaredLengthFits(length, kind: queries.kind, multipart: multipart)
    }

    /// The kind's upload limit in bytes: its `upload.max_size`, else the server's.
    func uploadLimit(_ kind: KindDefinition) -> Int64 { kind.upload?.maxSize ?? maxUploadBytes }

    /// Whether a declared Content-Length can carry a file within the kind's limit; a multipart body
    /// gets 64 KiB more for its framing and other parts.
    func declaredLengthFits(_ length: Int64, kind: KindDefinition, multipart: Bool) -> Bool {
        length <= uploadLimit(kind) + (multipart ? 64 * 1024 : 0)
    }

    private func uploadMode(_ request: Request) throws -> UploadReceiver.Mode {
        let contentType = request.headers[.contentType] ?? ""
        let media = HeaderText.mediaType(contentType)
        if media == "multipart/form-data" {
            guard let boundary = HeaderParameters.parse(contentType)["boundary"], !boundary.isEmpty, boundary.count <= 200 else {
                throw Problem(.malformedMultipart, detail: "Content-Type multipart/form-data needs a boundary parameter.")
            }
            return .multipart(boundary: boundary)
        }
        if media.hasPrefix("multipart/") || media == "application/json" || media == "application/x-www-form-urlencoded" {
            throw Problem(
                .unsupportedMediaType,
                detail:
                    "Upload the file as multipart/form-data with a part named 'file', or as the raw body (Content-Type audio/*) (got '\(contentType)')."
            )
        }
        // Any other declared type is only a claim: the bytes are sniffed and probed either way.
        // A raw body may name its file the way a multipart part does (`curl -H 'Content-Disposition:
        // attachment; filename="a.wav"' --data-binary @a.wav`).
        return .raw(originalName: UploadReceiver.originalName(fromDisposition: request.headers[.contentDisposition]))
    }

    /// Maps the probe outcome to 415 problems, and checks the kind's accepted formats.
    private func checkedProbe(_ probe: Result<AudioProbeResult, any Error>, kind: KindDefinition) throws -> AudioProbeResult {
        let accepted = kind.upload?.formats ?? UploadRules.knownFormats
        let result: AudioProbeResult
        switch probe {
        case .success(let r): result = r
        case .failure(let error as AudioProbeError):
            throw Self.notAudio(error, kind: kind)
        case .failure(let error):
            throw error
        }
        guard accepted.contains(result.format.rawValue) else {
            throw Problem(
                .formatNotAccepted, detail: "The file is \(result.format.rawValue), but \(kind.name) accepts: \(accepted.joined(separator: ", ")).",
                extensions: [("accepted_formats", .array(accepted.map(JSONValue.string)))])
        }
        return result
    }

    static func notAudio(_ error: AudioProbeError, kind: KindDefinition) -> Problem {
        let accepted = kind.upload?.formats ?? UploadRules.knownFormats
        return Problem(
            .notAudio, detail: "\(error.description) Accepted formats: \(accepted.joined(separator: ", ")).",
            extensions: [("accepted_formats", .array(accepted.map(JSONValue.string)))])
    }
}
