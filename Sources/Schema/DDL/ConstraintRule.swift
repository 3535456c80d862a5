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
