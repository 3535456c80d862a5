public import KindModel
import Schema

/// A comparison in a list query (`?duration[gte]=60`).
public enum FilterOperator: String, Sendable, CaseIterable {
    case eq, ne, gt, gte, lt, lte, contains, has

    /// Operators that make sense for a field, in the order the API documents them.
    public static func allowed(for field: FieldDefinition) -> [FilterOperator] {
        if field.isList { return [.has] }
        switch field.type {
        case .string, .text, .enum: return [.eq, .ne, .contains]
        case .integer, .number, .date, .datetime: return [.eq, .ne, .gt, .gte, .lt, .lte]
        case .boolean: return [.eq, .ne]
        case .list: return [.has]
        }
    }
}

/// One filter: a field, an operator and the value as text (already checked to parse as the field's type).
public struct RecordFilter: Sendable, Equatable {
    public var field: FieldDefinition
    public var op: FilterOperator
    public var value: String

    public init(field: FieldDefinition, op: FilterOperator, value: String) {
        self.field = field
        self.op = op
        self.value = value
    }
}

/// A sort key: a declared scalar field or one of the system columns `id`, `created_at`, `updated_at`.
public struct SortKey: Sendable, Equatable {
    public var column: String
    public var descending: Bool
    /// The SQL type to cast cursor values to.
    public var sqlType: String
    /// Whether the column admits NULL (an optional field); `id`, timestamps and required fields do not.
    public var nullable: Bool

    public init(column: String, descending: Bool, sqlType: String, nullable: Bool = true) {
        self.column = column
        self.descending = descending
        self.sqlType = sqlType
        self.nullable = nullable
    }
}

/// Where the previous page ended: the sort-key values of its last record (as text, NULL as nil) and its id.
public struct PagePosition: Sendable, Equatable {
    public var values: [String?]
    public var id: Int64

    public init(values: [String?], id: Int64) {
        self.values = values
        self.id = id
    }
}

/// Everything `GET /api/audio/<kind>` can ask for.
public struct ListQuery: Sendable, Equatable {
    public var filters: [RecordFilter] = []
    public var hasFile: Bool?
    public var sort: [SortKey] = []
    public var after: PagePosition?
    public var limit: Int = 50
    public var countTotal = false

    public init() {}

    /// The SQL type used to bind a filter or cursor value given as text (`FieldSQL.castType`).
    public static func bindType(_ type: FieldType) -> String { type.sql.castType }
}
