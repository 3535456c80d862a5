import KindModel

/// The public description of a kind (`GET /api/kinds`), with everything a client needs to build a form.
enum KindDescription {
    static func json(_ kind: KindDefinition) -> JSONValue {
        var object = JSONObject([("name", .string(kind.name)), ("aliases", .array(kind.aliases.map(JSONValue.string)))])
        object["description"] = kind.description.map(JSONValue.string) ?? .null
        object["additional_fields"] = .string(kind.additionalFields.rawValue)
        object["fields"] = .array(kind.fields.map(field))
        if let upload = kind.upload {
            var u = JSONObject()
            u["formats"] = .array((upload.formats ?? UploadRules.knownFormats).map(JSONValue.string))
            u["max_size"] = upload.maxSize.map(JSONValue.integer) ?? .null
            u["duration_field"] = upload.durationField.map(JSONValue.string) ?? .null
            u["duration_tolerance"] = upload.durationTolerance.map { .string($0.description) } ?? .null
            object["upload"] = .object(u)
        } else {
            object["upload"] = .null
        }
        object["access"] = .object(JSONObject([("read", .string(kind.access.read.rawValue)), ("download", .string(kind.access.download.rawValue))]))
        return .object(object)
    }

    static func field(_ field: FieldDefinition) -> JSONValue {
        var object = JSONObject([
            ("name", .string(field.name)), ("type", .string(field.type.rawValue)),
            ("required", .bool(field.required)),
        ])
        object["description"] = field.description.map(JSONValue.string) ?? .null
        object["default"] = field.defaultValue ?? .null
        object["unique"] = .bool(field.unique)
        object["index"] = .bool(field.index)
        if let browse = field.browse { object["browse"] = .string(browse.rawValue) }
        if field.isList, let item = field.itemType {
            var items = JSONObject([("type", .string(item.rawValue))])
            for (k, v) in rules(field.rules) { items[k] = v }
            object["items"] = .object(items)
            if let lo = field.minItems { object["min_items"] = .integer(Int64(lo)) }
            if let hi = field.maxItems { object["max_items"] = .integer(Int64(hi)) }
        } else {
            for (k, v) in rules(field.rules) { object[k] = v }
        }
        return .object(object)
    }

    static func rules(_ r: ValueRules) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        if let v = r.minLength { out.append(("min_length", .integer(Int64(v)))) }
        if let v = r.maxLength { out.append(("max_length", .integer(Int64(v)))) }
        if let v = r.pattern { out.append(("pattern", .string(v))) }
        if let v = r.min { out.append(("min", .double(v))) }
        if let v = r.max { out.append(("max", .double(v))) }
        if let v = r.enumValues { out.append(("values", .array(v.map(JSONValue.string)))) }
        if r.notInPast { out.append(("not_in_past", .bool(true))) }
        return out
    }
}
