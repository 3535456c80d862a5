import Foundation
import HTTPTypes
import Hummingbird
import KindModel
import Storage

/// Resumable uploads as the IETF draft "Resumable Uploads for HTTP" (draft-ietf-httpbis-resumable-
/// upload, editor's copy after -11, interop version 8) has them, on the same engine as tus
/// (`AudioAPI+Resumable.swift`):
///
///     OPTIONS /api/audio/<kind>/<id>                  Upload-Limit: what a resumable PUT here may send
///     PUT    /api/audio/<kind>/<id>                   with Upload-Complete: ?0/?1 → the upload resource
///     HEAD   /api/audio/<kind>/<id>/uploads/<upload>  Upload-Offset, Upload-Complete, Upload-Length, Upload-Limit
///     PATCH  /api/audio/<kind>/<id>/uploads/<upload>  application/partial-upload at Upload-Offset
///     DELETE /api/audio/<kind>/<id>/uploads/<upload>  the upload is gone
///
/// A `PUT` without `Upload-Complete` is today's plain upload. The upload resource answers tus
/// requests (`Tus-Resumable`) as tus and draft requests as the draft. The response that completes
/// an upload is what the plain `PUT` answers (the record, or its refusal), with `Upload-Complete: ?1`.
/// The interim `104 Upload Resumption Supported` that announces the upload resource before the
/// body is read is written by `ContinueHandler` (a Hummingbird handler cannot write interim
/// responses), for requests that send the interop version (`announceUpload`).
extension AudioAPI {
    static let partialUpload = "application/partial-upload"

    /// `Upload-Complete` as a structured boolean; nil when absent or not `?0`/`?1` (then ignored,
    /// as the draft says).
    static func uploadComplete(_ fields: HTTPFields) -> Bool? {
        switch fields[.uploadComplete]?.trimmingCharacters(in: .whitespaces) {
        case "?1": true
        case "?0": false
        default: nil
        }
    }

    /// Whether a `PUT` with these fields is a resumable upload, and whether it completes it; nil
    /// for a plain `PUT`: no `Upload-Complete` (or one that is not `?0`/`?1`), or a multipart form,
    /// which is never made resumable (the draft lets a resource decline). The one decision both
    /// the dispatch (`AudioAPI.respond`) and the 104 (`announceUpload`) follow.
    static func resumablePut(_ fields: HTTPFields) -> Bool? {
        guard !HeaderText.mediaType(fields[.contentType] ?? "").hasPrefix("multipart/") else { return nil }
        return uploadComplete(fields)
    }

    /// Whether a request to an upload resource speaks the draft rather than tus.
    static func speaksDraft(_ request: Request) -> Bool {
        guard request.headers[.tusResumable] == nil else { return false }
        return request.headers[.uploadDraftInteropVersion] != nil || request.headers[.uploadComplete] != nil
            || HeaderText.mediaType(request.headers[.contentType] ?? "") == partialUpload
    }

    /// `Upload-Limit`: the kind's size limit, the largest append, and the session's remaining lifetime.
    func uploadLimitField(_ kind: KindDefinition, expiresAt: Date?) -> String {
        var text = "max-size=\(uploadLimit(kind)), max-append-size=\(Self.resumableRules(kind).maxAppend)"
        if let expiresAt { text += ", max-age=\(max(0, Int64(expiresAt.timeIntervalSinceNow)))" }
        return text
    }

    /// Runs a draft handler: problems say `Upload-Complete: ?0` unless they came from processing the
    /// completed file (then `?1`, set where it was refused).
    func draft<Answer>(_ request: Request, _ context: AudioRequestContext, _ handler: () async throws -> Answer) async throws -> Answer {
        do {
            return try await handler()
        } catch {
            var problem = Problem(for: error, request: request, logger: context.logger)
            if problem.headers[.uploadComplete] == nil { problem.headers[.uploadComplete] = "?0" }
            throw problem
        }
    }

    /// `PUT` with `Upload-Complete`: the upload resource is made, the body appended; `?1` with the
    /// whole file ends as the plain `PUT` (200 and the record), `?0` answers 201 with `Location`.
    func draftCreate(
        _ request: Request, _ context: AudioRequestContext, queries: KindQueries, id: Int64, key: ActiveKey?, complete: Bool
    ) async throws -> Response {
        try await draft(request, context) {
            let kind = queries.kind
            let limitField = uploadLimitField(kind, expiresAt: nil)
            let contentLength = request.headers[.contentLength].flatMap(Self.nonNegative)
            var length = request.headers[.uploadLength].flatMap(Self.nonNegative)
            if complete, let contentLength {
                if let length, length != contentLength {
                    throw Problem(
                        .inconsistentUploadLength,
                        detail: "Upload-Length says \(length) bytes but this request completes the upload with \(contentLength).")
                }
                length = contentLength
            }
            if let length, length > uploadLimit(kind) {
                var problem = UploadProblems.tooLarge(uploadLimit(kind))
                problem.headers[.uploadLimit] = limitField
                throw problem
            }
            if let contentLength, contentLength > Self.resumableRules(kind).maxAppend {
                throw Self.appendTooLarge(kind, limitField)
            }
            guard case .record(_, let version) = try await records.uploadTarget(id, numericField: nil, in: queries) else {
                throw Problem.notFound(kind: kind.name, id: id)
            }
            // If-Match is checked when the upload is created, before a byte is stored. An upload
            // completed in this request checks it again under the row lock, as a plain PUT does,
            // and like a plain PUT is refused up front only with a declared body (an empty one
            // gets its 400 first).
            let ifMatch = Self.versionGuard(request)
            if let ifMatch, !ifMatch.accepts(version), !complete || (contentLength ?? 0) > 0 {
                throw Self.stale(kind: kind.name, id: id, current: version, action: "check the record")
            }
            let actor = access.actor(key, request, context)
            let name = UploadReceiver.originalName(fromDisposition: request.headers[.contentDisposition])
            // The token a 104 already announced (ContinueHandler), so the resource is where it said.
            let announced = request.headers[.announcedUploadToken].flatMap { Self.isToken($0) ? $0 : nil }
            let session = try await uploads.create(
                id: announced, kind: kind.name, recordID: id, length: length, metadata: nil, originalName: name,
                expiresIn: .seconds(Self.resumableRules(kind).expiresSeconds), keyID: actor.keyID)
            guard case .claimed(let claimed, let token) = try await uploads.claim(session.id, offset: 0) else {
                throw UploadProblems.busy("The new upload could not be claimed; retry.")
            }
            let appended = try await append(
                request, session: claimed, token: token, checksum: nil, queries: queries, actor: actor,
                end: .ietf(complete: complete), length: length, ifMatch: ifMatch)
            if var completion = appended.completion {
                completion.headers[.uploadComplete] = "?1"
                return completion
            }
            return Response(
                status: .created,
                headers: [
                    .location: "/api/audio/\(kind.name)/\(id)/uploads/\(session.id)", .uploadComplete: "?0",
                    .uploadOffset: String(appended.offset), .uploadLimit: uploadLimitField(kind, expiresAt: session.expiresAt),
                ])
        }
    }

    /// `OPTIONS /api/audio/<kind>/<id>`: whether a `PUT` here can be resumable, and within which
    /// limits (`Upload-Limit`, which the draft requires on this answer): those an upload created
    /// here gets, so a client can size its appends before it starts. The record is not looked up:
    /// the route is open, and must not tell which ids exist.
    func uploadLimits(_ context: AudioRequestContext) throws -> Response {
        let queries = try resolve(context.route.require("kind"))
        _ = try Self.recordID(context)
        let allowed = RouteTable.allowedMethods(path: APIOperation.uploadLimits.path) ?? []
        return Response(
            status: .noContent,
            headers: [.uploadLimit: uploadLimitField(queries.kind, expiresAt: nil), .allow: allowed.joined(separator: ", ")])
    }

    /// `HEAD` of an upload resource (draft): where to resume; once the upload completed,
    /// `Upload-Complete: ?1` at its final offset, until the upload would have expired (the draft
    /// lets a server keep the resource "for a period of time after completion" for a client that
    /// did not receive the last response).
    func draftStatus(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await draft(request, context) {
            let (queries, _) = try await authorized(.uploadStatus, request, context)
            let (offset, length, complete, expiresAt): (Int64, Int64?, Bool, Date)
            switch try await uploadResource(context, queries: queries) {
            case .live(let session): (offset, length, complete, expiresAt) = (session.offset, session.length, false, session.expiresAt)
            case .completed(let done): (offset, length, complete, expiresAt) = (done.length, done.length, true, done.expiresAt)
            }
            var headers: HTTPFields = [
                .uploadOffset: String(offset), .uploadComplete: complete ? "?1" : "?0", .cacheControl: "no-store",
                .uploadLimit: uploadLimitField(queries.kind, expiresAt: expiresAt),
            ]
            if let length { headers[.uploadLength] = String(length) }
            return Response(status: .noContent, headers: headers)
        }
    }

    /// `PATCH` of an upload resource (draft): `application/partial-upload` at `Upload-Offset`;
    /// `Upload-Complete: ?1` ends the upload with what the plain `PUT` answers.
    func draftAppend(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await draft(request, context) {
            let (queries, key) = try await authorized(.appendUpload, request, context)
            return try await access.quotingRecordsToReaders(queries.kind, key: key) {
                try await draftAppend(request, context, queries: queries, key: key)
            }
        }
    }

    /// `draftAppend` once the key may append.
    private func draftAppend(_ request: Request, _ context: AudioRequestContext, queries: KindQueries, key: ActiveKey?) async throws -> Response {
        let kind = queries.kind
        guard HeaderText.mediaType(request.headers[.contentType] ?? "") == Self.partialUpload else {
            throw Problem(
                .unsupportedMediaType,
                detail: "Append with Content-Type: \(Self.partialUpload) (got '\(request.headers[.contentType] ?? "none")').")
        }
        guard let complete = Self.uploadComplete(request.headers) else {
            throw Problem(.invalidUploadHeader, detail: "An append says whether it ends the upload: Upload-Complete: ?0 or ?1.")
        }
        guard let offset = request.headers[.uploadOffset].flatMap(Self.nonNegative) else {
            throw Problem(.invalidUploadHeader, detail: "Send Upload-Offset: the offset HEAD returned.")
        }
        let url = try Self.uploadURL(context)
        let claim = try await claimAppend(url, offset: offset, queries: queries)
        if case .completed(let done) = claim, offset == done.length {
            guard complete, !Self.sendsBytes(request) else { throw Self.uploadComplete(done, queries) }
            // The completing request again (its answer lost): its answer again, from the record as it is now.
            guard let stored = try await records.get(done.recordID, in: queries) else {
                throw Problem.notFound(kind: kind.name, id: done.recordID)
            }
            var answer = JSONResponse.withoutRecord(
                JSONResponse.record(.ok, stored), id: done.recordID, readable: access.mayRead(kind, key: key))
            answer.headers[.uploadComplete] = "?1"
            return answer
        }
        guard case .claimed(let session, let token) = claim else {
            var mismatch: Int64?
            if case .offsetMismatch(let current) = claim { mismatch = current }
            if case .completed(let done) = claim { mismatch = done.length }
            if let current = mismatch {
                throw Problem(
                    .uploadOffsetMismatch, detail: "Upload-Offset is \(offset) but the upload has \(current) bytes; resume from \(current).",
                    extensions: [("expected-offset", .integer(current)), ("provided-offset", .integer(offset))],
                    headers: [.uploadOffset: String(current)])
            }
            throw UploadProblems.busy("Another request is appending to this upload now; wait for it, then HEAD and resume.")
        }
        // Checked with the claim held, which is released (the offset unchanged) when they refuse.
        func refuse(_ problem: Problem) async -> Problem {
            _ = try? await uploads.release(session.id, token: token, offset: session.offset)
            return problem
        }
        let contentLength = request.headers[.contentLength].flatMap(Self.nonNegative)
        var length = request.headers[.uploadLength].flatMap(Self.nonNegative)
        if complete, let contentLength {
            if let length, length != offset + contentLength {
                throw await refuse(
                    Problem(
                        .inconsistentUploadLength,
                        detail: "Upload-Length says \(length) bytes but this request ends the upload at \(offset + contentLength)."))
            }
            length = offset + contentLength
        }
        if let known = session.length, let length, known != length {
            throw await refuse(
                Problem(
                    .inconsistentUploadLength, detail: "The upload's length is \(known) bytes; this request says \(length).",
                    extensions: [("upload_length", .integer(known))]))
        }
        if let contentLength, contentLength > Self.resumableRules(kind).maxAppend {
            throw await refuse(Self.appendTooLarge(kind, uploadLimitField(kind, expiresAt: session.expiresAt)))
        }
        let appended = try await append(
            request, session: session, token: token, checksum: nil, queries: queries,
            actor: access.actor(key, request, context), end: .ietf(complete: complete), length: length)
        if let completion = appended.completion {
            // What the plain PUT answers: the record only to a caller who may read the kind.
            var answer = JSONResponse.withoutRecord(completion, id: url.recordID, readable: access.mayRead(kind, key: key))
            answer.headers[.uploadComplete] = "?1"
            return answer
        }
        return Response(status: .noContent, headers: [.uploadComplete: "?0", .uploadOffset: String(appended.offset)])
    }

    /// `DELETE` of an upload resource (draft): the upload and its bytes are gone.
    func draftCancel(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try await draft(request, context) {
            let (queries, _) = try await authorized(.cancelUpload, request, context)
            return try await removeUpload(context, queries: queries)
        }
    }

    static let interopVersion = "8"

    /// The 104 for a `PUT` that starts a draft upload with the interop version this server speaks,
    /// when its head alone does not already say it will be refused (no key, too large, unknown
    /// kind, bad id); nil for every other request. Runs on the event loop: no I/O.
    @Sendable func announceUpload(_ head: HTTPRequest) -> (fields: HTTPFields, token: String)? {
        guard head.method == .put, head.headerFields[.uploadDraftInteropVersion] == Self.interopVersion,
            Self.resumablePut(head.headerFields) != nil,
            let path = head.path?.split(separator: "?", maxSplits: 1).first,
            let (operation, segments) = APIOperation.matching(.put, path: path), operation == .upload, acceptsBody(head),
            let queries = registry.runtime.resolve(Self.pathSegment(String(segments[2]))),
            let id = Int64(Self.pathSegment(String(segments[3]))), id > 0
        else { return nil }
        if let length = head.headerFields[.uploadLength].flatMap(Self.nonNegative), length > uploadLimit(queries.kind) { return nil }
        let token = UploadSessionStore.newToken()
        let fields: HTTPFields = [
            .location: "/api/audio/\(queries.kind.name)/\(id)/uploads/\(token)",
            .uploadDraftInteropVersion: Self.interopVersion,
            .uploadLimit: uploadLimitField(queries.kind, expiresAt: nil),
        ]
        return (fields, token)
    }

    static func appendTooLarge(_ kind: KindDefinition, _ limitField: String) -> Problem {
        let max = resumableRules(kind).maxAppend
        return Problem(
            .tooLarge,
            detail:
                "One append of a \(kind.name) carries at most \(max) bytes (\(UploadProblems.formatBytes(max)), Upload-Limit max-append-size); send the file in smaller pieces.",
            extensions: [("max_bytes", .integer(max))], headers: [.uploadLimit: limitField])
    }
}

extension HTTPField.Name {
    static let uploadComplete = Self("Upload-Complete")!
    static let uploadLimit = Self("Upload-Limit")!
    static let uploadDraftInteropVersion = Self("Upload-Draft-Interop-Version")!
}
