import Foundation
import Yams

extension KindFileReader {
    /// `browse: true | false | asc | desc`.
    private mutating func browseOrder(_ node: Node) -> BrowseOrder? {
        if case .scalar = node, let b = node.bool { return b ? .both : nil }
        if case .scalar(let scalar) = node, let order = BrowseOrder(rawValue: scalar.string), order != .both { return order }
        problem(node, "'browse' must be true (both directions), asc, desc or false")
        return nil
    }

    static var largestBrowsableStringLength: Int { IndexEntrySize.largestBrowsableStringLength }

    /// Refuses a browsing field that a b-tree `(field, id)` index cannot hold or that would
    /// duplicate the field's own index.
    private mutating func checkBrowsable(_ field: FieldDefinition, _ map: Node.Mapping) {
        let at = map["browse"]
        switch field.type {
        case .list:
            problem(
                at,
                "field '\(field.name)': `browse` does not apply to a list (a list cannot be sorted by); filter it with `\(field.name)[has]=…`, or remove `browse`"
            )
        case .text:
            problem(
                at,
                "field '\(field.name)': a text field cannot be a browsing field (browse needs a field a b-tree can index; a text value may exceed the index's \(IndexEntrySize.limit)-byte entry limit); make it `type: string` with `max_length` of at most \(Self.largestBrowsableStringLength), or remove `browse`"
            )
        case .string, .integer, .number, .boolean, .datetime, .date, .enum:
            checkIndexFits(
                [field, KindDefinition.idColumn], declaration: "field '\(field.name)': `browse` (its `(\(field.name), id)` index)",
                remedy: "remove `browse`", at: at)
        }
        if field.index {
            problem(
                map["index"],
                "field '\(field.name)': `index: true` repeats what `browse` already gives (its `(\(field.name), id)` index serves the same filters); remove `index: true`"
            )
        }
    }

    /// Reads one field definition and checks that its constraints fit its type and each other.
    mutating func readField(name: String, node: Node) -> FieldDefinition? {
        guard let map = node.mapping else {
            problem(node, "field '\(name)' must be a mapping with at least `type:`")
            return nil
        }
        guard let typeNode = map["type"], let typeName = scalarString(typeNode, "type") else {
            problem(node, "field '\(name)' has no `type:`; expected one of: \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        guard let type = FieldType(rawValue: typeName) else {
            problem(
                typeNode,
                "field '\(name)': unknown type '\(typeName)'; expected one of: \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        var field = FieldDefinition(name: name, type: type)
        var defaultNode: Node?
        for (keyNode, value) in map {
            guard let key = keyNode.string else { continue }
            switch key {
            case "type": continue
            case "description": field.description = scalarString(value, key)
            case "required": field.required = boolean(value, key)
            case "unique": field.unique = boolean(value, key)
            case "index": field.index = boolean(value, key)
            case "browse": field.browse = browseOrder(value)
            case "renamed_from": field.renamedFrom = scalarString(value, key)
            case "default": defaultNode = value
            case "items":
                guard type == .list else { fallthrough }
                if let (itemType, rules) = readItems(field: name, node: value) {
                    field.itemType = itemType
                    field.rules = rules
                }
            case "min_items" where type == .list: field.minItems = nonNegativeInt(value, key)
            case "max_items" where type == .list: field.maxItems = nonNegativeInt(value, key)
            default:
                if type != .list, readValueRule(key, value, type: type, into: &field.rules) { continue }
                misplacedKey(keyNode, key, field: name, type: type)
            }
        }
        if type == .list && field.itemType == nil {
            problem(node, "list field '\(name)' needs `items:` with the item type, e.g. `items: {type: string, max_length: 100}`")
            return nil
        }
        if type == .list && field.unique { problem(map["unique"], "field '\(name)': `unique` does not apply to a list") }
        if let lo = field.minItems, let hi = field.maxItems, lo > hi {
            problem(map["min_items"], "field '\(name)': min_items (\(lo)) is greater than max_items (\(hi))")
        }
        finishRules(&field.rules, type: field.valueType, field: name, at: node)
        if field.browse != nil { checkBrowsable(field, map) }
        if field.index {
            checkIndexFits([field], declaration: "field '\(name)': `index: true`", remedy: "remove `index: true`", at: map["index"])
        }
        if field.unique && !field.isList {
            checkIndexFits([field], declaration: "field '\(name)': `unique: true`", remedy: "remove `unique: true`", at: map["unique"])
        }
        if let defaultNode {
            let value = Self.jsonValue(defaultNode)
            var issues: [ValidationIssue] = []
            _ = RecordValidator.validateValue(value, field: field, path: name, now: nil, issues: &issues)
            for issue in issues { problem(defaultNode, "field '\(name)': default is invalid: \(issue.message)") }
            if issues.isEmpty { field.defaultValue = value }
        }
        return field
    }

    /// Reads `items:` of a list: a scalar type and its value rules.
    private mutating func readItems(field: String, node: Node) -> (FieldType, ValueRules)? {
        guard let map = node.mapping, let typeNode = map["type"], let typeName = scalarString(typeNode, "type") else {
            problem(node, "field '\(field)': `items:` must be a mapping with `type:`")
            return nil
        }
        guard let type = FieldType(rawValue: typeName), type != .list else {
            problem(
                typeNode,
                "field '\(field)': items have unknown type '\(typeName)'; expected a scalar type: \(FieldType.allCases.filter { $0 != .list }.map(\.rawValue).joined(separator: ", "))"
            )
            return nil
        }
        var rules = ValueRules()
        for (keyNode, value) in map {
            guard let key = keyNode.string, key != "type" else { continue }
            if !readValueRule(key, value, type: type, into: &rules) { misplacedKey(keyNode, key, field: "\(field).items", type: type) }
        }
        return (type, rules)
    }

    /// Reads a constraint on a single value when `key` is one that `type` accepts; false otherwise.
    private mutating func readValueRule(_ key: String, _ value: Node, type: FieldType, into rules: inout ValueRules) -> Bool {
        guard Self.constraintKeys[type]?.contains(key) == true else { return false }
        switch key {
        case "min_length": rules.minLength = nonNegativeInt(value, key)
        case "max_length": rules.maxLength = nonNegativeInt(value, key)
        case "pattern":
            rules.pattern = scalarString(value, key)
            if let p = rules.pattern, (try? NSRegularExpression(pattern: p)) == nil {
                problem(value, "pattern '\(p)' is not a valid regular expression")
                rules.pattern = nil
            } else if let p = rules.pattern, let why = PatternDialect.divergence(in: p) {
                problem(value, "pattern '\(p)': \(why) (the server and PostgreSQL both check a pattern, so it must mean the same to both)")
                rules.pattern = nil
            }
        case "min": rules.min = number(value, key)
        case "max": rules.max = number(value, key)
        case "not_in_past": rules.notInPast = boolean(value, key)
        case "values":
            let values = stringList(value, key)
            if values.isEmpty { problem(value, "enum `values` must list at least one value") }
            if Set(values).count != values.count { problem(value, "enum `values` must not repeat a value") }
            for v in values where v.unicodeScalars.contains("\u{0}") || v.unicodeScalars.count > 255 {
                problem(value, "enum value '\(v)' must be 1–255 characters without NUL")
            }
            rules.enumValues = values
        default: return false
        }
        return true
    }

    private mutating func misplacedKey(_ node: Node, _ key: String, field: String, type: FieldType) {
        let allowed = (Self.commonFieldKeys.union(Self.constraintKeys[type] ?? [])).sorted().joined(separator: ", ")
        if Self.allConstraintKeys.contains(key) {
            let fits = Self.constraintKeys.filter { $0.value.contains(key) }.map(\.key.rawValue).sorted().joined(separator: ", ")
            problem(
                node,
                "field '\(field)': `\(key)` does not apply to \(type.rawValue.first.map { "aeiou".contains($0) } == true ? "an" : "a") \(type.rawValue) (it applies to: \(fits)); allowed here: \(allowed)"
            )
        } else {
            problem(node, "field '\(field)': unknown constraint `\(key)`; allowed for \(type.rawValue): \(allowed)")
        }
    }

    /// Cross-checks and defaults for the rules of one value type.
    private mutating func finishRules(_ rules: inout ValueRules, type: FieldType, field: String, at node: Node) {
        if type == .enum && rules.enumValues == nil {
            problem(node, "enum field '\(field)' needs `values:`, the list of accepted strings")
        }
        if type == .string && rules.maxLength == nil { rules.maxLength = Self.defaultStringMaxLength }
        if let hi = rules.maxLength, hi > Self.largestStringMaxLength {
            problem(node, "field '\(field)': max_length \(hi) exceeds \(Self.largestStringMaxLength); use type text")
        }
        if let hi = rules.maxLength, hi == 0 { problem(node, "field '\(field)': max_length must be at least 1") }
        if let lo = rules.minLength, let hi = rules.maxLength, lo > hi {
            problem(node, "field '\(field)': min_length (\(lo)) is greater than max_length (\(hi))")
        }
        if let lo = rules.min, let hi = rules.max, lo > hi {
            problem(node, "field '\(field)': min (\(JSONNumber(lo))) is greater than max (\(JSONNumber(hi)))")
        }
        if type == .integer {
            for bound in [rules.min, rules.max].compactMap({ $0 }) where bound != bound.rounded() || abs(bound) > 9.0e18 {
                problem(node, "field '\(field)': integer bounds must be whole numbers within 64 bits, not \(JSONNumber(bound))")
            }
        }
    }

    /// Converts a YAML default into the JSON value a client would have sent.
    static func jsonValue(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if scalar.string == "~" || scalar.string == "null" || scalar.string.isEmpty { return .null }
                if let b = node.bool, ["true", "false"].contains(scalar.string.lowercased()) { return .bool(b) }
                if let i = Int64(scalar.string) { return .integer(i) }
                if let d = Double(scalar.string), d.isFinite { return .double(d) }
            }
            return .string(scalar.string)
        case .sequence(let seq): return .array(seq.map(jsonValue))
        case .mapping(let map): return .object(JSONObject(map.map { (key: $0.key.string ?? "", value: jsonValue($0.value)) }))
        case .alias: return .null
        }
    }
}

extension KindFileReader {
    /// Reads the `upload:` section.
    mutating func readUpload(_ node: Node) -> UploadRules? {
        guard let map = node.mapping else {
            problem(node, "`upload:` must be a mapping")
            return nil
        }
        var rules = UploadRules()
        for (keyNode, value) in map {
            guard let key = keyNode.string else { continue }
            switch key {
            case "formats":
                let formats = stringList(value, key)
                for f in formats where !UploadRules.knownFormats.contains(f) {
                    problem(value, "unknown audio format '\(f)'; known formats: \(UploadRules.knownFormats.joined(separator: ", "))")
                }
                if formats.isEmpty { problem(value, "`formats` must list at least one format") }
                rules.formats = formats
            case "max_size":
                if let text = scalarString(value, key) {
                    if let bytes = ByteSize.parse(text), bytes > 0 {
                        rules.maxSize = bytes
                    } else {
                        problem(value, "max_size '\(text)' is not a size; write e.g. 200MB, 1.5GiB or 1048576")
                    }
                }
            case "duration_field": rules.durationField = scalarString(value, key)
            case "duration_tolerance":
                if let text = scalarString(value, key) {
                    if let t = DurationTolerance.parse(text) {
                        rules.durationTolerance = t
                    } else {
                        problem(value, "duration_tolerance '\(text)' must be seconds (2, 2s, 0.5) or a percentage (5%)")
                    }
                }
            case "resumable": rules.resumable = readResumable(value)
            case "download":
                if let text = scalarString(value, key) {
                    if let mode = DownloadMode(rawValue: text) {
                        rules.download = mode
                    } else {
                        problem(
                            value,
                            "upload.download '\(text)' must be proxy (the server streams the file) or redirect (a 307 to a presigned object-storage URL)"
                        )
                    }
                }
            default:
                problem(keyNode, "unknown upload key '\(key)'; expected one of: \(Self.uploadKeys.sorted().joined(separator: ", "))")
            }
        }
        return rules
    }

    /// Reads `upload.resumable:` (`expires: 24h`, `max_append: 64MiB`); what is left out keeps its default.
    mutating func readResumable(_ node: Node) -> ResumableRules? {
        guard let map = node.mapping else {
            problem(node, "`upload.resumable:` must be a mapping (expires, max_append)")
            return nil
        }
        var rules = ResumableRules()
        for (keyNode, value) in map {
            guard let key = keyNode.string else { continue }
            switch key {
            case "expires":
                if let text = scalarString(value, key) {
                    if let seconds = ResumableRules.parseDuration(text), seconds <= ResumableRules.maxExpiresSeconds {
                        rules.expiresSeconds = seconds
                    } else {
                        problem(value, "upload.resumable.expires '\(text)' must be a duration from 1s to 30d: 90s, 30m, 24h, 7d")
                    }
                }
            case "max_append":
                if let text = scalarString(value, key) {
                    if let bytes = ByteSize.parse(text), bytes > 0 {
                        rules.maxAppend = bytes
                    } else {
                        problem(value, "upload.resumable.max_append '\(text)' is not a size; write e.g. 64MiB or 8MB")
                    }
                }
            default:
                problem(keyNode, "unknown upload.resumable key '\(key)'; expected one of: \(Self.resumableKeys.sorted().joined(separator: ", "))")
            }
        }
        return rules
    }

    mutating func checkUpload(_ rules: UploadRules, kind: KindDefinition, node: Node?) {
        if let name = rules.durationField {
            if let field = kind.field(named: name) {
                if !field.type.isNumeric { problem(node, "upload.duration_field '\(name)' must be an integer or number field") }
            } else {
                problem(node, "upload.duration_field '\(name)' is not a field of kind '\(kind.name)'")
            }
        }
        if rules.durationTolerance != nil && rules.durationField == nil {
            problem(node, "upload.duration_tolerance needs upload.duration_field")
        }
    }
}

extension DurationTolerance {
    /// Parses `2`, `2s`, `0.5` (seconds) or `5%` (percent of the declared duration).
    public static func parse(_ text: String) -> DurationTolerance? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%"), let p = Double(t.dropLast().trimmingCharacters(in: .whitespaces)), p >= 0, p.isFinite {
            return .percent(p)
        }
        let secs = t.hasSuffix("s") ? String(t.dropLast()) : t
        if let s = Double(secs.trimmingCharacters(in: .whitespaces)), s >= 0, s.isFinite { return .seconds(s) }
        return nil
    }
}

/// Sizes written with units, as people write them in config files.
public enum ByteSize {
    /// `200MB`, `1.5 GiB`, `512k`, `1048576`. Decimal units (kB, MB, GB) are powers of 1000,
    /// binary ones (KiB, MiB, GiB) powers of 1024; `K`/`M`/`G` alone are binary.
    public static func parse(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let digits = t.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits), value.isFinite, value >= 0 else { return nil }
        let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
            "k": 1024, "m": 1_048_576, "g": 1_073_741_824,
            "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
        ]
        guard let m = multipliers[unit] else { return nil }
        let bytes = (value * m).rounded()
        guard bytes < 9e18 else { return nil }
        return Int64(bytes)
    }
}
