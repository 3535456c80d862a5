import KindModel

/// How a field's column type changes.
enum TypeChange: Equatable {
    case none
    /// Every value converts exactly (integer → number within ±2^53, varchar → text).
    case lossless
    /// Every value converts exactly if it passes `check` (SQL on the old column); otherwise the
    /// migration fails, naming the rows. `reason` completes "fails if ...".
    case guarded(check: String, reason: String)
    /// No conversion keeps every value; the reason says what would be lost.
    case refused(String)
}

extension MigrationPlanner {
    /// Largest magnitude below which every integer is exactly representable as a double.
    static let exactDoubleLimit: Double = 9_007_199_254_740_992  // 2^53

    /// Classifies the column type change from `old` (in a table of `oldLayout`) to `new` (both
    /// under the same field name).
    static func typeChange(table: String, from old: FieldDefinition, in oldLayout: SchemaLayout = .current, to new: FieldDefinition) -> TypeChange {
        let oldSQL = ColumnType.sql(for: old, in: oldLayout)
        let newSQL = ColumnType.sql(for: new)
        if oldSQL == newSQL { return .none }
        if old.isList != new.isList {
            return .refused(old.isList ? "a list cannot become a single value" : "a single value cannot become a list")
        }
        let column = SQLText.identifier(new.name)
        let from = old.valueType
        let to = new.valueType
        let noun = old.isList ? "an item" : "a value"

        if from.isTextual && to.isTextual {
            // Only a first-layout varchar(n) → text: never loses anything. A length the new field
            // allows is its max_length CHECK, added (and validated) like any other rule.
            return .lossless
        }
        if from == .integer && to == .number {
            let limit = exactDoubleLimit
            if let lo = old.rules.min, let hi = old.rules.max, lo >= -limit, hi <= limit { return .lossless }
            let bound = SQLText.number(limit)
            let check =
                old.isList
                ? "\(HelperFunction.itemsMin.call("\(column)::double precision[]", "-\(bound)")) AND \(HelperFunction.itemsMax.call("\(column)::double precision[]", bound))"
                : "abs(\(column)) <= \(bound)"
            return .guarded(check: check, reason: "\(noun) is beyond ±2^53, where a double would round it")
        }
        return .refused(lossReason(from: from, to: to))
    }

    /// The longest text the committed rules let into a textual column, if any bound is enforced.
    static func guaranteedMaxLength(_ field: FieldDefinition) -> Int? {
        switch field.valueType {
        case .string: return field.rules.maxLength ?? FieldDefinition.defaultStringMaxLength  // varchar(n) or its CHECK
        case .text: return field.rules.maxLength  // its CHECK
        case .enum: return field.rules.enumValues?.map(\.unicodeScalars.count).max()
        case .integer, .number, .boolean, .datetime, .date, .list: return nil
        }
    }

    static func lossReason(from: FieldType, to: FieldType) -> String {
        switch (from, to) {
        case (.number, .integer): return "number → integer would round away fractions"
        case (.datetime, .date): return "datetime → date would drop the time of day"
        case (.date, .datetime): return "date → datetime would invent a time of day and a time zone"
        case (_, .boolean), (.boolean, _): return "\(from.rawValue) → \(to.rawValue) has no faithful conversion"
        case _ where from.isTextual:
            return "\(from.rawValue) → \(to.rawValue) would have to parse text, which fails or guesses for values that are not a valid \(to.rawValue)"
        case _ where to.isTextual:
            return "\(from.rawValue) → \(to.rawValue) would change how values are compared and validated; existing values would become text"
        default: return "\(from.rawValue) → \(to.rawValue) cannot convert every value without loss"
        }
    }
}
