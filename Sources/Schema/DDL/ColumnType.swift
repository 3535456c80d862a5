public import KindModel
public import PostgresNIO

/// What PostgreSQL knows of a field type, in one place: the column it is stored in, the type a
/// value given as text is cast to, how Storage binds a value, and whether its placeholder needs a
/// cast. DDL (`TableDDL`, migrations), Storage (binds, placeholders, filters, cursors) and the list
/// parser all read these facts; none of them switches over the field type for SQL again.
public struct FieldSQL: Sendable, Equatable {
    /// The SQL type of a value, unbounded: what filters and cursors cast text to (never `varchar(n)`,
    /// which would silently truncate), and the column type of every type but `string`.
    public let castType: String
    /// How Storage binds a non-null value of the field (a list binds `arrayBinding`).
    public let binding: PostgresDataType
    public let arrayBinding: PostgresDataType
    /// Bound as text and cast in the placeholder (`$1::date`): PostgresNIO has no date type, and
    /// the validator has already checked the text.
    public let castInPlaceholder: Bool

    /// The column type: `castType`, except that a string in the first layout is `varchar(n)`.
    public func column(_ type: FieldType, rules: ValueRules, in layout: SchemaLayout = .current) -> String {
        type == .string && layout == .varcharStrings ? "varchar(\(rules.maxLength ?? FieldDefinition.defaultStringMaxLength))" : castType
    }
}

extension FieldType {
    /// This type's SQL facts. (`list` only ever describes a list's own column; the item type's
    /// facts describe its items, and the linter refuses lists of lists.)
    public var sql: FieldSQL {
        switch self {
        case .string, .text, .enum: FieldSQL(castType: "text", binding: .text, arrayBinding: .textArray, castInPlaceholder: false)
        case .integer: FieldSQL(castType: "bigint", binding: .int8, arrayBinding: .int8Array, castInPlaceholder: false)
        case .number: FieldSQL(castType: "double precision", binding: .float8, arrayBinding: .float8Array, castInPlaceholder: false)
        case .boolean: FieldSQL(castType: "boolean", binding: .bool, arrayBinding: .boolArray, castInPlaceholder: false)
        case .datetime: FieldSQL(castType: "timestamptz", binding: .text, arrayBinding: .textArray, castInPlaceholder: true)
        case .date: FieldSQL(castType: "date", binding: .text, arrayBinding: .textArray, castInPlaceholder: true)
        case .list: FieldSQL(castType: "text[]", binding: .textArray, arrayBinding: .textArray, castInPlaceholder: false)
        }
    }
}

extension FieldDefinition {
    /// The column type of this field (`text`, `bigint[]`).
    public var columnSQL: String { columnSQL(in: .current) }

    /// The column type of this field in a table of `layout` (`varchar(40)` in the first).
    public func columnSQL(in layout: SchemaLayout) -> String {
        if isList, let item = itemType { return item.sql.column(item, rules: rules, in: layout) + "[]" }
        return type.sql.column(type, rules: rules, in: layout)
    }

    /// The type `bind` gives a non-null value of this field.
    public var bindingType: PostgresDataType {
        isList ? valueType.sql.arrayBinding : valueType.sql.binding
    }

    /// `$n`, or `$n::date` / `$n::timestamptz[]` for types bound as text and cast in SQL.
    public func placeholder(_ index: Int) -> String {
        valueType.sql.castInPlaceholder ? "$\(index)::\(valueType.sql.castType)\(isList ? "[]" : "")" : "$\(index)"
    }
}

/// The PostgreSQL column type for each field type (`FieldSQL`).
public enum ColumnType {
    public static func sql(for field: FieldDefinition, in layout: SchemaLayout = .current) -> String { field.columnSQL(in: layout) }

    public static func scalarSQL(_ type: FieldType, rules: ValueRules, in layout: SchemaLayout = .current) -> String {
        type.sql.column(type, rules: rules, in: layout)
    }
}
