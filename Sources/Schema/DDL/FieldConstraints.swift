public import KindModel

/// Turns YAML rules into named SQL constraints, so that a bad row cannot get in by any route.
///
/// Rules SQL cannot express safely stay in the application: `not_in_past` depends on the clock,
/// and a CHECK using `now()` would make old rows fail on dump/restore.
/// List items are checked with the immutable helper functions in `HelperFunction`, because a
/// CHECK constraint may not contain a subquery over `unnest`.
public enum FieldConstraints {
    /// The constraints of `field` in a table of `layout` (the first layout has no `max_length`
    /// CHECK on strings: their `varchar(n)` column enforces it).
    public static func constraints(table: String, field: FieldDefinition, in layout: SchemaLayout = .current) -> [NamedConstraint] {
        let column = SQLText.identifier(field.name)
        var out: [NamedConstraint] = []
        func add(_ rule: ConstraintRule, _ body: String) {
            out.append(NamedConstraint(name: ConstraintName.make(table, field.name, rule.rawValue), definition: body, rule: rule))
        }
        let r = field.rules
        // A string's length is a named CHECK from the second layout on, its default included.
        let checkedStringLength = field.valueType == .string && layout >= .checkedStrings
        let maxLength = checkedStringLength ? r.maxLength ?? FieldDefinition.defaultStringMaxLength : r.maxLength
        if field.isList, let item = field.itemType {
            if let lo = field.minItems { add(.minItems, "CHECK (cardinality(\(column)) >= \(lo))") }
            if let hi = field.maxItems { add(.maxItems, "CHECK (cardinality(\(column)) <= \(hi))") }
            add(.itemsNotNull, "CHECK (array_position(\(column), NULL) IS NULL)")
            if item.isTextual {
                if let lo = r.minLength, lo > 0 {
                    add(.itemsMinLength, "CHECK (\(HelperFunction.itemsMinLength.call("\(column)::text[]", "\(lo)")))")
                }
                if let hi = maxLength { add(.itemsMaxLength, "CHECK (\(HelperFunction.itemsMaxLength.call("\(column)::text[]", "\(hi)")))") }
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
            if field.type == .text || checkedStringLength, let hi = maxLength { add(.maxLength, "CHECK (char_length(\(column)) <= \(hi))") }
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
