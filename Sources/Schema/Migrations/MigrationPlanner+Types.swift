import KindModel

/// How a field's column type changes.
enum TypeChange: Equatable {
    case none
    /// Every value converts exactly (integer → number within ±2^53, string → text, wider varchar).
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

    /// Classifies the column type change from `old` to `new` (both under the same field name).
    static func typeChange(table: String, from old: FieldDefinition, to new: FieldDefinition) -> TypeChange {
        let oldSQL = ColumnType.sql(for: old)
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
            // varchar(n) / text → text never loses anything.
            guard to == .string, let limit = new.rules.maxLength else { return .lossless }
            if let bound = guaranteedMaxLength(old), bound <= limit { return .lossless }
            let check =
                old.isList
                ? HelperFunction.itemsMaxLength.call("\(column)::text[]", "\(limit)")
                : "char_length(\(column)) <= \(limit)"
            return .guarded(check: check, reason: "\(noun) is longer than \(limit) characters (nothing is truncated)")
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
        case .string, .text: return field.rules.maxLength  // varchar(n), or text with a max_length CHECK
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
