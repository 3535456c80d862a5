import KindModel
import Storage

/// What OpenAPI says about resumable uploads (tus 1.0, `AudioAPI+Resumable.swift`): the creation
/// path and the upload resource of each kind. Security (the `upload:<kind>` scope) is added by
/// `secure`, from the route table, like every other operation's.
extension OpenAPIDocument {
    static func uploadPaths(_ kind: KindDefinition) -> [(String, JSONValue)] {
        let base = "/api/audio/\(kind.name)/{id}/uploads"
        let limit = kind.upload?.maxSize
        let tusResumable = (
            "Tus-Resumable",
            header(
                "The tus version this server speaks: 1.0.0 (on every answer).", required: true,
                schema: .object(JSONObject([("type", "string"), ("const", "1.0.0")])))
        )
        let offsetHeader = header("Bytes stored so far, fsynced: where the next PATCH starts.", required: true, schema: digits)
        let expires = header("When the session and its bytes are removed (an HTTP date).", required: true)
        func tusProblem(_ description: String, _ extra: [(String, JSONValue)] = []) -> JSONValue {
            problem(description, headers: [tusResumable] + extra)
        }
        let versionRefused = (
            "412",
            tusProblem(
                "Tus-Resumable is missing or names another version than 1.0.0.",
                [("Tus-Version", header("The versions this server speaks: 1.0.0.", required: true))])
        )
        let uploadParameter = pathParameter(
            "upload", "The upload session's token, from the Location of its creation.",
            .object(JSONObject([("type", "string"), ("pattern", "^[A-Za-z0-9_-]{43}$")])))
        let versionParameter = JSONValue.object(
            JSONObject([
                ("name", "Tus-Resumable"), ("in", "header"), ("required", true),
                ("description", "The tus protocol version: 1.0.0."),
                ("schema", .object(JSONObject([("type", "string"), ("enum", ["1.0.0"])]))),
            ]))
        func headerParameter(_ name: String, _ description: String, required: Bool, schema: JSONValue) -> JSONValue {
            .object(
                JSONObject([
                    ("name", .string(name)), ("in", "header"), ("required", .bool(required)),
                    ("description", .string(description)), ("schema", schema),
                ]))
        }
        let checksumParameter = headerParameter(
            "Upload-Checksum", "`sha1 <base64>` or `sha256 <base64>` of this request's bytes; a mismatch discards them (460).",
            required: false,
            schema: .object(
                JSONObject([
                    ("type", "string"), ("pattern", "^sha(1 [A-Za-z0-9+/]{27}|256 [A-Za-z0-9+/]{43})=$"),
                    ("examples", ["sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]),
                ])))
        let chunk = JSONValue.object(
            JSONObject([
                ("description", "The next bytes of the file, from Upload-Offset."),
                ("required", false),
                (
                    "content",
                    .object(
                        JSONObject([
                            (
                                "application/offset+octet-stream",
                                .object(
                                    JSONObject([
                                        ("schema", .object(JSONObject([("type", "string"), ("format", "binary")])))
                                    ]))
                            )
                        ]))
                ),
            ]))
        let sizeText = limit.map { " At most \($0) bytes." } ?? ""

        let options = operation(
            "upload_options_\(kind.name)", tag: kind.name, summary: "What resumable uploads of a \(kind.name) support (tus 1.0).",
            parameters: [idParameter(kind)],
            responses: [
                (
                    "204",
                    .object(
                        JSONObject([
                            ("description", "The tus version, extensions, size limit and checksum algorithms."),
                            (
                                "headers",
                                .object(
                                    JSONObject([
                                        tusResumable,
                                        ("Tus-Version", header("1.0.0", required: true)),
                                        (
                                            "Tus-Extension",
                                            header("creation, creation-with-upload, termination, checksum, expiration.", required: true)
                                        ),
                                        ("Tus-Max-Size", header("The kind's file size limit in bytes.", required: true, schema: digits)),
                                        ("Tus-Checksum-Algorithm", header("sha1,sha256", required: true)),
                                    ]))
                            ),
                        ]))
                ),
                ("400", tusProblem("The id is not a positive integer.")),
                ("404", tusProblem("No such kind.")),
            ])
        let create = operation(
            "create_\(kind.name)_upload", tag: kind.name, summary: "Start a resumable upload of a \(kind.name)'s file (tus creation).",
            description:
                "Upload-Length declares the file's size.\(sizeText) A body (creation-with-upload) stores the first bytes at once. When the last byte arrives the file is checked exactly as by PUT.",
            parameters: [
                idParameter(kind), versionParameter,
                headerParameter(
                    "Upload-Length", "The whole file's size in bytes.", required: true,
                    schema: .object(JSONObject([("type", "string"), ("pattern", "^[1-9][0-9]{0,17}$")]))),
                headerParameter(
                    "Upload-Metadata", "tus metadata, comma-separated `key base64` pairs: `filename <base64 of UTF-8>` keeps the file's name.",
                    required: false,
                    schema: .object(
                        JSONObject([
                            ("type", "string"), ("maxLength", 4096),
                            ("pattern", .string("^\(metadataPair)(,\(metadataPair))*$")),
                        ]))),
                checksumParameter,
            ],
            requestBody: chunk,
            responses: [
                (
                    "201",
                    .object(
                        JSONObject([
                            ("description", "The session; its URL is in Location."),
                            (
                                "headers",
                                .object(
                                    JSONObject([
                                        tusResumable,
                                        ("Location", header("The upload's URL (HEAD, PATCH, DELETE).", required: true)),
                                        ("Upload-Expires", expires),
                                        ("Upload-Offset", header("Bytes stored, when the request carried some.", required: false, schema: digits)),
                                    ]))
                            ),
                        ]))
                ),
                (
                    "400",
                    tusProblem("Upload-Length missing, invalid or 0, Upload-Defer-Length, malformed Upload-Metadata or Upload-Checksum, or a bad id.")
                ),
                ("404", tusProblem("No \(kind.name) has this id.")),
                versionRefused,
                ("413", tusProblem("Upload-Length is over the kind's limit, or the body is longer than Upload-Length.")),
                (
                    "415",
                    tusProblem("A body that is not application/offset+octet-stream; or the file, complete in this request, is not accepted audio.")
                ),
                ("422", tusProblem("The file, complete in this request, disagrees with the record's duration.")),
                ("460", tusProblem("The body does not match Upload-Checksum.")),
            ])
        let status = operation(
            "head_\(kind.name)_upload", tag: kind.name, summary: "How much of a resumable upload is stored.",
            parameters: [idParameter(kind), uploadParameter, versionParameter],
            responses: [
                (
                    "200",
                    .object(
                        JSONObject([
                            (
                                "description",
                                "The offset to resume from. An upload whose every byte is stored but which was not completed (its completion failed on the server's side, or its last append was cut after its last byte) is completed first, as an empty PATCH at that offset would: Upload-Offset equal to Upload-Length then means the record has its file. A completed upload keeps answering so (every byte stored) until its Upload-Expires, for a client whose last answer was lost."
                            ),
                            (
                                "headers",
                                .object(
                                    JSONObject([
                                        tusResumable,
                                        ("Upload-Offset", offsetHeader),
                                        ("Upload-Length", header("The declared size.", required: true, schema: digits)),
                                        ("Upload-Expires", expires),
                                        ("Cache-Control", header("no-store", required: true)),
                                        ("Upload-Metadata", header("The metadata sent at creation.", required: false)),
                                    ]))
                            ),
                        ]))
                ),
                (
                    "204",
                    .object(
                        JSONObject([
                            (
                                "description",
                                "The IETF draft's answer (a request with Upload-Draft-Interop-Version): Upload-Offset, Upload-Complete (?1 once the upload completed, until it expires), Upload-Length when known, Upload-Limit."
                            )
                        ]))
                ),
                ("400", tusProblem("The id is not a positive integer.")),
                ("404", tusProblem("No such upload for this record, or the record was deleted (its upload is removed).")),
                ("409", tusProblem("upload-busy: another request is completing this upload now; wait (Retry-After), then HEAD again.")),
                ("410", tusProblem("The upload expired; its bytes are removed.")),
                ("415", tusProblem("The upload it completed is not audio of an accepted format; the session and its bytes are removed.")),
                ("422", tusProblem("The upload it completed breaks the kind's rules (duration); the session and its bytes are removed.")),
                versionRefused,
            ])
        let append = operation(
            "append_\(kind.name)_upload", tag: kind.name, summary: "Append bytes to a resumable upload at its offset.",
            description:
                "204 with the new Upload-Offset once the bytes are on disk. The request that brings the last byte also checks and stores the file as PUT does (the refusal's status when it is refused, and the upload is removed). A completed upload (until its Upload-Expires) takes no more bytes: an empty append at its end is acknowledged again (tus: 204; the draft with Upload-Complete: ?1: the record, as the completing answer), any other is refused (400 upload-complete, or 409 at another offset).",
            parameters: [
                idParameter(kind), uploadParameter, versionParameter,
                headerParameter("Upload-Offset", "The offset HEAD returned.", required: true, schema: digits),
                checksumParameter,
            ],
            requestBody: chunk,
            responses: [
                (
                    "200",
                    jsonResponse(
                        "The IETF draft's completing append (Upload-Complete: ?1, application/partial-upload): what PUT answers, the record with its file."
                            + idOnlyNote(idOnly: mayAnswerIdOnly(kind)),
                        writeAnswer(ref(name(kind, "Record")), idOnly: mayAnswerIdOnly(kind)))
                ),
                (
                    "204",
                    .object(
                        JSONObject([
                            ("description", "Stored; the next offset."),
                            ("headers", .object(JSONObject([tusResumable, ("Upload-Offset", offsetHeader), ("Upload-Expires", expires)]))),
                        ]))
                ),
                (
                    "400",
                    tusProblem(
                        "Upload-Offset missing or invalid, malformed Upload-Checksum, a bad id, or bytes for a completed upload (upload-complete).")
                ),
                ("404", tusProblem("No such upload for this record, or the record was deleted.")),
                (
                    "409",
                    tusProblem(
                        "Upload-Offset is not the upload's offset (upload-offset-mismatch), or another request is appending now (upload-busy).",
                        [("Retry-After", header("With upload-busy: seconds to wait before HEAD and resuming.", required: false))])
                ),
                ("410", tusProblem("The upload expired, or its stored bytes are gone.")),
                versionRefused,
                ("413", tusProblem("More bytes than Upload-Length leaves, or a completed file over the kind's limit.")),
                ("415", tusProblem("Not application/offset+octet-stream, or the completed file is not accepted audio.")),
                ("422", tusProblem("The completed file disagrees with the record's duration.")),
                ("460", tusProblem("The bytes do not match Upload-Checksum; they were discarded.")),
            ])
        let cancel = operation(
            "delete_\(kind.name)_upload", tag: kind.name, summary: "Terminate a resumable upload: its bytes are removed.",
            description: "A completed upload is forgotten (its URL answers 404 from then on); the record keeps its file.",
            parameters: [idParameter(kind), uploadParameter, versionParameter],
            responses: [
                ("204", .object(JSONObject([("description", "Removed."), ("headers", .object(JSONObject([tusResumable])))]))),
                ("400", tusProblem("The id is not a positive integer.")),
                ("404", tusProblem("No such upload for this record.")),
                versionRefused,
            ])
        return [
            (base, .object(JSONObject([("options", options), ("post", create)]))),
            (base + "/{upload}", .object(JSONObject([("head", status), ("patch", append), ("delete", cancel)]))),
        ]
    }

    // MARK: the IETF draft on PUT (`AudioAPI+ResumableDraft.swift`)

    /// `Upload-Limit` as the draft spells it (a structured dictionary).
    static let uploadLimitHeader = header(
        "The limits of a resumable upload here: `max-size` (the kind's file limit), `max-append-size` (the largest single request) and, for an upload resource, `max-age` (seconds until it expires).",
        required: true, schema: .object(JSONObject([("type", "string"), ("examples", ["max-size=104857600, max-append-size=67108864"])])))

    /// The header that makes a `PUT` a resumable upload (IETF draft); without it, a plain upload.
    /// `Upload-Complete` is a plain string here, not an enum of `?0`/`?1`: the draft ignores a value
    /// that is not a structured boolean (RFC 8941), so no string is invalid. `Upload-Length` and
    /// `Upload-Draft-Interop-Version` are described in its text rather than as parameters: the
    /// length must agree with the body (no schema can say so), and the interop version asks for an
    /// interim 104, which a client generated from this document (Python's http.client, for one)
    /// takes for the final answer.
    static var resumablePutParameters: [JSONValue] {
        [
            .object(
                JSONObject([
                    ("name", "Upload-Complete"), ("in", "header"), ("required", false),
                    (
                        "description",
                        "Makes this PUT a resumable upload (IETF draft \"Resumable Uploads for HTTP\"): `?1` when the body is the whole file (200 and the record, as a plain PUT), `?0` when more follows (201 with the upload resource in Location, continued with PATCH there); the raw file as the body, not multipart. `Upload-Length` may declare the whole file's size (it must agree with the bytes). With `Upload-Draft-Interop-Version: 8` the server first sends an interim 104 with the upload resource, so a cut request can be resumed. Any other value, or none: a plain PUT."
                    ),
                    ("schema", .object(JSONObject([("type", "string"), ("examples", ["?1"])]))),
                ]))
        ]
    }

    /// The interim 104 that announces a resumable PUT's upload resource before its body is read.
    static let resumablePutAnnouncement: (String, JSONValue) = (
        "104",
        .object(
            JSONObject([
                (
                    "description",
                    "Upload Resumption Supported (interim, before the final answer): sent when the request has Upload-Complete and Upload-Draft-Interop-Version: 8. If the connection drops, HEAD the Location for the offset and resume with PATCH."
                ),
                (
                    "headers",
                    .object(
                        JSONObject([
                            ("Location", header("The upload resource (HEAD, PATCH, DELETE).", required: true)),
                            ("Upload-Limit", uploadLimitHeader),
                            ("Upload-Draft-Interop-Version", header("8", required: true)),
                        ]))
                ),
            ]))
    )

    /// A resumable PUT with `Upload-Complete: ?0`: the upload resource, holding this body's bytes.
    static let resumablePutCreated: (String, JSONValue) = (
        "201",
        .object(
            JSONObject([
                ("description", "Upload-Complete: ?0: the upload resource, with this request's bytes stored; continue with PATCH at Location."),
                (
                    "headers",
                    .object(
                        JSONObject([
                            ("Location", header("The upload resource (HEAD, PATCH, DELETE).", required: true)),
                            ("Upload-Complete", header("?0", required: true)),
                            ("Upload-Offset", header("Bytes stored, fsynced: where the next PATCH starts.", required: true, schema: digits)),
                            ("Upload-Limit", uploadLimitHeader),
                        ]))
                ),
            ]))
    )

    /// `OPTIONS /api/audio/<kind>/{id}`: the limits a resumable PUT gets.
    static func uploadLimits(_ kind: KindDefinition) -> JSONValue {
        operation(
            "upload_limits_\(kind.name)", tag: kind.name, summary: "The limits of a resumable PUT of a \(kind.name)'s file (IETF draft).",
            description: "Answers without looking the record up; the limits are those an upload created by PUT gets.",
            parameters: [idParameter(kind)],
            responses: [
                (
                    "204",
                    .object(
                        JSONObject([
                            ("description", "Resumable uploads are supported here, within Upload-Limit."),
                            (
                                "headers",
                                .object(
                                    JSONObject([
                                        ("Upload-Limit", uploadLimitHeader),
                                        ("Allow", header("The methods this path answers.", required: true)),
                                    ]))
                            ),
                        ]))
                ),
                ("400", problem("The id is not a positive integer.")),
                ("404", problem("No such kind.")),
            ])
    }

    /// One `key base64` pair of `Upload-Metadata` (the value may be left out).
    private static let metadataPair = "[A-Za-z0-9_.-]+( (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)?"

    /// A non-negative integer written in decimal, as tus headers carry them (18 digits at most: always an Int64).
    private static var digits: JSONValue { .object(JSONObject([("type", "string"), ("pattern", "^[0-9]{1,18}$")])) }
}
