import KindModel

/// The steps for a kind's `indexes:` entries between its committed and its new definition.
///
/// Entries are matched as a set (their order in YAML does not matter) after following field
/// renames: PostgreSQL updates an index's columns itself when a column is renamed, so a kept entry
/// only needs its derived name renamed when the kind or one of its fields was renamed.
struct KindIndexChanges {
    private(set) var renames: [ObjectRename] = []
    private(set) var drops: [MigrationStep] = []
    private(set) var creates: [MigrationStep] = []

    /// `fieldRenames` maps old field names to new ones, as the planner resolved them.
    init(old: KindDefinition, new: KindDefinition, fieldRenames: [String: String]) {
        let wanted = Set(new.allIndexes)
        var kept = Set<KindIndex>()
        for before in old.allIndexes {
            let after = before.renamingFields(fieldRenames)
            let oldName = FieldConstraints.indexName(table: old.name, index: before)
            guard wanted.contains(after) else {
                // Dropped by the name it has now: removed entries are not renamed first.
                drops.append(.dropKindIndex(kind: new.name, name: oldName, index: before))
                continue
            }
            kept.insert(after)
            let newName = FieldConstraints.indexName(table: new.name, index: after)
            if oldName != newName { renames.append(ObjectRename(.index, from: oldName, to: newName)) }
        }
        for index in new.allIndexes where !kept.contains(index) {
            creates.append(.createKindIndex(kind: new.name, index: index))
        }
    }
}
