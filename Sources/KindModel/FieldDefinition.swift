/// One field of a kind: its type and every constraint on its values.
public struct FieldDefinition: Sendable, Equatable, Codable {
    /// The `max_length` a `string` (or a list's string items) has when the kind gives none.
    public static let defaultStringMaxLength = 255

    public var name: String
    public var type: FieldType
    /// Rules for a scalar field's value, or for each item of a list field.
    public var rules: ValueRules
    /// Item type of a `list` field; nil for scalars.
    public var itemType: FieldType?
    public var required: Bool
    /// Value used when a create request omits the field (already validated against the rules).
    public var defaultValue: JSONValue?
    public var unique: Bool
    /// Create a b-tree index on the column (for filters and sorts).
    public var index: Bool
    /// A browsing field (`browse:`): lists are sorted and range-filtered by it, so the engine keeps
    /// a `(field, id)` index for each direction it names (`KindDefinition.browseIndexes`).
    public var browse: BrowseOrder?
    public var minItems: Int?
    public var maxItems: Int?
    public var description: String?
    /// Set when the field was renamed in the YAML; read by the migration planner.
    public var renamedFrom: String?

    public init(
        name: String, type: FieldType, rules: ValueRules = ValueRules(), itemType: FieldType? = nil,
        required: Bool = false, defaultValue: JSONValue? = nil, unique: Bool = false, index: Bool = false, browse: BrowseOrder? = nil,
        minItems: Int? = nil, maxItems: Int? = nil, description: String? = nil, renamedFrom: String? = nil
    ) {
        self.name = name
        self.type = type
        self.rules = rules
        self.itemType = itemType
        self.required = required
        self.defaultValue = defaultValue
        self.unique = unique
        self.index = index
        self.browse = browse
        self.minItems = minItems
        self.maxItems = maxItems
        self.description = description
        self.renamedFrom = renamedFrom
    }

    /// The type of each value: the item type for lists, the field type otherwise.
    public var valueType: FieldType { itemType ?? type }
    public var isList: Bool { type == .list }

    enum CodingKeys: String, CodingKey {
        case name, type, rules, itemType = "item_type", required, defaultValue = "default", unique, index, browse
        case minItems = "min_items", maxItems = "max_items", description, renamedFrom = "renamed_from"
    }
}

/// The directions a browsing field is listed in (`browse: true`, `asc` or `desc`), each of which
/// gets its own `(field, id)` index, because list pages order ties by ascending id in both
/// directions and PostgreSQL cannot read one index backwards for that.
public enum BrowseOrder: String, Sendable, Codable, CaseIterable {
    case both, asc, desc

    /// The index keys, in the `sort=` syntax of `indexes:` entries.
    public var keyDirections: [Bool] {
        switch self {
        case .both: [false, true]
        case .asc: [false]
        case .desc: [true]
        }
    }
}

/// The types a field (or a list's items) can have.
public enum FieldType: String, Sendable, Codable, CaseIterable {
    /// Short text with a maximum length (`max_length`, default 255: a `text` column with a named CHECK).
    case string
    /// Text of any length (`text`).
    case text
    /// 64-bit signed integer (`bigint`).
    case integer
    /// IEEE double (`double precision`).
    case number
    case boolean
    /// RFC 3339 timestamp with offset, stored as `timestamptz` and returned in UTC.
    case datetime
    /// Calendar date `YYYY-MM-DD`.
    case date
    /// One of `values` (stored as text with a CHECK).
    case `enum`
    /// An array of scalar items (`items:` gives their type and rules).
    case list

    public var isTextual: Bool { self == .string || self == .text || self == .enum }
    public var isNumeric: Bool { self == .integer || self == .number }
}

/// Constraints on a single value. Which ones apply depends on the type; the kind linter refuses
/// a constraint that does not fit (for example `min` on a string).
public struct ValueRules: Sendable, Equatable, Codable {
    public var minLength: Int?
    public var maxLength: Int?
    public var pattern: String?
    public var min: Double?
    public var max: Double?
    public var enumValues: [String]?
    public var notInPast: Bool

    public init(
        minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, min: Double? = nil,
        max: Double? = nil, enumValues: [String]? = nil, notInPast: Bool = false
    ) {
        self.minLength = minLength
        self.maxLength = maxLength
        self.pattern = pattern
        self.min = min
        self.max = max
        self.enumValues = enumValues
        self.notInPast = notInPast
    }

    enum CodingKeys: String, CodingKey {
        case minLength = "min_length", maxLength = "max_length", pattern, min, max, enumValues = "values"
        case notInPast = "not_in_past"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        minLength = try c.decodeIfPresent(Int.self, forKey: .minLength)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
        pattern = try c.decodeIfPresent(String.self, forKey: .pattern)
        min = try c.decodeIfPresent(Double.self, forKey: .min)
        max = try c.decodeIfPresent(Double.self, forKey: .max)
        enumValues = try c.decodeIfPresent([String].self, forKey: .enumValues)
        notInPast = try c.decodeIfPresent(Bool.self, forKey: .notInPast) ?? false
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            let dict = try c.decode([String: JSONValue].self)
            self = .object(JSONObject(dict.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if let i = Int64(n.literal) { try c.encode(i) } else { try c.encode(n.double ?? 0) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o):
            try c.encode(Dictionary(o.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
    }
}
