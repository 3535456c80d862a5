import KindModel

/// The PostgreSQL column type for each field type.
public enum ColumnType {
    public static func sql(for field: FieldDefinition) -> String {
        if field.isList, let item = field.itemType { return scalarSQL(item, rules: field.rules) + "[]" }
        return scalarSQL(field.type, rules: field.rules)
    }

    public static func scalarSQL(_ type: FieldType, rules: ValueRules) -> String {
        switch type {
        case .string: "varchar(\(rules.maxLength ?? 255))"
        case .text, .enum: "text"
        case .integer: "bigint"
        case .number: "double precision"
        case .boolean: "boolean"
        case .datetime: "timestamptz"
        case .date: "date"
        case .list: "text[]"
        }
    }
}
