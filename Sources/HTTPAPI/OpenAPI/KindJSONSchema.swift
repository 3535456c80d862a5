public import KindModel
import Storage

/// JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) for a kind's records and request bodies,
/// derived from the kind definition alone so that a kind added as YAML gets its schemas too.
///
/// The schemas state what the server really enforces and really sends:
/// - strings count code points (`maxLength` in JSON Schema does too) and never contain NUL;
/// - integers are 64-bit: an integer field without `min`/`max` still shows the `bigint` bounds;
/// - in requests `null` is accepted for optional fields (it clears the value, or means absent);
/// - in responses every field is present, optional scalars may be `null`, lists are never `null`.
public enum KindJSONSchema {
    public static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// The record as responses carry it, standalone (with `$schema`).
    public static func record(_ kind: KindDefinition) -> JSONValue {
        var object = JSONObject([("$schema", .string(dialect)), ("$id", .string("/api/kinds/\(kind.name)"))])
        for (key, value) in recordBody(kind, fileSchema: AudioFileSchema.schema).entries { object[key] = value }
        return .object(object)
    }

    /// What a client may send to create a record of the kind — `GET /api/kinds/<kind>` serves this
    /// (standalone, with `$schema`), since a form is built from what may be sent, not from what
    /// a stored record has (`id`, timestamps, `file`). The record's schema is named in
    /// `x-record-schema` (`components/schemas/<kind>.Record` of `/openapi.json`).
    public static func input(_ kind: KindDefinition) -> JSONValue {
        var object = JSONObject([("$schema", .string(dialect)), ("$id", .string("/api/kinds/\(kind.name)"))])
        for (key, value) in createRequest(kind).objectValue?.entries ?? [] { object[key] = value }
        object["title"] = .string(kind.name)
        object["x-record-schema"] = .string("/openapi.json#/components/schemas/\(kind.name).Record")
        return .object(object)
    }

    /// The body of `POST /api/audio/create` for this kind: `filetype` plus the fields.
    public static func createRequest(_ kind: KindDefinition) -> JSONValue {
        var properties = JSONObject()
        properties["filetype"] = .object(
            JSONObject([
                ("description", .string("The kind of record: '\(kind.name)'\(kind.aliases.isEmpty ? "" : " or an alias").")),
                ("type", .string("string")),
                ("enum", .array(([kind.name] + kind.aliases).map(JSONValue.string))),
            ]))
        var required: [String] = ["filetype"]
        for field in kind.fields {
            properties[field.name] = fieldSchema(field, request: true, withDefault: true)
            if !mayBeOmittedOnCreate(field) { required.append(field.name) }
        }
        var object = JSONObject([
            ("title", .string("\(kind.name) create request")),
            ("description", .string("Creates a \(kind.name). Omitted optional fields take their default (lists default to []); null means absent.")),
            ("type", .string("object")),
            ("properties", .object(properties)),
            ("required", .array(required.map(JSONValue.string))),
        ])
        if kind.additionalFields == .reject { object["additionalProperties"] = false }
        return .object(object)
    }

    /// The body of `PATCH /api/audio/<kind>/<id>`: any subset of the fields; `null` clears an optional one.
    public static func updateRequest(_ kind: KindDefinition) -> JSONValue {
        var properties = JSONObject()
        properties["filetype"] = .object(
            JSONObject([
                ("description", "May be sent, but only unchanged (a record never changes kind)."),
                ("type", "string"),
                ("enum", .array(([kind.name] + kind.aliases).map(JSONValue.string))),
            ]))
        for field in kind.fields { properties[field.name] = fieldSchema(field, request: true, withDefault: false) }
        var object = JSONObject([
            ("title", .string("\(kind.name) update request")),
            ("description", .string("Changes only the fields present; null clears an optional field (a list becomes []).")),
            ("type", .string("object")),
            ("properties", .object(properties)),
        ])
        if kind.additionalFields == .reject { object["additionalProperties"] = false }
        return .object(object)
    }

    // MARK: building blocks shared with the OpenAPI document

    /// The record schema without `$schema`/`$id`; `fileSchema` is the `file` member's non-null schema
    /// (inline for the standalone schema, a `$ref` inside the OpenAPI document).
    static func recordBody(_ kind: KindDefinition, fileSchema: JSONValue) -> JSONObject {
        var properties = JSONObject()
        properties["id"] = .object(
            JSONObject([
                ("description", .string("Assigned by the server.")),
                ("type", .string("integer")), ("format", .string("int64")),
                ("minimum", 1), ("maximum", .integer(Int64.max)),
            ]))
        properties["filetype"] = .object(
            JSONObject([
                ("description", .string("The canonical kind name, even when the record was created with an alias.")),
                ("type", .string("string")), ("const", .string(kind.name)),
            ]))
        for field in kind.fields { properties[field.name] = fieldSchema(field, request: false, withDefault: true) }
        properties["uploaded_time"] = timestamp("When the current file was uploaded; null until then.", nullable: true)
        properties["created_at"] = timestamp("When the record was created.", nullable: false)
        properties["updated_at"] = timestamp("When the record last changed; advances on every write.", nullable: false)
        properties["file"] = .object(
            JSONObject([
                ("description", .string("The stored audio file; null until one is uploaded.")),
                ("anyOf", .array([fileSchema, .object(JSONObject([("type", .string("null"))]))])),
            ]))
        var object = JSONObject([("title", .string(kind.name))])
        if let description = kind.description { object["description"] = .string(description) }
        object["type"] = .string("object")
        object["properties"] = .object(properties)
        object["required"] = .array(properties.keys.map(JSONValue.string))
        object["additionalProperties"] = false
        return object
    }

    /// Whether a create request may leave the field out: it has a default, is optional, or is a list
    /// whose empty default satisfies its `min_items`.
    static func mayBeOmittedOnCreate(_ field: FieldDefinition) -> Bool {
        if field.defaultValue != nil { return true }
        if field.isList { return (field.minItems ?? 0) == 0 }
        return !field.required
    }

    /// One field's schema. In requests an optional field also accepts `null`; in responses an
    /// optional scalar may be `null` but a list never is.
    static func fieldSchema(_ field: FieldDefinition, request: Bool, withDefault: Bool) -> JSONValue {
        let nullable = !field.required && (request || !field.isList)
        var object = JSONObject()
        var description = field.description
        if field.rules.notInPast {
            description = (description.map { $0 + " " } ?? "") + "Must not be in the past when written (`x-not-in-past`)."
        }
        if let description { object["description"] = .string(description) }
        if field.isList, let itemType = field.itemType {
            object["type"] = nullable ? .array(["array", "null"]) : "array"
            object["items"] = .object(valueSchema(itemType, rules: field.rules, nullable: false, request: request))
            if let lo = field.minItems { object["minItems"] = .integer(Int64(lo)) }
            if let hi = field.maxItems { object["maxItems"] = .integer(Int64(hi)) }
        } else {
            for (key, value) in valueSchema(field.type, rules: field.rules, nullable: nullable, request: request).entries {
                object[key] = value
            }
        }
        if withDefault, let value = field.defaultValue { object["default"] = value }
        if field.unique { object["x-unique"] = true }
        return .object(object)
    }

    /// Requests may not carry NUL characters (PostgreSQL text cannot store them).
    static let noNUL = "^[^\\u0000]*$"

    /// The schema of one scalar value of `type` under `rules`.
    static func valueSchema(_ type: FieldType, rules: ValueRules, nullable: Bool, request: Bool) -> JSONObject {
        func typeName(_ name: String) -> JSONValue { nullable ? .array([.string(name), "null"]) : .string(name) }
        var object = JSONObject()
        switch type {
        case .string, .text:
            object["type"] = typeName("string")
            if let lo = rules.minLength { object["minLength"] = .integer(Int64(lo)) }
            if let hi = rules.maxLength { object["maxLength"] = .integer(Int64(hi)) }
            if let pattern = rules.pattern {
                object["pattern"] = .string(pattern)
                if request { object["not"] = .object(JSONObject([("type", "string"), ("pattern", "\\u0000")])) }
            } else if request {
                object["pattern"] = .string(noNUL)
            }
        case .enum:
            object["type"] = typeName("string")
            var values = (rules.enumValues ?? []).map(JSONValue.string)
            if nullable { values.append(.null) }
            object["enum"] = .array(values)
        case .integer:
            object["type"] = typeName("integer")
            object["format"] = "int64"
            object["minimum"] = .integer(integerBound(rules.min, rounding: .up) ?? Int64.min)
            object["maximum"] = .integer(integerBound(rules.max, rounding: .down) ?? Int64.max)
        case .number:
            object["type"] = typeName("number")
            object["format"] = "double"
            if let lo = rules.min { object["minimum"] = .double(lo) }
            if let hi = rules.max { object["maximum"] = .double(hi) }
        case .boolean:
            object["type"] = typeName("boolean")
        case .datetime, .date:
            // `anyOf` rather than `type: [string, null]`: generators (schemathesis among them)
            // drop the format of a multi-type schema and send plain strings.
            var formatted = JSONObject([("type", "string"), ("format", type == .date ? "date" : "date-time")])
            if type == .datetime && request {
                formatted["not"] = .object(JSONObject([("pattern", .string(RFC3339.outsideYearsPattern))]))
                formatted["description"] =
                    "In UTC it must stay within years 0001–9999: on 0001-01-01 the offset cannot be ahead of UTC, on 9999-12-31 not behind it."
            }
            if nullable {
                object["anyOf"] = .array([.object(formatted), .object(JSONObject([("type", "null")]))])
            } else {
                for (key, value) in formatted { object[key] = value }
            }
            if rules.notInPast { object["x-not-in-past"] = true }
        case .list:
            object["type"] = typeName("array")
        }
        return object
    }

    /// A YAML `min`/`max` (a double) as the integer bound it means for a 64-bit integer field.
    static func integerBound(_ value: Double?, rounding: FloatingPointRoundingRule) -> Int64? {
        guard let value else { return nil }
        let rounded = value.rounded(rounding)
        if rounded >= 9.223372036854775807e18 { return Int64.max }
        if rounded <= -9.223372036854775808e18 { return Int64.min }
        return Int64(rounded)
    }

    static func timestamp(_ description: String, nullable: Bool) -> JSONValue {
        .object(
            JSONObject([
                ("description", .string(description + " RFC 3339 in UTC with microseconds, like 2026-01-31T18:30:00.123456Z.")),
                ("type", nullable ? .array(["string", "null"]) : "string"),
                ("format", "date-time"),
            ]))
    }
}

/// The `file` object of a record: what the upload stored and what the probe found in the bytes.
enum AudioFileSchema {
    static var schema: JSONValue {
        func prop(_ type: JSONValue, _ description: String, _ extra: [(String, JSONValue)] = []) -> JSONValue {
            var o = JSONObject([("description", .string(description)), ("type", type)])
            for (k, v) in extra { o[k] = v }
            return .object(o)
        }
        let nullableInt: JSONValue = ["integer", "null"]
        let described: [String: JSONValue] = Dictionary(uniqueKeysWithValues: [
            ("size", prop("integer", "Size in bytes.", [("format", "int64"), ("minimum", 1), ("maximum", .integer(Int64.max))])),
            ("sha256", prop("string", "SHA-256 of the bytes, lowercase hex; also the download's ETag.", [("pattern", "^[0-9a-f]{64}$")])),
            ("content_type", prop("string", "Media type detected from the bytes (not the one declared by the client).")),
            ("original_name", prop(["string", "null"], "File name given by the client, if any.")),
            ("format", prop("string", "Container format.", [("enum", .array(UploadRules.knownFormats.map(JSONValue.string)))])),
            ("codec", prop("string", "Codec, e.g. pcm_s16le, mp3, flac, vorbis, opus, aac, alac.")),
            ("duration_seconds", prop("number", "Duration in seconds, rounded to milliseconds.", [("minimum", 0)])),
            ("sample_rate", prop(nullableInt, "Samples per second, when the container says.", [("minimum", 0)])),
            ("channels", prop(nullableInt, "Channel count, when the container says.", [("minimum", 0)])),
            ("bitrate", prop(nullableInt, "Bits per second, when the container says.", [("minimum", 0)])),
        ])
        // The members and their order are `StoredFile`'s, the one definition of the stored file.
        let properties = JSONObject(StoredFile.members.map { (key: $0, value: described[$0] ?? prop("string", $0)) })
        return .object(
            JSONObject([
                ("title", "audio file"),
                ("type", "object"),
                ("properties", .object(properties)),
                ("required", .array(properties.keys.map(JSONValue.string))),
                ("additionalProperties", false),
            ]))
    }
}
