import KindModel

/// What a write answers (`JSONResponse.record(_:_:readable:)`): the record, or, to a caller who
/// may not read the kind (reads need a key and its key lacks `read:<kind>`), only `{"id": N}`.
/// The minimal form is documented only where it can happen: on kinds whose reads are not public.
extension OpenAPIDocument {
    static let idOnlyComponent = "RecordIdOnly"

    static let idOnlySchema: JSONValue = .object(
        JSONObject([
            ("type", "object"),
            (
                "description",
                "A write's answer to a caller who may not read the kind (its key has write or upload but not read scope): the record's id only. Status, Location and ETag are those of the full answer."
            ),
            ("required", ["id"]),
            ("properties", .object(JSONObject([("id", .object(JSONObject([("type", "integer"), ("minimum", .integer(1))])))]))),
            ("additionalProperties", .bool(false)),
        ]))

    /// Whether a write on `kind` may answer `{"id": N}` (its reads need a key).
    static func mayAnswerIdOnly(_ kind: KindDefinition) -> Bool { kind.access.read != .public }

    /// `record` (a schema of the full answer), or also the id-only form when `idOnly`.
    static func writeAnswer(_ record: JSONValue, idOnly: Bool) -> JSONValue {
        guard idOnly else { return record }
        return .object(JSONObject([("anyOf", .array([record, ref(idOnlyComponent)]))]))
    }

    /// A sentence for a write's description, when the id-only form can happen.
    static func idOnlyNote(idOnly: Bool) -> String {
        idOnly ? " A caller whose key may not read the kind gets only `{\"id\": N}` (same status, Location and ETag)." : ""
    }
}
