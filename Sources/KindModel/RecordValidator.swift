public import Foundation

/// Checks request bodies against a kind. Pure: the same rules run at lint time on YAML defaults.
public enum RecordValidator {
    public enum Mode: Sendable {
        /// Every required field must be present; absent optional fields take their default.
        case create
        /// Only the fields present are checked and returned; `null` clears an optional field.
        case update
    }

    /// Validates a whole request object, collecting every problem.
    /// - Parameter ignoring: top-level keys that belong to the envelope, not the kind (`filetype`).
    public static func validate(
        _ body: JSONObject, kind: KindDefinition, mode: Mode,
        ignoring: Set<String> = [], now: Date = Date()
    ) -> Result<ValidatedRecord, ValidationFailure> {
        var issues: [ValidationIssue] = []
        var values: [(field: FieldDefinition, value: FieldValue)] = []
        if kind.additionalFields == .reject {
            let known = kind.fields.map(\.name)
            for key in body.keys where !ignoring.contains(key) && kind.field(named: key) == nil {
                let hint =
                    SystemColumn.names.contains(key)
                    ? "'\(key)' is set by the server and cannot be written"
                    : "'\(key)' is not a field of \(kind.name); known fields: \(known.joined(separator: ", "))"
                issues.append(ValidationIssue(field: key, code: .unknownField, message: hint))
            }
        }
        for field in kind.fields {
            var given = body[field.name]
            // On create, `null` for an optional field means "not given": its default applies, as
            // the API documents, instead of storing NULL where a default was declared.
            if mode == .create, !field.required, case .null? = given { given = nil }
            let value: JSONValue
            switch (given, mode) {
            case (nil, .update):
                continue
            case (nil, .create):
                if let d = field.defaultValue {
                    value = d
                } else if field.isList {
                    value = .array([])
                } else if field.required {
                    issues.append(
                        ValidationIssue(
                            field: field.name, code: .required,
                            message: "'\(field.name)' is required; send \(describe(field))"))
                    continue
                } else {
                    value = .null
                }
            case (.some(let v), _):
                value = v
            }
            if let typed = validateValue(value, field: field, path: field.name, now: now, issues: &issues) {
                values.append((field, typed))
            }
        }
        return issues.isEmpty ? .success(ValidatedRecord(values: values)) : .failure(ValidationFailure(issues: issues))
    }

    /// Validates one field's value (a list as a whole, or a scalar); nil when it was refused.
    /// `now` nil skips time-relative rules (used when linting defaults).
    public static func validateValue(
        _ value: JSONValue, field: FieldDefinition, path: String, now: Date?,
        issues: inout [ValidationIssue]
    ) -> FieldValue? {
        if case .null = value {
            if field.required {
                issues.append(
                    ValidationIssue(
                        field: path, code: .required,
                        message: "'\(path)' is required and cannot be null; send \(describe(field))"))
                return nil
            }
            // A cleared list is the empty list, which must still satisfy `min_items`.
            return field.isList ? validateValue(.array([]), field: field, path: path, now: now, issues: &issues) : .null
        }
        guard field.isList, let itemType = field.itemType else {
            return validateScalar(value, type: field.type, rules: field.rules, path: path, now: now, issues: &issues)
        }
        guard case .array(let items) = value else {
            issues.append(ValidationIssue(field: path, code: .type, message: "'\(path)' must be a list, got \(value.typeDescription)"))
            return nil
        }
        let before = issues.count
        if let lo = field.minItems, items.count < lo {
            issues.append(
                ValidationIssue(
                    field: path, code: .minItems,
                    message: "'\(path)' must have at least \(lo) item\(lo == 1 ? "" : "s") (got \(items.count))"))
        }
        if let hi = field.maxItems, items.count > hi {
            issues.append(
                ValidationIssue(
                    field: path, code: .maxItems,
                    message: "'\(path)' must have at most \(hi) item\(hi == 1 ? "" : "s") (got \(items.count))"))
        }
        var typed: [FieldValue] = []
        typed.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            let itemPath = "\(path)[\(i)]"
            if case .null = item {
                issues.append(ValidationIssue(field: itemPath, code: .type, message: "'\(itemPath)' must not be null"))
                continue
            }
            if let v = validateScalar(item, type: itemType, rules: field.rules, path: itemPath, now: now, issues: &issues) {
                typed.append(v)
            }
        }
        return issues.count == before ? .list(typed) : nil
    }

    static func validateScalar(
        _ value: JSONValue, type: FieldType, rules: ValueRules, path: String, now: Date?,
        issues: inout [ValidationIssue]
    ) -> FieldValue? {
        func fail(_ code: ValidationCode, _ message: String) -> FieldValue? {
            issues.append(ValidationIssue(field: path, code: code, message: message))
            return nil
        }
        switch type {
        case .string, .text, .enum:
            guard case .string(let s) = value else { return fail(.type, "'\(path)' must be a string, got \(value.typeDescription)") }
            if s.unicodeScalars.contains("\u{0}") {
                return fail(.invalidCharacter, "'\(path)' contains a NUL character (\\u0000), which cannot be stored; remove it")
            }
            if type == .enum, let allowed = rules.enumValues, !allowed.contains(s) {
                return fail(.enum, "'\(path)' must be one of: \(allowed.joined(separator: ", ")) (got '\(s)')")
            }
            let length = s.unicodeScalars.count
            if let lo = rules.minLength, length < lo {
                return fail(.minLength, "'\(path)' must be at least \(lo) character\(lo == 1 ? "" : "s") long (got \(length))")
            }
            if let hi = rules.maxLength, length > hi {
                return fail(.maxLength, "'\(path)' must be at most \(hi) characters long (got \(length))")
            }
            if let pattern = rules.pattern, !PatternCache.matches(pattern, s) {
                return fail(.pattern, "'\(path)' must match the pattern \(pattern)")
            }
            return .string(s)
        case .integer:
            guard case .number(let n) = value else { return fail(.type, "'\(path)' must be an integer, got \(value.typeDescription)") }
            guard n.isIntegral else { return fail(.type, "'\(path)' must be a whole number (got \(n))") }
            guard let i = n.int64 else {
                let negative = n.literal.hasPrefix("-")
                if negative, let lo = rules.min { return fail(.min, "'\(path)' must be ≥ \(JSONNumber(lo)) (got \(n))") }
                if !negative, let hi = rules.max { return fail(.max, "'\(path)' must be ≤ \(JSONNumber(hi)) (got \(n))") }
                return fail(.outOfRange, "'\(path)' is outside the 64-bit integer range (got \(n))")
            }
            if let lo = rules.min, Double(i) < lo { return fail(.min, "'\(path)' must be ≥ \(JSONNumber(lo)) (got \(i))") }
            if let hi = rules.max, Double(i) > hi { return fail(.max, "'\(path)' must be ≤ \(JSONNumber(hi)) (got \(i))") }
            return .integer(i)
        case .number:
            guard case .number(let n) = value else { return fail(.type, "'\(path)' must be a number, got \(value.typeDescription)") }
            guard let d = n.double else {
                if n.underflows {
                    return fail(
                        .outOfRange,
                        "'\(path)' is too close to zero for a double-precision number, which would round it to 0 (got \(n)); send 0, or a magnitude of at least 5e-324"
                    )
                }
                return fail(.outOfRange, "'\(path)' is too large for a double-precision number (got \(n))")
            }
            if let lo = rules.min, d < lo { return fail(.min, "'\(path)' must be ≥ \(JSONNumber(lo)) (got \(n))") }
            if let hi = rules.max, d > hi { return fail(.max, "'\(path)' must be ≤ \(JSONNumber(hi)) (got \(n))") }
            return .number(d)
        case .boolean:
            guard case .bool(let b) = value else { return fail(.type, "'\(path)' must be true or false, got \(value.typeDescription)") }
            return .boolean(b)
        case .datetime:
            guard case .string(let s) = value else {
                return fail(.type, "'\(path)' must be an RFC 3339 date-time string, got \(value.typeDescription)")
            }
            guard let date = RFC3339.parseDateTime(s) else {
                return fail(.format, "'\(path)' must be an RFC 3339 date-time with a time zone, like 2026-01-31T18:30:00Z (got '\(s)')")
            }
            // A time-zone offset can carry year 1 or 9999 across into year 0 or 10000 in UTC, which
            // PostgreSQL stores but cannot print back as RFC 3339.
            guard RFC3339.staysWithinYears(s) else {
                return fail(
                    .outOfRange,
                    "'\(path)' must stay within years 0001–9999 in UTC: on 0001-01-01 the offset cannot be ahead of UTC, on 9999-12-31 not behind it (got '\(s)')"
                )
            }
            if rules.notInPast, let now, date < now {
                return fail(.notInPast, "'\(path)' must not be in the past (got \(s); now is \(RFC3339.format(now)))")
            }
            return .datetime(RFC3339.storable(s))  // "T"/"Z" upper-case; offsets PostgreSQL refuses as UTC
        case .date:
            guard case .string(let s) = value else { return fail(.type, "'\(path)' must be a date string YYYY-MM-DD, got \(value.typeDescription)") }
            guard RFC3339.isValidDate(s) else {
                return fail(.format, "'\(path)' must be a calendar date YYYY-MM-DD, like 2026-01-31 (got '\(s)')")
            }
            if rules.notInPast, let now, s < String(RFC3339.format(now).prefix(10)) {
                return fail(.notInPast, "'\(path)' must not be in the past (got \(s); today is \(RFC3339.format(now).prefix(10)) UTC)")
            }
            return .date(s)
        case .list:
            return fail(.type, "'\(path)' cannot nest lists")
        }
    }

    /// Describes what a field accepts, for "is required; send ..." messages.
    public static func describe(_ field: FieldDefinition) -> String {
        if field.isList, let item = field.itemType {
            var text = "a list of \(describe(type: item, rules: field.rules))"
            if let hi = field.maxItems { text += " (at most \(hi))" }
            return text
        }
        return describe(type: field.type, rules: field.rules)
    }

    static func describe(type: FieldType, rules: ValueRules) -> String {
        switch type {
        case .string, .text:
            switch (rules.minLength, rules.maxLength) {
            case let (lo?, hi?): return "a string of \(lo)–\(hi) characters"
            case let (nil, hi?): return "a string of at most \(hi) characters"
            case let (lo?, nil): return "a string of at least \(lo) characters"
            default: return "a string"
            }
        case .integer, .number:
            let noun = type == .integer ? "an integer" : "a number"
            switch (rules.min, rules.max) {
            case let (lo?, hi?): return "\(noun) from \(JSONNumber(lo)) to \(JSONNumber(hi))"
            case let (lo?, nil): return "\(noun) ≥ \(JSONNumber(lo))"
            case let (nil, hi?): return "\(noun) ≤ \(JSONNumber(hi))"
            default: return noun
            }
        case .boolean: return "true or false"
        case .datetime: return "an RFC 3339 date-time like 2026-01-31T18:30:00Z"
        case .date: return "a date like 2026-01-31"
        case .enum: return "one of: \((rules.enumValues ?? []).joined(separator: ", "))"
        case .list: return "a list"
        }
    }
}
