public import KindModel
import Storage

/// The OpenAPI 3.1 description of the whole API for a catalog of kinds: every route of every kind,
/// with its parameters, request and response bodies, headers and problem responses.
///
/// Paths are spelled out per kind (`/api/audio/song/{id}`, not `/api/audio/{kind}/{id}`) so that
/// each operation carries its kind's own schemas and client generators get one type per kind.
/// Pure: the same catalog always gives the same document (kinds are sorted, objects keep key order).
public enum OpenAPIDocument {
    public static func make(_ catalog: KindCatalog, serverURL: String? = nil) -> JSONValue {
        var document = JSONObject([
            ("openapi", "3.1.0"),
            (
                "info",
                .object(
                    JSONObject([
                        ("title", "audio-file-server"),
                        ("version", "1.0.0"),
                        (
                            "description",
                            .string(
                                """
                                Audio records and their files. Each kind of record (\(catalog.names.joined(separator: ", "))) is declared \
                                in YAML under kinds/; this document is generated from those definitions. Every error is \
                                application/problem+json (RFC 9457).
                                """)
                        ),
                    ]))
            ),
        ])
        if let serverURL { document["servers"] = .array([.object(JSONObject([("url", .string(serverURL))]))]) }
        document["tags"] = .array(
            [
                tag("kinds", "The kinds this server serves and their schemas."),
                tag("service", "Health and this document."), tag("access", "API keys and the audit trail (admin scope)."),
            ]
                + catalog.kinds.map { tag($0.name, $0.description ?? "Records of kind \($0.name).") })

        document["paths"] = .object(paths(catalog))

        var schemas = JSONObject()
        schemas["Problem"] = problemSchema
        schemas["ValidationIssue"] = validationIssueSchema
        schemas["AudioFile"] = AudioFileSchema.schema
        schemas["KindDescription"] = kindDescriptionSchema
        if catalog.kinds.contains(where: mayAnswerIdOnly) { schemas[idOnlyComponent] = idOnlySchema }
        for kind in catalog.kinds {
            schemas[name(kind, "Record")] = .object(KindJSONSchema.recordBody(kind, fileSchema: ref("AudioFile")))
            schemas[name(kind, "CreateRequest")] = KindJSONSchema.createRequest(kind)
            schemas[name(kind, "UpdateRequest")] = KindJSONSchema.updateRequest(kind)
            schemas[name(kind, "Page")] = page(kind)
        }
        for (name, schema) in accessSchemas(catalog) { schemas[name] = schema }
        document["components"] = .object(JSONObject([("schemas", .object(schemas)), ("securitySchemes", securitySchemes)]))
        return .object(document)
    }

    /// The document as compact JSON text (what `GET /openapi.json` serves).
    public static func json(_ catalog: KindCatalog, serverURL: String? = nil) -> String {
        JSONWriter.string(make(catalog, serverURL: serverURL))
    }

    // MARK: service routes

    static var health: JSONValue {
        operation(
            "health", tag: "service", summary: "Whether the server and its database answer.",
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The server and PostgreSQL answer.",
                        .object(
                            JSONObject([
                                ("type", "object"),
                                ("properties", .object(JSONObject([("status", constString("ok")), ("database", constString("ok"))]))),
                                ("required", ["status", "database"]),
                                ("additionalProperties", false),
                            ])))
                ),
                (
                    "503",
                    problem(
                        "PostgreSQL does not answer (`database-unavailable`), or the server is shutting down (`draining`, after SIGTERM with DRAIN_DELAY).",
                        headers: [("Retry-After", header("Seconds to wait.", required: true))])
                ),
            ])
    }

    static var openAPIOperation: JSONValue {
        operation(
            "openapi", tag: "service", summary: "This OpenAPI 3.1 document, generated from the kinds.",
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The OpenAPI document.",
                        .object(
                            JSONObject([
                                ("type", "object"),
                                ("required", ["openapi", "info", "paths"]),
                                (
                                    "properties",
                                    .object(JSONObject([("openapi", .object(JSONObject([("type", "string"), ("pattern", "^3\\.1\\.")])))]))
                                ),
                            ])))
                )
            ])
    }

    static var listKinds: JSONValue {
        operation(
            "list_kinds", tag: "kinds", summary: "Every kind with its fields and constraints, as clients need to build forms.",
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The kinds, sorted by name.",
                        .object(
                            JSONObject([
                                ("type", "object"),
                                (
                                    "properties",
                                    .object(JSONObject([("kinds", .object(JSONObject([("type", "array"), ("items", ref("KindDescription"))])))]))
                                ),
                                ("required", ["kinds"]),
                                ("additionalProperties", false),
                            ])))
                )
            ])
    }

    static func describeKind(_ catalog: KindCatalog) -> JSONValue {
        let tokens = catalog.kinds.flatMap { [$0.name] + $0.aliases }.sorted()
        return operation(
            "get_kind_schema", tag: "kinds", summary: "The JSON Schema (draft 2020-12) of what a kind's create accepts, for building forms.",
            parameters: [
                pathParameter(
                    "kind", "A kind name or alias.",
                    .object(
                        JSONObject([
                            ("type", "string"), ("enum", .array(tokens.map(JSONValue.string))),
                        ])))
            ],
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The input schema, as `components/schemas/<kind>.CreateRequest` with `$schema`, `$id` and `x-record-schema` (the `<kind>.Record` schema of this document, what responses carry).",
                        .object(
                            JSONObject([
                                ("type", "object"),
                                ("required", ["$schema", "$id", "title", "type", "properties", "required", "x-record-schema"]),
                                (
                                    "properties",
                                    .object(
                                        JSONObject([
                                            ("$schema", constString(KindJSONSchema.dialect)),
                                            ("$id", .object(JSONObject([("type", "string"), ("pattern", "^/api/kinds/[a-z][a-z0-9_]*$")]))),
                                            (
                                                "x-record-schema",
                                                .object(
                                                    JSONObject([
                                                        ("type", "string"),
                                                        ("pattern", "^/openapi\\.json#/components/schemas/[a-z][a-z0-9_]*\\.Record$"),
                                                    ]))
                                            ),
                                            ("type", constString("object")),
                                            ("properties", .object(JSONObject([("type", "object")]))),
                                            (
                                                "required",
                                                .object(JSONObject([("type", "array"), ("items", .object(JSONObject([("type", "string")])))]))
                                            ),
                                        ]))
                                ),
                            ])))
                ),
                ("404", problem("No kind has this name or alias; `known_kinds` lists them.")),
            ])
    }

    // MARK: record routes

    static func create(_ catalog: KindCatalog) -> JSONValue {
        // No `discriminator`: each branch already pins `filetype` with an enum of the kind's name and
        // aliases, which makes the branches exclusive; a discriminator mapping several values (the
        // aliases) to one schema is valid OpenAPI but misread by tools (schemathesis keeps one value).
        let body = JSONObject([
            ("description", "One of the kinds' create requests, chosen by `filetype` (a kind name or alias)."),
            ("oneOf", .array(catalog.kinds.map { ref(name($0, "CreateRequest")) })),
        ])
        let record = JSONObject([("oneOf", .array(catalog.kinds.map { ref(name($0, "Record")) }))])
        return operation(
            "create_record", tag: nil, summary: "Create a record of any kind; `filetype` names the kind (or an alias).",
            description: "The body is at most 1 MiB of JSON. Every invalid field is reported at once in `errors`.",
            requestBody: jsonRequestBody(.object(body), "The record: `filetype` and the kind's fields."),
            responses: [
                (
                    "201",
                    jsonResponse(
                        "Created; the record as stored, with defaults applied."
                            + idOnlyNote(idOnly: catalog.kinds.contains(where: mayAnswerIdOnly)),
                        writeAnswer(.object(record), idOnly: catalog.kinds.contains(where: mayAnswerIdOnly)),
                        headers: [
                            ("Location", header("Where the record lives: /api/audio/<kind>/<id> (canonical kind name).", required: true)),
                            ("ETag", etagHeader),
                        ])
                ),
                (
                    "400",
                    problem(
                        "Malformed JSON, a body that is not an object, an unknown or missing `filetype` (`known_kinds` lists the kinds), or invalid fields (`errors` lists them, up to 100; `more_errors` counts the rest)."
                    )
                ),
                ("409", problem("A field marked unique already has this value in another record.")),
                ("413", problem("The JSON body is larger than 1 MiB.")),
                ("415", problem("Content-Type is not application/json.")),
            ])
    }

    static func list(_ kind: KindDefinition) -> JSONValue {
        operation(
            "list_\(kind.name)", tag: kind.name, summary: "List \(kind.name) records, filtered and sorted, one page at a time.",
            description: """
                Keyset pagination: pass the page's `next_cursor` as `cursor` (with the same `sort` and filters) \
                for the next page; it is null on the last page. Filters combine with AND. Unknown parameters, \
                operators that do not fit a field's type and malformed values are refused with 400 naming them. \
                Every filter also accepts the explicit operator `[eq]`. A request takes at most \(ListQueryParser.maxFilters(for: kind)) \
                filters (a filter may repeat) and \(ListQueryParser.maxSortKeys) sort keys; more is a 400 naming the limit.
                """,
            parameters: listParameters(kind),
            responses: [
                ("200", jsonResponse("One page of records.", ref(name(kind, "Page")))),
                (
                    "400",
                    problem(
                        """
                        An unknown parameter, field or operator, a malformed value, a limit outside 1–1000, or a cursor this \
                        server did not issue for this sort and these filters; or (`sort-needs-index`) a sort that no index serves on a table of \
                        more than LIST_SCAN_MAX_ROWS rows (default 100,000): served sorts are \(kind.indexedSorts.map { "`\($0)`" }.joined(separator: ", ")), \
                        and a kind's author serves more with `browse: true` on a field; or (`query-too-slow`) a request                         that ran past the server's STATEMENT_TIMEOUT (default 5 s): a filter no index serves, or                         `count=exact`, on a large table. Narrow it with a filter or sort on a browsing field.
                        """)
                ),
            ])
    }

    static func getRecord(_ kind: KindDefinition) -> JSONValue {
        operation(
            "get_\(kind.name)", tag: kind.name, summary: "One \(kind.name) record.",
            parameters: [idParameter(kind), headerParameter("If-None-Match", "ETags you have; the current one gives 304 without the body.")],
            responses: [
                ("200", jsonResponse("The record.", ref(name(kind, "Record")), headers: [("ETag", etagHeader)])),
                (
                    "304",
                    .object(
                        JSONObject([
                            ("description", "Not modified: If-None-Match names the current ETag."),
                            ("headers", .object(JSONObject([("ETag", etagHeader)]))),
                        ]))
                ),
                ("400", problem("The id is not a positive 64-bit integer.")),
                ("404", problem("No \(kind.name) has this id.")),
            ])
    }

    /// The HEAD operation of a GET one: the same parameters and statuses, another id and summary.
    static func headOf(_ get: JSONValue, id: String, summary: String) -> JSONValue {
        guard var o = get.objectValue else { return get }
        o["operationId"] = .string(id)
        o["summary"] = .string(summary)
        o["description"] = nil
        return .object(o)
    }

    /// `If-Match` on a write, and its 412.
    static func ifMatchParameter(_ what: String) -> JSONValue {
        headerParameter("If-Match", "The ETag you last read; \(what) only if the record still has it, else 412.")
    }

    static let staleResponse = (
        "412",
        problem(
            "If-Match does not match the record's current ETag (sent back in `ETag`).",
            headers: [("ETag", header("The record's current ETag.", required: false))])
    )

    static func update(_ kind: KindDefinition) -> JSONValue {
        operation(
            "update_\(kind.name)", tag: kind.name, summary: "Change some fields of a \(kind.name).",
            description: """
                Only the fields present are validated and changed; `null` clears an optional field and is refused \
                for a required one. `filetype` may be sent only unchanged. `updated_at` and the ETag advance. \
                A body that sets no field (`{}`) changes nothing: no write, no audit row, the same ETag. \
                With `If-Match`, the update happens only if the record still has that ETag.
                """,
            parameters: [idParameter(kind), ifMatchParameter("the update happens")],
            requestBody: jsonRequestBody(ref(name(kind, "UpdateRequest")), "The fields to change."),
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The updated record." + idOnlyNote(idOnly: mayAnswerIdOnly(kind)),
                        writeAnswer(ref(name(kind, "Record")), idOnly: mayAnswerIdOnly(kind)), headers: [("ETag", etagHeader)])
                ),
                ("400", problem("Malformed JSON, a bad id, or invalid fields (`errors` lists them, up to 100; `more_errors` counts the rest).")),
                ("404", problem("No \(kind.name) has this id.")),
                ("409", problem("A field marked unique already has this value in another record.")),
                staleResponse,
                ("413", problem("The JSON body is larger than 1 MiB.")),
                ("415", problem("Content-Type is not application/json.")),
            ])
    }

    static func delete(_ kind: KindDefinition) -> JSONValue {
        operation(
            "delete_\(kind.name)", tag: kind.name, summary: "Delete a \(kind.name) and its stored file.",
            parameters: [idParameter(kind), ifMatchParameter("the record is deleted")],
            responses: [
                ("204", .object(JSONObject([("description", "Deleted.")]))),
                ("400", problem("The id is not a positive 64-bit integer.")),
                ("404", problem("No \(kind.name) has this id.")),
                staleResponse,
            ])
    }

    static func upload(_ kind: KindDefinition) -> JSONValue {
        let formats = kind.upload?.formats ?? UploadRules.knownFormats
        var rules = "Accepted formats: \(formats.joined(separator: ", ")), recognised from the bytes (the declared type is ignored)."
        if let max = kind.upload?.maxSize { rules += " At most \(max) bytes." }
        if let field = kind.upload?.durationField, let tolerance = kind.upload?.durationTolerance {
            rules += " The probed duration must match `\(field)` within \(tolerance.description)."
        }
        // An empty file is refused (400): `minLength` counts bytes of a binary string.
        let binary = JSONValue.object(JSONObject([("type", "string"), ("format", "binary"), ("minLength", 1)]))
        let multipart = JSONObject([
            (
                "schema",
                .object(
                    JSONObject([
                        ("type", "object"),
                        (
                            "properties",
                            .object(
                                JSONObject([
                                    (
                                        "file",
                                        .object(
                                            JSONObject([
                                                ("description", .string("The audio file. A part named '\(kind.name)' is accepted too.")),
                                                ("type", "string"), ("format", "binary"), ("minLength", 1),
                                            ]))
                                    )
                                ]))
                        ),
                        ("required", ["file"]),
                    ]))
            ),
            ("encoding", .object(JSONObject([("file", .object(JSONObject([("contentType", "audio/*, application/octet-stream")])))]))),
        ])
        let body = JSONObject([
            ("description", .string("The audio file, as multipart/form-data with a part named `file`, or as the raw body. \(rules)")),
            ("required", true),
            (
                "content",
                .object(
                    JSONObject([
                        ("multipart/form-data", .object(multipart)),
                        ("audio/*", .object(JSONObject([("schema", binary)]))),
                        ("application/octet-stream", .object(JSONObject([("schema", binary)]))),
                    ]))
            ),
        ])
        return operation(
            "upload_\(kind.name)_file", tag: kind.name, summary: "Upload (or replace) the audio file of a \(kind.name).",
            description:
                "Streamed to disk, hashed and probed; the record's `file` and `uploaded_time` are set only once the file is whole. A replaced file is removed.",
            parameters: [idParameter(kind), ifMatchParameter("the file is stored")] + resumablePutParameters, requestBody: .object(body),
            responses: [
                resumablePutAnnouncement,
                (
                    "200",
                    jsonResponse(
                        "The record with its new `file`." + idOnlyNote(idOnly: mayAnswerIdOnly(kind)),
                        writeAnswer(ref(name(kind, "Record")), idOnly: mayAnswerIdOnly(kind)), headers: [("ETag", etagHeader)])
                ),
                resumablePutCreated,
                (
                    "400",
                    problem(
                        "A bad id, no file part, a malformed or truncated multipart body, an empty file, or (resumable) Upload-Length that disagrees with the body."
                    )
                ),
                ("404", problem("No \(kind.name) has this id.")),
                staleResponse,
                ("413", problem("The file is larger than the limit (`max_bytes`), or (resumable) the body is over Upload-Limit's max-append-size.")),
                (
                    "415",
                    problem(
                        "Not a recognised audio file, a format this kind does not accept (`accepted_formats`), or a Content-Type that cannot carry a file."
                    )
                ),
                ("422", problem("The probed duration disagrees with the record (`probed_duration`, `declared_duration`).")),
            ])
    }

    static func download(_ kind: KindDefinition, head: Bool) -> JSONValue {
        let audio = JSONObject([("audio/*", .object(JSONObject([("schema", .object(JSONObject([("type", "string"), ("format", "binary")])))])))])
        let fileHeaders: [(String, JSONValue)] = [
            ("ETag", header("The file's SHA-256 in quotes.", required: true)),
            ("Accept-Ranges", header("Always `bytes`.", required: true, schema: .object(JSONObject([("type", "string"), ("enum", ["bytes"])])))),
            (
                "Content-Length",
                header("Bytes in this response's body.", required: false, schema: .object(JSONObject([("type", "integer"), ("minimum", 0)])))
            ),
            ("Content-Disposition", header("`inline` with the original file name.", required: true)),
        ]
        func withBody(_ description: String, headers: [(String, JSONValue)]) -> JSONValue {
            var o = JSONObject([("description", .string(description))])
            o["headers"] = .object(JSONObject(headers.map { (key: $0.0, value: $0.1) }))
            o["content"] = .object(audio)
            return .object(o)
        }
        let contentRange = (
            "Content-Range",
            header(
                "`bytes first-last/size`.", required: true,
                schema: .object(JSONObject([("type", "string"), ("pattern", "^bytes [0-9]+-[0-9]+/[0-9]+$")])))
        )
        // `upload.download: redirect`: with files in object storage, a 307 to a presigned URL.
        let redirect: [(String, JSONValue)] =
            kind.upload?.download == .redirect
            ? [
                (
                    "307",
                    .object(
                        JSONObject([
                            (
                                "description",
                                "With files in object storage (this kind has `upload.download: redirect`): after every access check, the file is at `Location`, a presigned URL valid for 300 s that answers Range requests itself."
                            ),
                            ("headers", .object(JSONObject([("Location", header("The presigned URL.", required: true))]))),
                        ]))
                )
            ] : []
        return operation(
            "\(head ? "head" : "download")_\(kind.name)_file", tag: kind.name,
            summary: head
                ? "The headers of a \(kind.name)'s audio file, without the bytes." : "The audio file of a \(kind.name), whole or a byte range.",
            description:
                "Seekable: single byte ranges (`bytes=a-b`, `bytes=a-`, `bytes=-n`) give 206. Other or malformed Range headers are ignored (200).",
            parameters: [
                idParameter(kind),
                headerParameter("Range", "One byte range, e.g. `bytes=0-1023`, `bytes=1024-`, `bytes=-500`."),
                headerParameter("If-None-Match", "ETags you have; a match gives 304."),
                headerParameter("If-Match", "Serve only this file (its ETag, strong comparison; `*`: any); another gives 412."),
                headerParameter("If-Range", "Honour Range only if the file still has this ETag; otherwise the whole file (200)."),
            ],
            responses: [
                ("200", withBody("The whole file, with `Content-Type` of its format.", headers: fileHeaders)),
                ("206", withBody("The requested byte range.", headers: fileHeaders + [contentRange])),
            ] + redirect + [
                (
                    "304",
                    .object(
                        JSONObject([
                            ("description", "Not modified: If-None-Match matched."),
                            ("headers", .object(JSONObject([("ETag", header("The file's ETag.", required: true))]))),
                        ]))
                ),
                ("400", problem("The id is not a positive 64-bit integer.")),
                ("404", problem("No \(kind.name) has this id, it has no file yet, or its stored file is missing from the server (`file-missing`).")),
                (
                    "412",
                    problem(
                        "If-Match names another file than the one stored (`stale-version`).",
                        headers: [("ETag", header("The stored file's ETag.", required: true))])
                ),
                (
                    "416",
                    problem(
                        "The range starts past the end of the file.",
                        headers: [
                            (
                                "Content-Range",
                                header(
                                    "`bytes */size`.", required: true,
                                    schema: .object(JSONObject([("type", "string"), ("pattern", "^bytes \\*/[0-9]+$")])))
                            )
                        ])
                ),
            ])
    }

    // MARK: list parameters

    /// Query parameters of `GET /api/audio/<kind>`: paging, sorting, counting, and filters by field type.
    static func listParameters(_ kind: KindDefinition) -> [JSONValue] {
        var parameters: [JSONValue] = [
            queryParameter(
                "limit", "Records per page, 1–1000.", .object(JSONObject([("type", "integer"), ("minimum", 1), ("maximum", 1000), ("default", 50)]))),
            queryParameter(
                "cursor", "The `next_cursor` of the previous page (opaque; valid only with the same `sort`). Empty or absent: the first page.",
                .object(JSONObject([("type", "string")]))),
            queryParameter(
                "count", "`exact` adds `total`, the number of records matching the filters.",
                .object(JSONObject([("type", "string"), ("enum", ["exact"])]))),
            queryParameter(
                "sort",
                """
                Sort keys, most significant first: declared scalar fields and `id`, `created_at`, `updated_at`, each \
                optionally prefixed with `-` for descending; several are given as a comma list (`-duration,name`), each \
                named at most once. Ties are broken by id. Default: `id`. The enum lists the single-key values. \
                An index serves \(kind.indexedSorts.map { "`\($0)`" }.joined(separator: ", ")) (and multi-key sorts of the kind's \
                `indexes:` entries); on a table of more than LIST_SCAN_MAX_ROWS rows any other sort is a 400 `sort-needs-index`.
                """, .object(JSONObject([("type", "string"), ("enum", .array(sortKeys(kind).map(JSONValue.string)))]))),
            queryParameter(
                "has_file", "true: only records with an uploaded file; false: only those without.",
                .object(JSONObject([("type", "boolean")]))),
        ]
        for field in kind.fields + KindDefinition.filterableSystemFields {
            let reserved = ListQueryParser.reserved.contains(field.name)
            if field.isList, let item = field.itemType {
                parameters.append(
                    queryParameter("\(field.name)[has]", "Records whose \(field.name) contains this value.", filterValueSchema(item, field.rules)))
                continue
            }
            let value = filterValueSchema(field.type, field.rules)
            // A field named like a paging parameter is filtered with the explicit `[eq]`.
            parameters.append(queryParameter(reserved ? "\(field.name)[eq]" : field.name, "Records whose \(field.name) equals this value.", value))
            for op in FilterOperator.allowed(for: field) where op != .eq {
                let text: String =
                    switch op {
                    case .ne: "Records whose \(field.name) is not this value, including those where it is null (IS DISTINCT FROM)."
                    case .gt: "\(field.name) greater than this value."
                    case .gte: "\(field.name) greater than or equal to this value."
                    case .lt: "\(field.name) less than this value."
                    case .lte: "\(field.name) less than or equal to this value."
                    case .contains: "\(field.name) contains this text, ignoring case."
                    default: "\(field.name) \(op.rawValue) this value."
                    }
                let schema = op == .contains ? .object(JSONObject([("type", "string"), ("pattern", .string(KindJSONSchema.noNUL))])) : value
                parameters.append(queryParameter("\(field.name)[\(op.rawValue)]", text, schema))
            }
        }
        return parameters
    }

    /// The single sort keys (`name`, `-name`, ...) a kind accepts.
    static func sortKeys(_ kind: KindDefinition) -> [String] {
        let names = ["id", "created_at", "updated_at"] + kind.fields.filter { !$0.isList }.map(\.name)
        return names.flatMap { [$0, "-" + $0] }
    }

    /// What a filter value must be: the field's type (enum values, formats, 64-bit range) but not its
    /// length or range rules — filtering by a value no record can have is allowed and finds nothing.
    static func filterValueSchema(_ type: FieldType, _ rules: ValueRules) -> JSONValue {
        var object = JSONObject()
        switch type {
        case .string, .text:
            object["type"] = "string"
            object["pattern"] = .string(KindJSONSchema.noNUL)
        case .enum:
            object["type"] = "string"
            object["enum"] = .array((rules.enumValues ?? []).map(JSONValue.string))
        case .integer:
            object["type"] = "integer"
            object["format"] = "int64"
            object["minimum"] = .integer(Int64.min)
            object["maximum"] = .integer(Int64.max)
        case .number:
            object["type"] = "number"
            object["format"] = "double"
        case .boolean:
            object["type"] = "boolean"
        case .datetime:
            object["type"] = "string"
            object["format"] = "date-time"
        case .date:
            object["type"] = "string"
            object["format"] = "date"
        case .list:
            object["type"] = "string"
        }
        return .object(object)
    }

    // MARK: schemas

    static func page(_ kind: KindDefinition) -> JSONValue {
        .object(
            JSONObject([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            ("items", .object(JSONObject([("type", "array"), ("items", ref(name(kind, "Record")))]))),
                            (
                                "next_cursor",
                                .object(
                                    JSONObject([
                                        ("description", "Pass as `cursor` for the next page; null on the last page."),
                                        ("type", ["string", "null"]),
                                    ]))
                            ),
                            (
                                "total",
                                .object(
                                    JSONObject([
                                        ("description", "Records matching the filters; only with `count=exact`."),
                                        ("type", "integer"), ("minimum", 0),
                                    ]))
                            ),
                        ]))
                ),
                ("required", ["items", "next_cursor"]),
                ("additionalProperties", false),
            ]))
    }

    static var problemSchema: JSONValue {
        func prop(_ type: JSONValue, _ description: String, _ extra: [(String, JSONValue)] = []) -> JSONValue {
            var o = JSONObject([("description", .string(description)), ("type", type)])
            for (k, v) in extra { o[k] = v }
            return .object(o)
        }
        let strings = JSONValue.object(JSONObject([("type", "string")]))
        return .object(
            JSONObject([
                ("title", "Problem details (RFC 9457)"),
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            (
                                "type",
                                prop(
                                    "string",
                                    "A URI reference naming the kind of problem, e.g. /problems/validation (every one is listed; docs/api.md says when each occurs).",
                                    [("format", "uri-reference"), ("enum", .array(ProblemType.allCases.map { .string("/problems/\($0.rawValue)") }))])
                            ),
                            ("title", prop("string", "A short summary of the kind of problem: the same for every problem of one type.")),
                            ("status", prop("integer", "The HTTP status code.", [("minimum", 400), ("maximum", 599)])),
                            ("detail", prop("string", "What went wrong with this request and how to fix it.")),
                            (
                                "errors",
                                prop(
                                    "array", "The invalid values of the request: every one, up to the first 100.",
                                    [("items", ref("ValidationIssue")), ("maxItems", 100)])
                            ),
                            (
                                "more_errors",
                                prop(
                                    "integer", "How many invalid values there were beyond the 100 listed in `errors` (present only then).",
                                    [("minimum", 1)])
                            ),
                            ("known_kinds", prop("array", "The kinds this server knows (unknown kind).", [("items", strings)])),
                            ("accepted_formats", prop("array", "The audio formats accepted (415 on upload).", [("items", strings)])),
                            ("max_bytes", prop("integer", "The upload size limit in bytes (413 on upload).", [("minimum", 0)])),
                            ("probed_duration", prop("number", "The duration found in the file, in seconds (422).")),
                            ("declared_duration", prop("number", "The duration the record declares, in seconds (422).")),
                        ]))
                ),
                ("required", ["type", "title", "status", "detail"]),
            ]))
    }

    static var validationIssueSchema: JSONValue {
        .object(
            JSONObject([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            (
                                "field",
                                .object(
                                    JSONObject([
                                        ("description", "Path of the value: `name`, `participants[3]`, a query parameter."), ("type", "string"),
                                    ]))
                            ),
                            (
                                "code",
                                .object(
                                    JSONObject([
                                        ("description", "The rule the value broke (docs/api.md lists what each means)."), ("type", "string"),
                                        ("enum", .array(ValidationCode.allCases.map { .string($0.rawValue) })),
                                    ]))
                            ),
                            ("message", .object(JSONObject([("description", "A sentence a person can act on."), ("type", "string")]))),
                        ]))
                ),
                ("required", ["field", "code", "message"]),
                ("additionalProperties", false),
            ]))
    }

    /// `GET /api/kinds` items (see `KindDescription`).
    static var kindDescriptionSchema: JSONValue {
        let string = JSONValue.object(JSONObject([("type", "string")]))
        let nullableString = JSONValue.object(JSONObject([("type", ["string", "null"])]))
        let integer = JSONValue.object(JSONObject([("type", "integer")]))
        let number = JSONValue.object(JSONObject([("type", "number")]))
        let boolean = JSONValue.object(JSONObject([("type", "boolean")]))
        let strings = JSONValue.object(JSONObject([("type", "array"), ("items", string)]))
        let types = JSONValue.object(JSONObject([("type", "string"), ("enum", .array(FieldType.allCases.map { .string($0.rawValue) }))]))
        let ruleProperties: [(String, JSONValue)] = [
            ("min_length", integer), ("max_length", integer), ("pattern", string), ("min", number), ("max", number),
            ("values", strings), ("not_in_past", boolean),
        ]
        var fieldProperties = JSONObject([
            ("name", string), ("type", types), ("required", boolean), ("description", nullableString),
            ("default", .object(JSONObject([("description", "The default value (any JSON), or null.")]))),
            ("unique", boolean), ("index", boolean),
            (
                "browse",
                .object(
                    JSONObject([
                        ("description", "A browsing field: the directions its (field, id) indexes serve (absent: none)."),
                        ("type", "string"), ("enum", .array(BrowseOrder.allCases.map { .string($0.rawValue) })),
                    ]))
            ),
            (
                "items",
                .object(
                    JSONObject([
                        ("description", "For lists: the item type and its rules."),
                        ("type", "object"),
                        ("properties", .object(JSONObject([("type", types)] + ruleProperties.map { (key: $0.0, value: $0.1) }))),
                        ("required", ["type"]),
                    ]))
            ),
            ("min_items", integer), ("max_items", integer),
        ])
        for (k, v) in ruleProperties { fieldProperties[k] = v }
        let field = JSONValue.object(
            JSONObject([
                ("type", "object"),
                ("properties", .object(fieldProperties)),
                ("required", ["name", "type", "required", "description", "default", "unique", "index"]),
                ("additionalProperties", false),
            ]))
        let upload = JSONValue.object(
            JSONObject([
                ("type", ["object", "null"]),
                (
                    "properties",
                    .object(
                        JSONObject([
                            ("formats", strings),
                            ("max_size", .object(JSONObject([("type", ["integer", "null"])]))),
                            ("duration_field", nullableString),
                            ("duration_tolerance", nullableString),
                        ]))
                ),
                ("required", ["formats", "max_size", "duration_field", "duration_tolerance"]),
                ("additionalProperties", false),
            ]))
        return .object(
            JSONObject([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            ("name", string), ("aliases", strings), ("description", nullableString),
                            (
                                "additional_fields",
                                .object(
                                    JSONObject([("type", "string"), ("enum", .array(AdditionalFieldsPolicy.allCases.map { .string($0.rawValue) }))]))
                            ),
                            ("fields", .object(JSONObject([("type", "array"), ("items", field)]))),
                            ("upload", upload),
                            (
                                "access",
                                .object(
                                    JSONObject([
                                        (
                                            "description",
                                            "Who may read and download without a key (the kind's `access:` block); writes, uploads and deletes always need one."
                                        ),
                                        ("type", "object"),
                                        (
                                            "properties",
                                            .object(
                                                JSONObject([
                                                    (
                                                        "read",
                                                        .object(
                                                            JSONObject([
                                                                ("type", "string"),
                                                                ("enum", .array(ReadAccess.allCases.map { .string($0.rawValue) })),
                                                            ]))
                                                    ),
                                                    (
                                                        "download",
                                                        .object(
                                                            JSONObject([
                                                                ("type", "string"),
                                                                ("enum", .array(DownloadAccess.allCases.map { .string($0.rawValue) })),
                                                            ]))
                                                    ),
                                                ]))
                                        ),
                                        ("required", ["read", "download"]),
                                        ("additionalProperties", false),
                                    ]))
                            ),
                        ]))
                ),
                ("required", ["name", "aliases", "description", "additional_fields", "fields", "upload", "access"]),
                ("additionalProperties", false),
            ]))
    }

    // MARK: helpers

    static func name(_ kind: KindDefinition, _ suffix: String) -> String { "\(kind.name).\(suffix)" }

    static func ref(_ component: String) -> JSONValue {
        .object(JSONObject([("$ref", .string("#/components/schemas/\(component)"))]))
    }

    static func tag(_ name: String, _ description: String) -> JSONValue {
        .object(JSONObject([("name", .string(name)), ("description", .string(description))]))
    }

    static func constString(_ value: String) -> JSONValue {
        .object(JSONObject([("type", "string"), ("const", .string(value))]))
    }

    static func operation(
        _ id: String, tag: String?, summary: String, description: String? = nil, parameters: [JSONValue] = [],
        requestBody: JSONValue? = nil, responses: [(String, JSONValue)]
    ) -> JSONValue {
        var o = JSONObject([("operationId", .string(id))])
        if let tag { o["tags"] = .array([.string(tag)]) }
        o["summary"] = .string(summary)
        if let description { o["description"] = .string(description) }
        if !parameters.isEmpty { o["parameters"] = .array(parameters) }
        if let requestBody { o["requestBody"] = requestBody }
        o["responses"] = .object(JSONObject(responses.map { (key: $0.0, value: $0.1) }))
        return .object(o)
    }

    static func idParameter(_ kind: KindDefinition) -> JSONValue {
        pathParameter(
            "id", "The \(kind.name)'s id, a positive 64-bit integer.",
            .object(
                JSONObject([
                    ("type", "integer"), ("format", "int64"), ("minimum", 1), ("maximum", .integer(Int64.max)),
                ])))
    }

    static func pathParameter(_ name: String, _ description: String, _ schema: JSONValue) -> JSONValue {
        .object(JSONObject([("name", .string(name)), ("in", "path"), ("required", true), ("description", .string(description)), ("schema", schema)]))
    }

    static func queryParameter(_ name: String, _ description: String, _ schema: JSONValue) -> JSONValue {
        .object(
            JSONObject([("name", .string(name)), ("in", "query"), ("required", false), ("description", .string(description)), ("schema", schema)]))
    }

    static func headerParameter(_ name: String, _ description: String) -> JSONValue {
        .object(
            JSONObject([
                ("name", .string(name)), ("in", "header"), ("required", false), ("description", .string(description)),
                ("schema", .object(JSONObject([("type", "string")]))),
            ]))
    }

    static func header(_ description: String, required: Bool, schema: JSONValue = .object(JSONObject([("type", "string")]))) -> JSONValue {
        .object(JSONObject([("description", .string(description)), ("required", .bool(required)), ("schema", schema)]))
    }

    static var etagHeader: JSONValue {
        header("The record's version as a strong entity tag; send it back in If-Match to update safely.", required: true)
    }

    static func jsonRequestBody(_ schema: JSONValue, _ description: String) -> JSONValue {
        .object(
            JSONObject([
                ("description", .string(description)),
                ("required", true),
                ("content", .object(JSONObject([("application/json", .object(JSONObject([("schema", schema)])))]))),
            ]))
    }

    static func jsonResponse(_ description: String, _ schema: JSONValue, headers: [(String, JSONValue)] = []) -> JSONValue {
        var o = JSONObject([("description", .string(description))])
        if !headers.isEmpty { o["headers"] = .object(JSONObject(headers.map { (key: $0.0, value: $0.1) })) }
        o["content"] = .object(JSONObject([("application/json", .object(JSONObject([("schema", schema)])))]))
        return .object(o)
    }

    static func problem(_ description: String, headers: [(String, JSONValue)] = []) -> JSONValue {
        var o = JSONObject([("description", .string(description))])
        if !headers.isEmpty { o["headers"] = .object(JSONObject(headers.map { (key: $0.0, value: $0.1) })) }
        o["content"] = .object(JSONObject([("application/problem+json", .object(JSONObject([("schema", ref("Problem"))])))]))
        return .object(o)
    }
}
