public import KindModel

/// A named table constraint derived from a YAML rule.
public struct NamedConstraint: Sendable, Equatable, Hashable, Codable {
    public var name: String
    /// The constraint body: `CHECK (...)` or `UNIQUE (...)`.
    public var definition: String
    /// Which YAML rule it enforces, for migration summaries and for mapping a refusal back to it.
    public var rule: ConstraintRule

    public init(name: String, definition: String, rule: ConstraintRule) {
        self.name = name
        self.definition = definition
        self.rule = rule
    }
}

/// The YAML rules that become named constraints; the raw value is the suffix of the constraint's
/// name (`song_name_min_length`) and what migration summaries print.
public enum ConstraintRule: String, Sendable, Codable, CaseIterable, Hashable {
    case minLength = "min_length", maxLength = "max_length", pattern, `enum`, min, max, unique
    case minItems = "min_items", maxItems = "max_items", itemsNotNull = "items_not_null"
    case itemsMinLength = "items_min_length", itemsMaxLength = "items_max_length", itemsPattern = "items_pattern"
    case itemsEnum = "items_enum", itemsMin = "items_min", itemsMax = "items_max"

    /// The error `code` the validator gives for the same rule, so a refusal by the database reads
    /// like one by the validator (a list item's rule has the item rule's code).
    public var validationCode: ValidationCode {
        switch self {
        case .minLength, .itemsMinLength: .minLength
        case .maxLength, .itemsMaxLength: .maxLength
        case .pattern, .itemsPattern: .pattern
        case .enum, .itemsEnum: .enum
        case .min, .itemsMin: .min
        case .max, .itemsMax: .max
        case .unique: .unique
        case .minItems: .minItems
        case .maxItems: .maxItems
        case .itemsNotNull: .type
        }
    }
}

/// Turns YAML rules into named SQL constraints, so that a bad row cannot get in by any route.
///
/// Rules SQL cannot express safely stay in the application: `not_in_past` depends on the clock,
/// and a CHECK using `now()` would make old rows fail on dump/restore.
/// List items are checked with the immutable helper functions in `HelperFunction`, because a
/// CHECK constraint may not contain a subquery over `unnest`.
public enum FieldConstraints {
    public static func constraints(table: String, field: FieldDefinition) -> [NamedConstraint] {
        let column = SQLText.identifier(field.name)
        var out: [NamedConstraint] = []
        func add(_ rule: ConstraintRule, _ body: String) {
            out.append(NamedConstraint(name: ConstraintName.make(table, field.name, rule.rawValue), definition: body, rule: rule))
        }
        let r = field.rules
        if field.isList, let item = field.itemType {
            if let lo = field.minItems { add(.minItems, "CHECK (cardinality(\(column)) >= \(lo))") }
            if let hi = field.maxItems { add(.maxItems, "CHECK (cardinality(\(column)) <= \(hi))") }
            add(.itemsNotNull, "CHECK (array_position(\(column), NULL) IS NULL)")
            if item.isTextual {
                if let lo = r.minLength, lo > 0 { add(.itemsMinLength, "CHECK (\(HelperFunction.itemsMinLength.call("\(column)::text[]", "\(lo)")))") }
                if let hi = r.maxLength { add(.itemsMaxLength, "CHECK (\(HelperFunction.itemsMaxLength.call("\(column)::text[]", "\(hi)")))") }
                if let p = r.pattern { add(.itemsPattern, "CHECK (\(HelperFunction.itemsMatch.call("\(column)::text[]", SQLText.literal(p))))") }
                if item == .enum, let values = r.enumValues {
                    add(.itemsEnum, "CHECK (\(column)::text[] <@ ARRAY[\(values.map(SQLText.literal).joined(separator: ", "))]::text[])")
                }
            }
            if item.isNumeric {
                if let lo = r.min { add(.itemsMin, "CHECK (\(HelperFunction.itemsMin.call("\(column)::double precision[]", SQLText.number(lo))))") }
                if let hi = r.max { add(.itemsMax, "CHECK (\(HelperFunction.itemsMax.call("\(column)::double precision[]", SQLText.number(hi))))") }
            }
            return out
        }
        switch field.type {
        case .string, .text, .enum:
            if let lo = r.minLength, lo > 0 { add(.minLength, "CHECK (char_length(\(column)) >= \(lo))") }
            if field.type == .text, let hi = r.maxLength { add(.maxLength, "CHECK (char_length(\(column)) <= \(hi))") }
            if let p = r.pattern { add(.pattern, "CHECK (\(column) ~ \(SQLText.literal(p)))") }
            if field.type == .enum, let values = r.enumValues {
                add(.enum, "CHECK (\(column) IN (\(values.map(SQLText.literal).joined(separator: ", "))))")
            }
        case .integer, .number:
            if let lo = r.min { add(.min, "CHECK (\(column) >= \(SQLText.number(lo)))") }
            if let hi = r.max { add(.max, "CHECK (\(column) <= \(SQLText.number(hi)))") }
        case .boolean, .datetime, .date, .list:
            break
        }
        if field.unique { add(.unique, "UNIQUE (\(column))") }
        return out
    }

    /// Name of the b-tree index created for `index: true`.
    public static func indexName(table: String, field: String) -> String { ConstraintName.make(table, field, "idx") }

    /// Name of the index for an `indexes:` entry: `<kind>_<key>_<key>..._idx`, a descending key
    /// written `<field>_desc` (`podcast_host_duration_desc_name_idx`), so that entries differing in
    /// direction differ in name. The appended `id` tiebreaker is not part of it. Hashed past 63 bytes.
    public static func indexName(table: String, index: KindIndex) -> String {
        indexName(table: table, field: index.keys.map(\.namePart).joined(separator: "_"))
    }
}

/// Immutable SQL functions that CHECK constraints on list columns call, defined once: the
/// migration step that installs them, the constraints and type-change guards that call them, and
/// the drift check that looks for them all read this list.
public enum HelperFunction: String, CaseIterable, Sendable {
    case itemsMinLength = "items_min_length", itemsMaxLength = "items_max_length", itemsMatch = "items_match"
    case itemsMin = "items_min", itemsMax = "items_max"

    /// Parameters, as `pg_get_function_identity_arguments` prints them.
    var parameters: String {
        switch self {
        case .itemsMinLength: "items text[], lo integer"
        case .itemsMaxLength: "items text[], hi integer"
        case .itemsMatch: "items text[], pattern text"
        case .itemsMin: "items double precision[], lo double precision"
        case .itemsMax: "items double precision[], hi double precision"
        }
    }

    /// The test every item must pass (`x`: one item).
    var itemTest: String {
        switch self {
        case .itemsMinLength: "char_length(x) >= lo"
        case .itemsMaxLength: "char_length(x) <= hi"
        case .itemsMatch: "x ~ pattern"
        case .itemsMin: "x >= lo"
        case .itemsMax: "x <= hi"
        }
    }

    /// `name(parameters)`: how the drift check names it.
    public var signature: String { "\(rawValue)(\(parameters))" }

    /// `audio_server.items_min(<column>::double precision[], <bound>)`.
    public func call(_ arguments: String...) -> String { "\(ServerSchema.name).\(rawValue)(\(arguments.joined(separator: ", ")))" }

    var createStatement: String {
        """
        CREATE OR REPLACE FUNCTION \(ServerSchema.name).\(rawValue)(\(parameters)) RETURNS boolean
          LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(bool_and(\(itemTest)), true) FROM unnest(items) AS x $$
        """
    }

    /// The schema, then every function (the `installHelpers` migration step).
    public static var statements: [String] { [ServerSchema.create] + allCases.map(\.createStatement) }
}
