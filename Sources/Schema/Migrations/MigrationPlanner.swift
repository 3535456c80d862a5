public import KindModel

/// Why a change of `kinds/` cannot become a migration as asked.
public struct MigrationPlanningError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]
    public init(_ problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

/// Options for planning.
public struct PlanningOptions: Sendable {
    /// Allow steps that drop a kind or a field.
    public var allowDestructive: Bool
    public init(allowDestructive: Bool = false) { self.allowDestructive = allowDestructive }
}

/// Diffs two versions of the kinds into a `MigrationPlan`. Pure: no database, no files, and the
/// same input always gives the same steps in the same order.
///
/// `old` is the state the committed migrations produce (the newest snapshot), `new` the kinds in
/// `kinds/`, whose `renamed_from` hints say which old kind or field a new name continues.
/// Only what the database stores is compared: descriptions, aliases, upload rules, field order
/// and `not_in_past` live in the application and need no migration.
///
/// Step order: helper functions, kind renames, then per kind (by name) field renames and object
/// renames, dropped constraints and indexes, dropped fields, type changes, new fields, defaults,
/// nullability, new constraints, new indexes; then new kinds; then dropped kinds.
public enum MigrationPlanner {
    public static func plan(
        from old: [KindDefinition], to new: [KindDefinition],
        options: PlanningOptions = PlanningOptions()
    ) throws(MigrationPlanningError) -> MigrationPlan {
        try plan(from: SchemaState(kinds: old), to: new, options: options)
    }

    /// The plan from the committed state to `new`. When the committed tables have an older
    /// layout, the old side's columns and constraints are described as that layout made them, so
    /// the ordinary diff writes the upgrade (a `varchar(n)` becoming `text` with its length CHECK).
    public static func plan(
        from state: SchemaState, to new: [KindDefinition],
        options: PlanningOptions = PlanningOptions()
    ) throws(MigrationPlanningError) -> MigrationPlan {
        let old = state.kinds
        var problems: [String] = []
        let matching = matchKinds(old: old, new: new, problems: &problems)
        var steps: [MigrationStep] = []
        if old.isEmpty && !new.isEmpty { steps.append(.installHelpers) }

        for (previous, kind) in matching.pairs where previous.name != kind.name {
            steps.append(.renameKind(from: previous.name, to: kind.name))
        }
        for (previous, kind) in matching.pairs {
            var diff = KindDiff(old: previous, new: kind, oldLayout: state.layout, options: options)
            diff.run()
            steps += diff.steps
            problems += diff.problems
        }
        for kind in matching.created {
            steps.append(.createKind(Snapshot.normalized(kind)))
        }
        for kind in matching.removed {
            if options.allowDestructive {
                steps.append(.dropKind(kind.name))
            } else {
                problems.append(
                    "kind '\(kind.name)' was removed: dropping table \"\(kind.name)\" would delete ALL its rows and their \(kind.fields.count) field\(kind.fields.count == 1 ? "" : "s") (\(kind.fields.map(\.name).joined(separator: ", "))), and its stored audio files would be left for `audio-server storage verify --repair` to remove; to drop it, generate the migration with `audio-server migrate generate --allow-destructive` (then `audio-server migrate apply`), or add `renamed_from: \(kind.name)` to the kind that replaces it"
                )
            }
        }
        if !problems.isEmpty { throw MigrationPlanningError(problems) }
        return MigrationPlan(steps: steps)
    }

    /// Old and new kinds paired by name or by `renamed_from`, plus the created and removed ones,
    /// each sorted by (new) name.
    struct KindMatching {
        var pairs: [(old: KindDefinition, new: KindDefinition)] = []
        var created: [KindDefinition] = []
        var removed: [KindDefinition] = []
    }

    static func matchKinds(old: [KindDefinition], new: [KindDefinition], problems: inout [String]) -> KindMatching {
        let oldByName = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.map(\.name))
        let renames = resolveRenames(
            items: new.sorted { $0.name < $1.name }.map { (name: $0.name, hint: $0.renamedFrom) },
            oldNames: Set(old.map(\.name)), newNames: newNames, describe: { "kind '\($0)'" }, problems: &problems)
        var matching = KindMatching()
        var continued = Set<String>()
        for kind in new.sorted(by: { $0.name < $1.name }) {
            let source = renames[kind.name] ?? kind.name
            if let previous = oldByName[source] {
                matching.pairs.append((previous, kind))
                continued.insert(source)
            } else {
                matching.created.append(kind)
            }
        }
        matching.removed = old.filter { !continued.contains($0.name) }.sorted { $0.name < $1.name }
        return matching
    }

    /// Which `renamed_from` hints are renames to generate now: `new name → old name`.
    ///
    /// A hint is followed when the old name exists in the committed state and the new one does not.
    /// A hint whose old name no longer exists is stale (the rename was generated earlier) and ignored.
    /// Ambiguous hints are refused: both names exist already, the old name is still declared, or
    /// two items claim the same old name.
    static func resolveRenames(
        items: [(name: String, hint: String?)], oldNames: Set<String>, newNames: Set<String>,
        describe: (String) -> String, problems: inout [String]
    ) -> [String: String] {
        var result: [String: String] = [:]
        var claimedBy: [String: String] = [:]
        for item in items {
            guard let hint = item.hint, hint != item.name, oldNames.contains(hint) else { continue }
            if newNames.contains(hint) {
                if !oldNames.contains(item.name) {
                    problems.append(
                        "\(describe(item.name)) is renamed_from '\(hint)', but \(describe(hint)) is still declared; remove one of them or the renamed_from line"
                    )
                }
                continue
            }
            if oldNames.contains(item.name) {
                problems.append(
                    "\(describe(item.name)) is renamed_from '\(hint)', but both '\(item.name)' and '\(hint)' exist in the committed migrations; a rename onto an existing name (or a swap) cannot be generated — do it in two migrations"
                )
                continue
            }
            if let other = claimedBy[hint] {
                problems.append("\(describe(other)) and \(describe(item.name)) are both renamed_from '\(hint)'; only one can continue it")
                continue
            }
            claimedBy[hint] = item.name
            result[item.name] = hint
        }
        return result
    }
}
