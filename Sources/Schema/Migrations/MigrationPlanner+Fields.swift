import KindModel

/// The steps that take one existing kind (possibly renamed) from its committed definition to the
/// one in `kinds/`. Steps are collected per phase so that, for example, a constraint that
/// depends on a column's old type is dropped before the type changes and re-added after.
struct KindDiff {
    let old: KindDefinition
    let new: KindDefinition
    /// The layout the committed tables have: the old side is described as it was made.
    let oldLayout: SchemaLayout
    let options: PlanningOptions
    private(set) var problems: [String] = []

    private var fieldRenames: [MigrationStep] = []
    private var objectRenames: [ObjectRename] = []
    private var drops: [MigrationStep] = []
    private var fieldDrops: [MigrationStep] = []
    private var typeChanges: [MigrationStep] = []
    private var additions: [MigrationStep] = []
    private var defaults: [MigrationStep] = []
    private var nullability: [MigrationStep] = []
    private var constraintAdds: [MigrationStep] = []
    private var indexAdds: [MigrationStep] = []

    init(old: KindDefinition, new: KindDefinition, oldLayout: SchemaLayout = .current, options: PlanningOptions) {
        self.old = old
        self.new = new
        self.oldLayout = oldLayout
        self.options = options
    }

    var steps: [MigrationStep] {
        var out = fieldRenames
        if !objectRenames.isEmpty { out.append(.renameObjects(kind: new.name, renames: objectRenames)) }
        return out + drops + fieldDrops + typeChanges + additions + defaults + nullability + constraintAdds + indexAdds
    }

    private var table: String { new.name }

    mutating func run() {
        var renameProblems: [String] = []
        let renames = MigrationPlanner.resolveRenames(
            items: new.fields.map { (name: $0.name, hint: $0.renamedFrom) },
            oldNames: Set(old.fields.map(\.name)), newNames: Set(new.fields.map(\.name)),
            describe: { [table] in "field '\(table).\($0)'" }, problems: &renameProblems)
        problems += renameProblems

        if old.name != new.name { renameTableObjects() }
        var continued = Set<String>()
        for field in new.fields {
            let source = renames[field.name] ?? field.name
            guard let previous = old.field(named: source) else {
                addField(field)
                continue
            }
            continued.insert(source)
            if source != field.name {
                fieldRenames.append(.renameField(kind: table, from: source, to: field.name))
            }
            renameFieldObjects(previous, to: field.name)
            var renamed = previous
            renamed.name = field.name
            change(renamed, to: field)
        }
        for field in old.fields where !continued.contains(field.name) {
            if options.allowDestructive {
                fieldDrops.append(.dropField(kind: table, field: field.name))
            } else {
                problems.append(
                    "field '\(table).\(field.name)' was removed: dropping column \"\(field.name)\" would delete its values in every row of '\(table)'; to drop it, generate the migration with `audio-server migrate generate --allow-destructive` (then `audio-server migrate apply`), or add `renamed_from: \(field.name)` to the field that replaces it"
                )
            }
        }
        planIndexes(fieldRenames: Dictionary(renames.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a }))
    }

    /// `indexes:` entries: renames join the other object renames, drops precede field drops (a
    /// dropped column would take its indexes along), creates come last with the field indexes.
    private mutating func planIndexes(fieldRenames: [String: String]) {
        let changes = KindIndexChanges(old: old, new: new, fieldRenames: fieldRenames)
        objectRenames += changes.renames
        drops += changes.drops
        indexAdds += changes.creates
    }

    // MARK: renames

    /// The primary key, the id sequence and the file check follow the table's name.
    private mutating func renameTableObjects() {
        objectRenames.append(ObjectRename(.constraint, from: old.name + "_pkey", to: new.name + "_pkey"))
        objectRenames.append(ObjectRename(.sequence, from: old.name + "_id_seq", to: new.name + "_id_seq"))
        objectRenames.append(
            ObjectRename(
                .constraint, from: ConstraintName.make(old.name, "file_consistent"),
                to: ConstraintName.make(new.name, "file_consistent")))
    }

    /// A field's constraints and index are named after the table and the field: rename them when either changed.
    private mutating func renameFieldObjects(_ previous: FieldDefinition, to newName: String) {
        guard old.name != new.name || previous.name != newName else { return }
        var renamed = previous
        renamed.name = newName
        // The objects being renamed are the existing ones, of the committed layout.
        let before = FieldConstraints.constraints(table: old.name, field: previous, in: oldLayout)
        let after = FieldConstraints.constraints(table: new.name, field: renamed, in: oldLayout)
        for (a, b) in zip(before, after) where a.name != b.name {
            objectRenames.append(ObjectRename(.constraint, from: a.name, to: b.name))
        }
        if previous.index {
            let a = FieldConstraints.indexName(table: old.name, field: previous.name)
            let b = FieldConstraints.indexName(table: new.name, field: newName)
            if a != b { objectRenames.append(ObjectRename(.index, from: a, to: b)) }
        }
    }

    // MARK: new fields

    private mutating func addField(_ field: FieldDefinition) {
        if field.required && !field.isList && (field.defaultValue ?? .null) == .null {
            problems.append(
                "field '\(table).\(field.name)' is new and required but has no default, and kind '\(table)' may already have rows, which would have no value for it: add a `default:` to the field (existing rows get it), or add the field as optional first, fill it in, and make it required in a later migration"
            )
            return
        }
        if field.isList, let lo = field.minItems, lo > 0, (field.defaultValue?.arrayValue?.count ?? 0) < lo {
            problems.append(
                "field '\(table).\(field.name)' is a new list with min_items \(lo) but no default, and kind '\(table)' may already have rows, which would get an empty list: add a `default:` with at least \(lo) item\(lo == 1 ? "" : "s"), or add the field without min_items first"
            )
            return
        }
        additions.append(.addField(kind: table, field: field))
        let hasDefault = (field.defaultValue ?? .null) != .null
        for c in FieldConstraints.constraints(table: table, field: field) {
            if c.rule == .unique && hasDefault {
                // Every existing row gets the same default: two rows make the UNIQUE fail.
                constraintAdds.append(.addConstraint(kind: table, constraint: c))
            } else {
                constraintAdds.append(
                    .addConstraintSafely(
                        kind: table, constraint: c,
                        because: hasDefault ? "the new column holds only its default, which meets the rule" : "the new column holds only NULL"))
            }
        }
        if field.index { indexAdds.append(.createIndex(kind: table, field: field.name)) }
    }

    // MARK: changed fields

    /// `previous` is the committed field under its new name.
    private mutating func change(_ previous: FieldDefinition, to field: FieldDefinition) {
        let typeChange = MigrationPlanner.typeChange(table: table, from: previous, in: oldLayout, to: field)
        let previousSQL = ColumnType.sql(for: previous, in: oldLayout)
        if case .refused(let reason) = typeChange {
            problems.append(
                "field '\(table).\(field.name)': changing its type from \(previousSQL) to \(ColumnType.sql(for: field)) is refused: \(reason). To change it, add a new field, copy the values over, then remove the old field (with --allow-destructive)"
            )
            return
        }
        let typeChanged = typeChange != .none

        // Constraints: same name and text → kept; otherwise dropped and re-added. When the column
        // type changes, every constraint of the field is dropped first and re-created after: PostgreSQL
        // would rebuild them itself, but with casts for the old type left in their expressions, so the
        // result would differ from a fresh table (and from what `migrate check` expects).
        let before = FieldConstraints.constraints(table: table, field: previous, in: oldLayout)
        let after = FieldConstraints.constraints(table: table, field: field)
        let afterByName = Dictionary(after.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let beforeByName = Dictionary(before.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for c in before where afterByName[c.name] != c || typeChanged {
            drops.append(.dropConstraint(kind: table, name: c.name, rule: c.rule))
        }
        for c in after where beforeByName[c.name] != c || typeChanged {
            if beforeByName[c.name] == c {
                constraintAdds.append(.addConstraintSafely(kind: table, constraint: c, because: "the same rule, re-created for the new column type"))
            } else if beforeByName[c.name] != nil, MigrationPlanner.isLooser(rule: c.rule, old: previous, new: field) {
                constraintAdds.append(.addConstraintSafely(kind: table, constraint: c, because: "it is looser than the rule it replaces"))
            } else if let bound = MigrationPlanner.guaranteedMaxLength(previous), let limit = field.rules.maxLength, bound <= limit,
                c.rule == .maxLength || c.rule == .itemsMaxLength
            {
                // A length the old column already enforced (its varchar(n), enum values or CHECK).
                constraintAdds.append(
                    .addConstraintSafely(
                        kind: table, constraint: c, because: "no existing value is longer: the old rules allowed at most \(bound) characters"))
            } else {
                constraintAdds.append(.addConstraint(kind: table, constraint: c))
            }
        }
        if previous.index && !field.index { drops.append(.dropIndex(kind: table, field: field.name)) }
        if !previous.index && field.index { indexAdds.append(.createIndex(kind: table, field: field.name)) }

        // Defaults: a default written for the old type is dropped before the type changes.
        let oldDefault = MigrationStep.defaultSQL(previous, in: oldLayout)
        let newDefault = MigrationStep.defaultSQL(field)
        if oldDefault != nil && (newDefault == nil || typeChanged) { drops.append(.dropDefault(kind: table, field: field.name)) }
        if newDefault != nil && (newDefault != oldDefault || typeChanged) { defaults.append(.setDefault(kind: table, field: field)) }

        switch typeChange {
        case .none, .refused: break
        case .lossless:
            typeChanges.append(.changeColumnType(kind: table, field: field, fromSQL: previousSQL))
        case .guarded(let check, let reason):
            typeChanges.append(
                .guardedChangeColumnType(
                    kind: table, field: field, fromSQL: previousSQL,
                    guardCheck: check, reason: reason))
        }

        // Lists are always NOT NULL (absent means empty); scalars are NOT NULL when required.
        let wasNotNull = previous.required && !previous.isList
        let isNotNull = field.required && !field.isList
        if isNotNull && !wasNotNull {
            if (field.defaultValue ?? .null) != .null {
                nullability.append(.fillNullsAndSetNotNull(kind: table, field: field))
            } else {
                nullability.append(.setNotNull(kind: table, field: field.name))
            }
        } else if wasNotNull && !isNotNull {
            nullability.append(.dropNotNull(kind: table, field: field.name))
        }
    }
}

extension MigrationPlanner {
    /// Whether the rule `rule` of `new` accepts every value the same rule of `old` accepted.
    static func isLooser(rule: ConstraintRule, old: FieldDefinition, new: FieldDefinition) -> Bool {
        let o = old.rules
        let n = new.rules
        func atMost<T: Comparable>(_ a: T?, _ b: T?) -> Bool {
            guard let a, let b else { return false }
            return a <= b
        }
        switch rule {
        case .minLength, .itemsMinLength: return atMost(n.minLength, o.minLength)
        case .maxLength, .itemsMaxLength: return atMost(o.maxLength, n.maxLength)
        case .min, .itemsMin: return atMost(n.min, o.min)
        case .max, .itemsMax: return atMost(o.max, n.max)
        case .minItems: return atMost(new.minItems, old.minItems)
        case .maxItems: return atMost(old.maxItems, new.maxItems)
        case .enum, .itemsEnum:
            guard let ov = o.enumValues, let nv = n.enumValues else { return false }
            return Set(nv).isSuperset(of: ov)
        case .pattern, .itemsPattern, .unique, .itemsNotNull: return false
        }
    }
}
