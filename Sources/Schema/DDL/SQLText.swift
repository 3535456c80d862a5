public import KindModel

/// Quoting for SQL text we generate. Names come from YAML, so every one is quoted even though
/// the kind linter already restricts them to `[a-z][a-z0-9_]*`: defence in depth costs nothing.
public enum SQLText {
    /// `"name"`, with embedded quotes doubled. (Doubling character by character rather than with
    /// Foundation's `replacingOccurrences`, which showed in a create's profile: inserts quote their
    /// column names per request.)
    public static func identifier(_ name: String) -> String {
        quoted(name, by: "\"")
    }

    /// `'text'`, with embedded quotes doubled (standard_conforming_strings is on in every supported PostgreSQL).
    public static func literal(_ text: String) -> String {
        quoted(text, by: "'")
    }

    /// By Unicode scalar, not by Character: a quote followed by a combining mark is one Character
    /// that is not equal to the quote, and must still be doubled.
    private static func quoted(_ text: String, by quote: Unicode.Scalar) -> String {
        var out = String.UnicodeScalarView()
        out.append(quote)
        for scalar in text.unicodeScalars {
            out.append(scalar)
            if scalar == quote { out.append(quote) }
        }
        out.append(quote)
        return String(out)
    }

    /// A number literal; integral values print without a fraction so they fit bigint columns.
    public static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 9.2e18 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A SQL literal for a validated YAML default.
    public static func literal(_ value: JSONValue, for field: FieldDefinition, in layout: SchemaLayout = .current) -> String {
        switch value {
        case .null: return "NULL"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.literal
        case .string(let s):
            return literal(s) + (field.valueType == .datetime ? "::timestamptz" : field.valueType == .date ? "::date" : "")
        case .array(let items):
            let inner = items.map { literal($0, for: FieldDefinition(name: field.name, type: field.valueType)) }
            return "ARRAY[\(inner.joined(separator: ", "))]::\(ColumnType.scalarSQL(field.valueType, rules: field.rules, in: layout))[]"
        case .object: return "NULL"
        }
    }
}

/// PostgreSQL limits identifiers to 63 bytes; longer generated names get a stable hash suffix.
public enum ConstraintName {
    public static func make(_ parts: String...) -> String {
        let name = parts.joined(separator: "_")
        guard name.utf8.count > 63 else { return name }
        var hash: UInt64 = 0xcbf29ce484222325  // FNV-1a: stable across runs and platforms.
        for b in name.utf8 { hash = (hash ^ UInt64(b)) &* 0x100000001b3 }
        let suffix = String(hash & 0xFFFFFFFF, radix: 16)
        return String(name.prefix(63 - 9)) + "_" + suffix  // names are ASCII: the linter allows [a-z0-9_]
    }
}
