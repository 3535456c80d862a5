import KindModel
import Storage

/// What OpenAPI says about access: the bearer scheme, each operation's security requirement
/// (derived from `APIOperation.access` and the kind's `access:` block, like the checks
/// themselves), and the admin routes for keys and the audit trail.
extension OpenAPIDocument {
    static var securitySchemes: JSONValue {
        .object(
            JSONObject([
                (
                    "bearerAuth",
                    .object(
                        JSONObject([
                            ("type", "http"), ("scheme", "bearer"),
                            ("description", "An API key (`audio-server keys create`, or POST /api/keys): Authorization: Bearer afs_…"),
                        ]))
                )
            ]))
    }

    /// Sets `security` and the refusals (401, 403, 429) on `description`, from the decision the
    /// access check makes for `operation` (on `kind`, for kind routes).
    static func secured(_ description: JSONValue, _ operation: APIOperation, kind: KindDefinition?) -> JSONValue {
        guard var described = description.objectValue else { return description }
        let decision: AccessDecision =
            kind.map { operation.decision(for: $0) }
            ?? {
                switch operation.access {
                case .open: .allowed
                case .admin: .needsScope(.admin)
                case .kind: .needsScope(.action(.write, kind: "<kind>"))  // create: the kind is in the body
                }
            }()
        var responses = described["responses"]?.objectValue ?? JSONObject()
        switch decision {
        case .allowed:
            // Open to all, but a key that is sent is still checked: a bad one is a 401, and
            // an address locked out for guessing gets 429 (`AccessGate.identify`).
            described["security"] = .array([])
            if operation.access != .open { credentialRefusals(&responses) }
        case .needsScope(let scope):
            described["security"] = .array([.object(JSONObject([("bearerAuth", .array([]))]))])
            described["x-required-scope"] = .string(scope.description)
            refusals(&responses, scope: scope)
        case .needsScopeOrSignature(let scope):
            // A key, or a signed link in the query (expires, signature).
            described["security"] = .array([.object(JSONObject([("bearerAuth", .array([]))])), .object(JSONObject())])
            described["x-required-scope"] = .string(scope.description)
            var parameters = described["parameters"]?.arrayValue ?? []
            parameters.append(
                queryParameter(
                    "expires", "A signed link's expiry (Unix seconds), as POST …/file/link returned it.",
                    .object(JSONObject([("type", "integer"), ("format", "int64")]))))
            parameters.append(
                queryParameter(
                    "signature", "A signed link's signature, as POST …/file/link returned it.",
                    .object(JSONObject([("type", "string"), ("pattern", "^[A-Za-z0-9_-]{43}$")]))))
            described["parameters"] = .array(parameters)
            refusals(&responses, scope: scope)
        }
        described["responses"] = .object(responses)
        return .object(described)
    }

    static func refusals(_ responses: inout JSONObject, scope: Scope) {
        credentialRefusals(&responses)
        if responses["403"] == nil {
            responses["403"] = problem(
                "The key lacks the \(scope) scope, or a signed link does not verify or has expired.",
                headers: [
                    (
                        "WWW-Authenticate",
                        header(
                            "When the key lacks the scope (RFC 6750 insufficient_scope): \(AccessProblems.insufficientScopeChallenge(scope))",
                            required: false)
                    )
                ])
        }
    }

    /// What any request presenting a key may get: 401 for a bad key, 429 while its address is locked out.
    static func credentialRefusals(_ responses: inout JSONObject) {
        if responses["401"] == nil {
            responses["401"] = problem(
                "No key, or a malformed, unknown, revoked or expired one (WWW-Authenticate: Bearer, with error=\"invalid_token\" when a bearer key was refused).",
                headers: [("WWW-Authenticate", header("Bearer realm=\"audio-server\"", required: true))])
        }
        if responses["429"] == nil {
            responses["429"] = problem(
                "Too many failed authentications from this address; retry after Retry-After seconds.",
                headers: [("Retry-After", header("Seconds until another attempt is accepted.", required: true))])
        }
    }

    static func createLink(_ kind: KindDefinition) -> JSONValue {
        let link = JSONValue.object(
            JSONObject([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            (
                                "url",
                                .object(
                                    JSONObject([("type", "string"), ("description", "Path and query of the signed link; plays without headers.")]))
                            ),
                            ("expires_at", .object(JSONObject([("type", "string"), ("format", "date-time")]))),
                        ]))
                ),
                ("required", ["url", "expires_at"]),
                ("additionalProperties", false),
            ]))
        return operation(
            "link_\(kind.name)_file", tag: kind.name, summary: "A signed link to the \(kind.name)'s file for players that cannot send headers.",
            parameters: [
                idParameter(kind),
                queryParameter(
                    "expires_in", "Lifetime in seconds, 1 to 604800 (7 days); default 3600.",
                    .object(JSONObject([("type", "integer"), ("minimum", 1), ("maximum", 604_800)]))),
            ],
            responses: [
                ("200", jsonResponse("The link and when it expires.", link)),
                ("400", problem("expires_in is out of range or given twice, another query parameter is sent, or the id is not a positive integer.")),
                ("404", problem("No such record, or it has no file yet.")),
            ])
    }

    static var listKeys: JSONValue {
        operation(
            "list_keys", tag: "access", summary: "Every API key (never its secret).",
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The keys, newest first.",
                        .object(
                            JSONObject([
                                ("type", "object"),
                                ("properties", .object(JSONObject([("items", .object(JSONObject([("type", "array"), ("items", ref("APIKey"))])))]))),
                                ("required", ["items"]),
                            ])))
                )
            ])
    }

    static var currentKey: JSONValue {
        let key = JSONValue.object(
            JSONObject([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            ("id", .object(JSONObject([("type", "integer"), ("format", "int64")]))),
                            ("name", .object(JSONObject([("type", "string")]))),
                            ("scopes", .object(JSONObject([("type", "array"), ("items", .object(JSONObject([("type", "string")])))]))),
                        ]))
                ),
                ("required", ["id", "name", "scopes"]),
                ("additionalProperties", false),
            ]))
        return operation(
            "current_key", tag: "access", summary: "The key this request sent and its scopes (null without a key).",
            description: "For clients that show what a key may do (the web console). Never returns the secret.",
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The caller's key, or null.",
                        .object(
                            JSONObject([
                                ("type", "object"),
                                (
                                    "properties",
                                    .object(
                                        JSONObject([
                                            ("key", .object(JSONObject([("oneOf", .array([.object(JSONObject([("type", "null")])), key]))])))
                                        ]))
                                ),
                                ("required", ["key"]),
                                ("additionalProperties", false),
                            ])))
                ),
                ("401", problem("The key that was sent is malformed, unknown, revoked or expired.")),
                ("429", problem("Too many failed authentications from this address.")),
            ])
    }

    static var createKey: JSONValue {
        operation(
            "create_key", tag: "access", summary: "Make a key; its secret is in this response only.",
            requestBody: jsonRequestBody(ref("APIKeyRequest"), "The key's name, scopes and optional expiry."),
            responses: [
                ("201", jsonResponse("The key with its secret.", ref("APIKeyWithSecret"))),
                ("400", problem("A field is missing or invalid (errors[] names it).")),
                ("409", problem("A working key already has this name.")),
                ("413", problem("The body is larger than 64 KiB.")),
                ("415", problem("The body is not JSON (send Content-Type: application/json).")),
            ])
    }

    static var revokeKey: JSONValue {
        let idParameter = pathParameter("id", "The key's id.", .object(JSONObject([("type", "integer"), ("format", "int64"), ("minimum", 1)])))
        return operation(
            "revoke_key", tag: "access", summary: "Revoke a key: it stops working at once on every server.",
            parameters: [idParameter],
            responses: [
                ("204", .object(JSONObject([("description", "Revoked.")]))),
                ("404", problem("No working key has this id.")),
            ])
    }

    static func listAudit(_ catalog: KindCatalog) -> JSONValue {
        operation(
            "list_audit", tag: "access", summary: "The audit trail, newest first.",
            parameters: [
                queryParameter(
                    "limit", "Items per page, 1–500 (default 50).", .object(JSONObject([("type", "integer"), ("minimum", 1), ("maximum", 500)]))),
                queryParameter("cursor", "The next_cursor of the previous page.", .object(JSONObject([("type", "string")]))),
                queryParameter(
                    "kind",
                    "Only this kind (its name; an alias finds the same rows). A kind no longer served is read with `audio-server audit --kind`.",
                    .object(
                        JSONObject([("type", "string"), ("enum", .array(catalog.kinds.flatMap { [$0.name] + $0.aliases }.map(JSONValue.string)))]))),
                queryParameter(
                    "record_id", "Only this record (or key, for key actions).", .object(JSONObject([("type", "integer"), ("format", "int64")]))),
                queryParameter("key_id", "Only changes made with this key.", .object(JSONObject([("type", "integer"), ("format", "int64")]))),
                queryParameter(
                    "action", "Only this action.",
                    .object(JSONObject([("type", "string"), ("enum", .array(AuditAction.allCases.map { .string($0.rawValue) }))]))),
            ],
            responses: [
                (
                    "200",
                    jsonResponse(
                        "A page of audit rows.",
                        .object(
                            JSONObject([
                                ("type", "object"),
                                (
                                    "properties",
                                    .object(
                                        JSONObject([
                                            ("items", .object(JSONObject([("type", "array"), ("items", ref("AuditEntry"))]))),
                                            ("next_cursor", .object(JSONObject([("type", ["string", "null"])]))),
                                        ]))
                                ),
                                ("required", ["items", "next_cursor"]),
                            ])))
                ),
                (
                    "400",
                    problem(
                        "An unknown parameter, a bad value (a kind that is not served, an action that does not exist), or a parameter given twice; errors[] names it."
                    )
                ),
            ])
    }

    /// - Parameter catalog: the scopes a key may hold name its kinds, so they are listed exactly.
    static func accessSchemas(_ catalog: KindCatalog) -> [(String, JSONValue)] {
        let string = JSONValue.object(JSONObject([("type", "string")]))
        let nullableString = JSONValue.object(JSONObject([("type", ["string", "null"])]))
        let nullableInteger = JSONValue.object(JSONObject([("type", ["integer", "null"]), ("format", "int64")]))
        let every = ["admin"] + KindAction.allCases.flatMap { action in (["*"] + catalog.names).map { "\(action.rawValue):\($0)" } }
        let scopes = JSONValue.object(
            JSONObject([
                ("type", "array"), ("minItems", 1),
                (
                    "items",
                    .object(
                        JSONObject([
                            ("type", "string"), ("description", "admin, read:KIND, write:KIND, upload:KIND, delete:KIND, or ACTION:* (every kind)"),
                            ("enum", .array(every.map(JSONValue.string))),
                        ]))
                ),
            ]))
        var keyProperties: [(key: String, value: JSONValue)] = [
            ("id", .object(JSONObject([("type", "integer"), ("format", "int64")]))), ("name", string), ("scopes", scopes),
            ("created_at", string), ("expires_at", nullableString), ("last_used_at", nullableString),
            ("revoked", .object(JSONObject([("type", "boolean")]))),
        ]
        let key = JSONValue.object(
            JSONObject([
                ("type", "object"), ("properties", .object(JSONObject(keyProperties))),
                ("required", .array(keyProperties.map { .string($0.key) })),
            ]))
        keyProperties.append(("secret", .object(JSONObject([("type", "string"), ("description", "Shown this once; store it now.")]))))
        let withSecret = JSONValue.object(
            JSONObject([
                ("type", "object"), ("properties", .object(JSONObject(keyProperties))),
                ("required", .array(keyProperties.map { .string($0.key) })),
            ]))
        let request = JSONValue.object(
            JSONObject([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            (
                                "name",
                                .object(
                                    JSONObject([
                                        ("type", "string"), ("minLength", 1), ("maxLength", .integer(Int64(KeyName.maxLength))),
                                        ("pattern", .string(KeyName.pattern)),
                                    ]))
                            ),
                            ("scopes", scopes),
                            ("expires_at", .object(JSONObject([("type", ["string", "null"]), ("format", "date-time")]))),
                        ]))
                ),
                ("required", ["name", "scopes"]),
                ("additionalProperties", false),
            ]))
        let entry = JSONValue.object(
            JSONObject([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        JSONObject([
                            ("id", .object(JSONObject([("type", "integer"), ("format", "int64")]))), ("at", string),
                            ("key_id", nullableInteger), ("key_name", nullableString),
                            (
                                "action",
                                .object(JSONObject([("type", "string"), ("enum", .array(AuditAction.allCases.map { .string($0.rawValue) }))]))
                            ),
                            ("kind", nullableString), ("record_id", nullableInteger), ("request_id", nullableString), ("client", nullableString),
                        ]))
                ),
                ("required", ["id", "at", "key_id", "key_name", "action", "kind", "record_id", "request_id", "client"]),
            ]))
        return [("APIKey", key), ("APIKeyWithSecret", withSecret), ("APIKeyRequest", request), ("AuditEntry", entry)]
    }
}
