import Foundation
import Hummingbird
import KindModel
import Logging
import Storage

/// The generic REST API: the same handlers serve every kind, looked up by the URL token.
public struct AudioAPI: Sendable {
    public let registry: KindRegistry
    public let records: RecordStore
    public let files: FileStore
    /// Server-wide upload limit; a kind's `upload.max_size` overrides it.
    public let maxUploadBytes: Int64

    /// Largest JSON request body; larger ones are refused with 413 before being read whole.
    public static let maxJSONBytes = 1 << 20

    public init(registry: KindRegistry, records: RecordStore, files: FileStore, maxUploadBytes: Int64) {
        self.registry = registry
        self.records = records
        self.files = files
        self.maxUploadBytes = maxUploadBytes
    }

    /// Adds every route to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.add(middleware: ProblemMiddleware<Context>())
        router.get("/healthz") { _, _ in try await self.health() }
        router.get("/api/kinds") { _, _ in self.listKinds() }
        router.get("/api/kinds/:kind") { _, context in try self.describeKind(context.parameters.require("kind")) }
        router.post("/api/audio/create") { request, context in try await self.create(request, context: context) }
        router.get("/api/audio/:kind") { request, context in try await self.list(request, kind: context.parameters.require("kind")) }
        router.get("/api/audio/:kind/:id") { _, context in
            try await self.get(kind: context.parameters.require("kind"), id: context.parameters.require("id"))
        }
        router.delete("/api/audio/:kind/:id") { _, context in
            try await self.delete(kind: context.parameters.require("kind"), id: context.parameters.require("id"))
        }
        router.put("/api/audio/:kind/:id") { request, context in
            try await self.upload(request, kind: context.parameters.require("kind"), id: context.parameters.require("id"))
        }
        router.get("/api/audio/:kind/:id/file") { request, context in
            try await self.download(request, kind: context.parameters.require("kind"), id: context.parameters.require("id"))
        }
        router.head("/api/audio/:kind/:id/file") { request, context in
            try await self.download(request, kind: context.parameters.require("kind"), id: context.parameters.require("id"))
        }
    }

    // MARK: handlers

    func health() async throws -> Response {
        guard await records.ping() else {
            throw Problem(.serviceUnavailable, "database-unavailable", title: "Database unavailable",
                          detail: "The server cannot reach PostgreSQL; check that it is running and DATABASE_URL is right.")
        }
        return JSONResponse.make(.ok, #"{"status":"ok","database":"ok"}"#)
    }

    func create(_ request: Request, context: some RequestContext) async throws -> Response {
        let runtime = registry.runtime
        let object = try await JSONBody.readObject(request, limit: Self.maxJSONBytes)
        let known = runtime.catalog.names
        guard let filetypeValue = object["filetype"] else {
            throw Problem(.badRequest, "missing-filetype", title: "Missing filetype",
                          detail: "Add \"filetype\" naming the kind of audio. Known kinds: \(known.joined(separator: ", ")).",
                          errors: [ValidationIssue(field: "filetype", code: "required", message: "'filetype' is required; known kinds: \(known.joined(separator: ", "))")],
                          extensions: [("known_kinds", .array(known.map(JSONValue.string)))])
        }
        guard case .string(let token) = filetypeValue, let queries = runtime.resolve(token) else {
            let shown = filetypeValue.stringValue.map { "'\($0)'" } ?? filetypeValue.typeDescription
            throw Problem(.badRequest, "unknown-kind", title: "Unknown filetype",
                          detail: "filetype \(shown) is not a known kind. Known kinds: \(known.joined(separator: ", ")).",
                          errors: [ValidationIssue(field: "filetype", code: "enum", message: "'filetype' must be one of: \(known.joined(separator: ", "))")],
                          extensions: [("known_kinds", .array(known.map(JSONValue.string)))])
        }
        let kind = queries.kind
        let record: ValidatedRecord
        switch RecordValidator.validate(object, kind: kind, mode: .create, ignoring: ["filetype"]) {
        case .success(let r): record = r
        case .failure(let failure): throw Problem.validation(failure.issues, kind: kind.name)
        }
        let stored = try await records.create(record, in: queries)
        var response = JSONResponse.record(.created, stored)
        response.headers[.location] = "/api/audio/\(kind.name)/\(stored.id)"
        return response
    }

    func get(kind token: String, id idText: String) async throws -> Response {
        let (queries, id) = try resolve(token, idText)
        guard let stored = try await records.get(id, in: queries) else { throw Problem.notFound(kind: queries.kind.name, id: id) }
        return JSONResponse.record(.ok, stored)
    }

    func list(_ request: Request, kind token: String) async throws -> Response {
        let queries = try resolve(token)
        let query = request.uri.queryParameters
        var limit = 50
        if let text = query["limit"].map(String.init) {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw Problem(.badRequest, "invalid-limit", title: "Invalid limit",
                              detail: "limit must be a whole number from 1 to 1000 (got '\(text)').",
                              errors: [ValidationIssue(field: "limit", code: "range", message: "'limit' must be from 1 to 1000")])
            }
            limit = value
        }
        var after: Int64 = 0
        if let text = query["cursor"].map(String.init), !text.isEmpty {
            guard let id = Cursor.decode(text) else {
                throw Problem(.badRequest, "invalid-cursor", title: "Invalid cursor",
                              detail: "cursor must be a next_cursor value returned by a previous page; omit it to start at the first page.",
                              errors: [ValidationIssue(field: "cursor", code: "format", message: "'cursor' is not a cursor this server issued")])
            }
            after = id
        }
        let page = try await records.list(after: after, limit: limit, in: queries)
        var body = "{\"items\":["
        for (i, item) in page.items.enumerated() {
            if i > 0 { body += "," }
            body += item.json
        }
        body += "],\"next_cursor\":"
        body += page.nextAfterID.map { "\"\(Cursor.encode(afterID: $0))\"" } ?? "null"
        body += "}"
        return JSONResponse.make(.ok, body)
    }

    func delete(kind token: String, id idText: String) async throws -> Response {
        let (queries, id) = try resolve(token, idText)
        let result = try await records.delete(id, in: queries)
        guard result.deleted else { throw Problem.notFound(kind: queries.kind.name, id: id) }
        if let key = result.fileKey { files.remove(key: key) }
        return Response(status: .noContent)
    }

    func listKinds() -> Response {
        let kinds = registry.runtime.catalog.kinds.map(KindDescription.json)
        return JSONResponse.make(.ok, JSONWriter.string(.object(JSONObject([("kinds", .array(kinds))]))))
    }

    func describeKind(_ token: String) throws -> Response {
        let kind = try resolve(token).kind
        return JSONResponse.make(.ok, JSONWriter.string(KindDescription.json(kind)))
    }

    // MARK: lookups

    func resolve(_ token: String) throws -> KindQueries {
        let runtime = registry.runtime
        guard let queries = runtime.resolve(token) else { throw Problem.unknownKind(token, known: runtime.catalog.names) }
        return queries
    }

    func resolve(_ token: String, _ idText: String) throws -> (KindQueries, Int64) {
        let queries = try resolve(token)
        guard let id = Int64(idText), id > 0 else {
            throw Problem(.badRequest, "invalid-id", title: "Invalid id",
                          detail: "The id in the URL must be a positive integer (got '\(idText)').",
                          errors: [ValidationIssue(field: "id", code: "type", message: "'id' must be a positive integer")])
        }
        return (queries, id)
    }
}
