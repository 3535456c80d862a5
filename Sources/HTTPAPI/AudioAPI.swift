import Foundation
public import Hummingbird
import KindModel
import Logging
public import Storage

/// The generic REST API: the same handlers serve every kind, looked up by the URL token.
public struct AudioAPI: Sendable {
    public let registry: KindRegistry
    public let records: RecordStore
    /// Local files: uploads being received (`tmp/`), resumable uploads' bytes (`uploads/`), and,
    /// when `backend` is the disk, the committed files too.
    public let files: FileStore
    /// Where committed files live (`STORAGE_URL`): this disk store, or object storage.
    public let backend: FileBackend
    /// Server-wide upload limit; a kind's `upload.max_size` overrides it.
    public let maxUploadBytes: Int64
    /// Whether PostgreSQL is known to be unreachable (`DatabaseHealth`): record routes then answer 503 at once.
    public let health: DatabaseHealth
    /// Signs and checks list cursors (`SECRET_KEY`).
    public let cursors: CursorSigner
    /// Keys, scopes, signed links, lockouts: every route's access check.
    public let access: AccessGate
    /// Set after SIGTERM while the balancer is given time to notice (`/healthz` 503).
    public let drain: ShutdownDrain
    /// `ServerConfiguration.consoleDirectory`: the console's files from a folder, for development.
    public let consoleDirectory: String?

    /// Largest JSON request body; larger ones are refused with 413 before being read whole.
    public static let maxJSONBytes = 1 << 20

    public init(
        registry: KindRegistry, records: RecordStore, files: FileStore, maxUploadBytes: Int64,
        health: DatabaseHealth = DatabaseHealth(), cursors: CursorSigner, access: AccessGate, drain: ShutdownDrain = ShutdownDrain(),
        backend: FileBackend? = nil, consoleDirectory: String? = nil
    ) {
        self.registry = registry
        self.records = records
        self.files = files
        self.backend = backend ?? .disk(files)
        self.maxUploadBytes = maxUploadBytes
        self.health = health
        self.cursors = cursors
        self.access = access
        self.drain = drain
        self.consoleDirectory = consoleDirectory
    }

    /// Runs `operation`'s handler. Every kind route resolves the kind, then checks access
    /// (`AccessGate`) before it reads anything of a record.
    func respond(_ operation: APIOperation, _ request: Request, _ context: AudioRequestContext) async throws -> Response {
        switch operation {
        case .health: return try await health()
        case .openAPI: return JSONResponse.make(.ok, registry.runtime.openAPIJSON)
        case .listKinds: return listKinds()
        case .describeKind: return try describeKind(context.route.require("kind"))
        case .create: return try await create(request, context)
        case .list:
            let (queries, _) = try await authorized(operation, request, context)
            return try await list(request, queries: queries)
        case .get:
            let (queries, _) = try await authorized(operation, request, context)
            return try await get(request, queries: queries, id: Self.recordID(context))
        case .update:
            let (queries, key) = try await authorized(operation, request, context)
            return try await update(
                request, queries: queries, id: Self.recordID(context), actor: access.actor(key, request, context),
                readable: access.mayRead(queries.kind, key: key))
        case .upload:
            if let complete = Self.resumablePut(request.headers) {
                // Refusals of a draft PUT, 401 and 403 included, carry `Upload-Complete: ?0` (`draft`).
                let (queries, key) = try await draft(request, context) { try await authorized(operation, request, context) }
                let id = try Self.recordID(context)
                let response = try await access.quotingRecordsToReaders(queries.kind, key: key) {
                    try await draftCreate(request, context, queries: queries, id: id, key: key, complete: complete)
                }
                return JSONResponse.withoutRecord(response, id: id, readable: access.mayRead(queries.kind, key: key))
            }
            let (queries, key) = try await authorized(operation, request, context)
            let id = try Self.recordID(context)
            let response = try await access.quotingRecordsToReaders(queries.kind, key: key) {
                try await upload(request, queries: queries, id: id, actor: access.actor(key, request, context))
            }
            return JSONResponse.withoutRecord(response, id: id, readable: access.mayRead(queries.kind, key: key))
        case .delete:
            let (queries, key) = try await authorized(operation, request, context)
            return try await delete(request, queries: queries, id: Self.recordID(context), actor: access.actor(key, request, context))
        case .download:
            let kind = try resolve(context.route.require("kind"))
            let key = try await access.identify(request, context)
            let grant = try access.require(APIOperation.download.decision(for: kind.kind), key: key, request, context)
            return try await download(
                request, context, queries: kind, id: Self.recordID(context), grant: grant, readable: access.mayRead(kind.kind, key: key))
        case .createLink:
            let (queries, key) = try await authorized(operation, request, context)
            return try await createLink(request, queries: queries, id: Self.recordID(context), readable: access.mayRead(queries.kind, key: key))
        case .uploadOptions: return try await uploadOptions(request, context)
        case .uploadLimits: return try uploadLimits(context)
        case .createUpload: return try await createUpload(request, context)
        case .uploadStatus: return try await Self.speaksDraft(request) ? draftStatus(request, context) : uploadStatus(request, context)
        case .appendUpload: return try await Self.speaksDraft(request) ? draftAppend(request, context) : appendUpload(request, context)
        case .cancelUpload: return try await Self.speaksDraft(request) ? draftCancel(request, context) : cancelUpload(request, context)
        case .currentKey: return try await currentKey(request, context)
        case .consoleRedirect: return ConsoleAssets.redirect()
        case .consolePage: return try ConsoleAssets.respond("index.html", request, developmentDirectory: consoleDirectory)
        case .consoleAsset:
            return try ConsoleAssets.respond(
                Self.pathSegment(context.route.require("asset")), request, developmentDirectory: consoleDirectory)
        case .listKeys, .createKey, .revokeKey, .listAudit:
            let key = try await access.identify(request, context)
            try access.require(.admin, key: key, request, context)
            switch operation {
            case .listKeys: return try await listKeys()
            case .createKey: return try await createKey(request, context, by: key)
            case .revokeKey: return try await revokeKey(context.route.require("id"), request, context, by: key)
            default: return try await listAudit(request)
            }
        }
    }

    /// The kind of a kind route, once the caller is allowed to use it; and the caller's key.
    func authorized(_ operation: APIOperation, _ request: Request, _ context: AudioRequestContext) async throws -> (KindQueries, ActiveKey?) {
        let queries = try resolve(context.route.require("kind"))
        let key = try await access.identify(request, context)
        _ = try access.require(operation.decision(for: queries.kind), key: key, request, context)
        return (queries, key)
    }

    /// The record id of the path, or 400.
    static func recordID(_ context: AudioRequestContext) throws -> Int64 {
        let idText = pathSegment(try context.route.require("id"))
        guard let id = Int64(idText), id > 0 else {
            throw Problem(
                .invalidID, detail: "The id in the URL must be a positive integer (got '\(idText)').",
                errors: [ValidationIssue(field: "id", code: .type, message: "'id' must be a positive integer")])
        }
        return id
    }

    // MARK: handlers

    func health() async throws -> Response {
        if drain.isDraining {
            throw Problem(.draining, detail: "This server got SIGTERM and stops soon; send requests to another.", headers: [.retryAfter: "5"])
        }
        // Both at once: a load balancer polls this, and each check has its own deadline. The object
        // storage's verdict is cached for a few seconds (`ObjectStorageHealth`), so polling it
        // costs S3 at most one listing per few seconds.
        async let storage = backend.problem()
        let database = await records.ping()
        let storageProblem = await storage
        if let database { throw Problem.databaseUnavailable(database) }
        if let storageProblem {
            throw Problem(
                .storageUnavailable, detail: "The server cannot reach its object storage right now (\(storageProblem)); retry shortly.",
                headers: [.retryAfter: "5"])
        }
        if case .objectStorage = backend { return JSONResponse.make(.ok, #"{"status":"ok","database":"ok","storage":"ok"}"#) }
        return JSONResponse.make(.ok, #"{"status":"ok","database":"ok"}"#)
    }

    /// `POST /api/audio/create`: the kind is named in the body, so the key is checked first (every
    /// write needs one) and its scope once `filetype` is read, before anything is validated.
    func create(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        try refuseWhileDatabaseDown()
        let key = try await access.identify(request, context)
        if key == nil { try access.require(.action(.write, kind: "<kind>"), key: nil, request, context) }
        let runtime = registry.runtime
        let object = try await JSONBody.readObject(request, limit: Self.maxJSONBytes, shape: .record)
        let known = runtime.catalog.names
        guard let filetypeValue = object["filetype"] else {
            throw Problem(
                .missingFiletype, detail: "Add \"filetype\" naming the kind of audio. Known kinds: \(known.joined(separator: ", ")).",
                errors: [
                    ValidationIssue(
                        field: "filetype", code: .required, message: "'filetype' is required; known kinds: \(known.joined(separator: ", "))")
                ],
                extensions: [("known_kinds", .array(known.map(JSONValue.string)))])
        }
        guard case .string(let token) = filetypeValue, let queries = runtime.resolve(token) else {
            let shown = filetypeValue.stringValue.map { "'\($0)'" } ?? filetypeValue.typeDescription
            throw Problem(
                .unknownKind, status: .badRequest, detail: "filetype \(shown) is not a known kind. Known kinds: \(known.joined(separator: ", ")).",
                errors: [ValidationIssue(field: "filetype", code: .enum, message: "'filetype' must be one of: \(known.joined(separator: ", "))")],
                extensions: [("known_kinds", .array(known.map(JSONValue.string)))])
        }
        let kind = queries.kind
        _ = try access.require(APIOperation.create.decision(for: kind), key: key, request, context)
        let record: ValidatedRecord
        switch RecordValidator.validate(object, kind: kind, mode: .create, ignoring: ["filetype"]) {
        case .success(let r): record = r
        case .failure(let failure): throw Problem.validation(failure.issues)
        }
        let stored = try await records.create(record, in: queries, audit: access.actor(key, request, context))
        var response = JSONResponse.record(.created, stored, readable: access.mayRead(kind, key: key))
        response.headers[.location] = Self.location(kind, stored.id)
        return response
    }

    /// Where a created record is read (`Location` of a create's 201).
    static func location(_ kind: KindDefinition, _ id: Int64) -> String { "/api/audio/\(kind.name)/\(id)" }

    /// `GET /api/audio/<kind>/<id>`; `If-None-Match` with the current ETag → 304, so a client can
    /// revalidate a cached record without the body.
    func get(_ request: Request, queries: KindQueries, id: Int64) async throws -> Response {
        guard let stored = try await records.get(id, in: queries) else { throw Problem.notFound(kind: queries.kind.name, id: id) }
        if let inm = request.headers[.ifNoneMatch], Self.matches(inm, "\"\(stored.version)\"") {
            return Response(status: .notModified, headers: [.eTag: "\"\(stored.version)\""])
        }
        return JSONResponse.record(.ok, stored)
    }

    /// The HEAD answer of a GET response: its status and headers, with the body's length but not the body.
    static func head(of response: Response) -> Response {
        var headers = response.headers
        // A handler that answered HEAD itself (the file download) has set the length already.
        if headers[.contentLength] == nil, let length = response.body.contentLength { headers[.contentLength] = String(length) }
        return Response(status: response.status, headers: headers)
    }

    func list(_ request: Request, queries: KindQueries) async throws -> Response {
        let (query, scope) = try ListQueryParser.parse(ListQueryParser.pairs(request.uri.query), kind: queries.kind, cursors: cursors)
        let page: QueryPage
        do {
            page = try await records.list(query, in: queries)
        } catch StorageError.invalidValue(let message) where query.after != nil {
            // Filters are checked before the query runs, so this is a cursor edited by hand.
            throw Problem(
                .invalidQuery, detail: "\(ListQueryParser.cursorIssue.message) (PostgreSQL: \(message)).",
                errors: [ListQueryParser.cursorIssue])
        }
        var body = ByteBuffer()
        body.reserveCapacity(page.itemsJSON.count + 128)
        body.writeString("{\"items\":[")
        body.writeBytes(page.itemsJSON)
        body.writeString("],\"next_cursor\":")
        body.writeString(page.next.map { "\"\(cursors.encode($0, kind: queries.kind.name, scope: scope))\"" } ?? "null")
        if let total = page.total { body.writeString(",\"total\":\(total)") }
        body.writeString("}")
        return JSONResponse.make(.ok, body)
    }

    /// `PATCH /api/audio/<kind>/<id>`: validates only the fields sent; `If-Match` guards against lost updates.
    /// `readable`: whether the caller may read the kind (else the answer is `{"id": N}`).
    func update(_ request: Request, queries: KindQueries, id: Int64, actor: AuditActor, readable: Bool) async throws -> Response {
        let kind = queries.kind
        var object = try await JSONBody.readObject(request, limit: Self.maxJSONBytes, shape: .changes(kind))
        if let filetype = object["filetype"] {
            guard let name = filetype.stringValue, registry.runtime.catalog.kind(named: name)?.name == kind.name else {
                throw Problem.validation([
                    ValidationIssue(
                        field: "filetype", code: .immutable,
                        message: "'filetype' cannot be changed; a \(kind.name) stays a \(kind.name)")
                ])
            }
            object["filetype"] = nil
        }
        let record: ValidatedRecord
        switch RecordValidator.validate(object, kind: kind, mode: .update) {
        case .success(let r): record = r
        case .failure(let failure): throw Problem.validation(failure.issues)
        }
        if record.values.isEmpty { return try await unchanged(id, queries: queries, ifMatch: Self.versionGuard(request), readable: readable) }
        switch try await records.update(id, with: record, ifMatch: Self.versionGuard(request), in: queries, audit: actor) {
        case .updated(let stored):
            return JSONResponse.record(.ok, stored, readable: readable)
        case .notFound:
            throw Problem.notFound(kind: kind.name, id: id)
        case .stale(let current):
            throw Self.stale(kind: kind.name, id: id, current: current, action: "reapply your change")
        }
    }

    /// A PATCH that sets no field (`{}`, or only the record's own `filetype`) changes nothing, so
    /// it writes nothing: `updated_at`, the version (ETag) and the audit trail stay as they are.
    /// It answers what a PATCH answers (404, 412 for a stale `If-Match`, else 200 with the record
    /// and its current ETag), so a client need not special-case it.
    func unchanged(_ id: Int64, queries: KindQueries, ifMatch: VersionGuard?, readable: Bool) async throws -> Response {
        guard let stored = try await records.get(id, in: queries) else { throw Problem.notFound(kind: queries.kind.name, id: id) }
        if let ifMatch, !ifMatch.accepts(stored.version) {
            throw Self.stale(kind: queries.kind.name, id: id, current: stored.version, action: "reapply your change")
        }
        return JSONResponse.record(.ok, stored, readable: readable)
    }

    /// The `If-Match` condition of a write (PATCH, PUT of a file, DELETE); nil when absent or `*`.
    static func versionGuard(_ request: Request) -> VersionGuard? {
        // Every If-Match field line, joined: a list may arrive as one line or several.
        let lines = request.headers[values: .ifMatch]
        guard !lines.isEmpty else { return nil }
        return VersionGuard(entityTags(lines.joined(separator: ",")))
    }

    /// 412 for a write whose `If-Match` names another version than the record's `current` one.
    static func stale(kind: String, id: Int64, current: String, action: String) -> Problem {
        Problem(
            .staleVersion,
            detail: "If-Match does not match the current version of \(kind) \(id) (ETag \"\(current)\"); fetch it again, \(action) and retry.",
            headers: [.eTag: "\"\(current)\""])
    }

    /// A URL path segment as the router hands it over, percent-decoded (`so%6Eg` is `song`); the
    /// router matches raw segments, and clients are free to escape any character.
    static func pathSegment(_ raw: String) -> String {
        guard raw.utf8.contains(UInt8(ascii: "%")) else { return raw }
        return raw.removingPercentEncoding ?? raw
    }

    /// The tags of an `If-Match` header: `"v1", "v2"` → [v1, v2]; `*` stays `*`. A weak tag
    /// (`W/"v"`) is kept with its prefix so that it matches no version: If-Match compares strongly
    /// (RFC 9110 §13.1.1).
    static func entityTags(_ header: String) -> [String] {
        header.split(separator: ",").map {
            var tag = $0.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { return tag }
            if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 2 { tag = String(tag.dropFirst().dropLast()) }
            return tag
        }
    }

    /// `DELETE /api/audio/<kind>/<id>`: the row, then its file; `If-Match` makes it conditional like PATCH.
    func delete(_ request: Request, queries: KindQueries, id: Int64, actor: AuditActor) async throws -> Response {
        switch try await records.delete(id, ifMatch: Self.versionGuard(request), in: queries, audit: actor) {
        case .deleted(let fileKey):
            if let fileKey { await removeCommitted(fileKey) }
            // Its resumable uploads end with it (a late append would find no record anyway).
            _ = try? await uploads.deleteSessions(kind: queries.kind.name, recordID: id)
            return Response(status: .noContent)
        case .notFound:
            throw Problem.notFound(kind: queries.kind.name, id: id)
        case .stale(let current):
            throw Self.stale(kind: queries.kind.name, id: id, current: current, action: "check it is still the record to delete")
        }
    }

    func listKinds() -> Response {
        let kinds = registry.runtime.catalog.kinds.map(KindDescription.json)
        return JSONResponse.make(.ok, JSONWriter.string(.object(JSONObject([("kinds", .array(kinds))]))))
    }

    /// The kind's input JSON Schema (`KindJSONSchema.input`: what create accepts), rendered once per catalog.
    func describeKind(_ token: String) throws -> Response {
        let runtime = registry.runtime
        guard let kind = runtime.catalog.kind(named: token), let schema = runtime.kindSchemaJSON[kind.name] else {
            throw Problem.unknownKind(token, known: runtime.catalog.names)
        }
        return JSONResponse.make(.ok, schema)
    }

    // MARK: lookups

    /// The kind of a record route. Every such route starts here, so this is also where a request is
    /// refused at once while the database is known to be unreachable (instead of waiting on the pool).
    func resolve(_ token: String) throws -> KindQueries {
        try refuseWhileDatabaseDown()
        let runtime = registry.runtime
        let token = Self.pathSegment(token)
        guard let queries = runtime.resolve(token) else { throw Problem.unknownKind(token, known: runtime.catalog.names) }
        return queries
    }

    /// 503 at once while the health watcher's last probe failed (record routes, create included).
    func refuseWhileDatabaseDown() throws {
        if health.isKnownDown { throw Problem.databaseUnavailable() }  // the watcher logs why
    }
}
