import Yams

extension KindFileReader {
    /// Reads `indexes:`, a list of entries, each a list of sort keys (`[host, -duration, name]`).
    /// Runs after the fields are read, because keys must name the kind's sortable fields.
    /// Bad entries are reported and left out; the good ones are returned.
    mutating func readIndexes(_ node: Node, kind: KindDefinition) -> [KindIndex] {
        guard case .sequence(let entries) = node else {
            problem(node, "`indexes:` must be a list of sort-key lists, e.g. `indexes: [[host, -duration, name]]`")
            return []
        }
        var result: [KindIndex] = []
        for entryNode in entries {
            guard let index = readIndex(entryNode, kind: kind) else { continue }
            if result.contains(index) {
                problem(entryNode, "index [\(index)] is listed twice; remove one of them")
                continue
            }
            result.append(index)
        }
        return result
    }

    /// One entry: every key known, sortable and named once, `id` only last, at most `KindIndex.maxKeys`.
    private mutating func readIndex(_ node: Node, kind: KindDefinition) -> KindIndex? {
        guard case .sequence(let keyNodes) = node else {
            problem(node, "each `indexes:` entry must be a list of sort keys, e.g. `[host, -duration, name]`")
            return nil
        }
        guard !keyNodes.isEmpty else {
            problem(node, "an `indexes:` entry is empty; list the keys to sort by, e.g. `[host, -duration, name]`, or remove it")
            return nil
        }
        if keyNodes.count > KindIndex.maxKeys {
            problem(
                node,
                "an `indexes:` entry has \(keyNodes.count) keys; at most \(KindIndex.maxKeys) are allowed — keep the ones your list queries filter and sort by"
            )
            return nil
        }
        var keys: [IndexKey] = []
        var valid = true
        for keyNode in keyNodes {
            guard let text = scalarString(keyNode, "indexes") else {
                valid = false
                continue
            }
            let key = IndexKey(sortSyntax: text)
            if !checkIndexKey(key, at: keyNode, kind: kind, previous: keys) { valid = false }
            keys.append(key)
        }
        guard valid else { return nil }
        let index = KindIndex(keys: keys)
        guard checkNotRedundant(index, at: node, kind: kind) else { return nil }
        let columns = kind.indexColumns(keys.map(\.field), appendsID: index.needsIDTiebreaker)
        return checkIndexFits(columns, declaration: "index [\(index)]", remedy: "remove the entry", at: node) ? index : nil
    }

    /// Whether `key` may follow `previous` in an entry; reports why not.
    private mutating func checkIndexKey(_ key: IndexKey, at node: Node, kind: KindDefinition, previous: [IndexKey]) -> Bool {
        let allowed = kind.sortableNames
        guard allowed.contains(key.field) else {
            let why =
                kind.field(named: key.field)?.isList == true
                ? "'\(key.field)' is a list field, which cannot be sorted by"
                : "'\(key.field)' is not a field of kind '\(kind.name)'"
            problem(
                node,
                "index key '\(key.sortSyntax)': \(why); use one of: \(allowed.joined(separator: ", ")), each optionally prefixed with '-' for descending"
            )
            return false
        }
        if previous.contains(where: { $0.field == key.field }) {
            problem(node, "index key '\(key.field)' is named twice in one entry; keep it once, with the direction you sort by")
            return false
        }
        if previous.last?.field == "id" {
            problem(
                node,
                "index key '\(key.sortSyntax)' follows 'id', which is unique and already decides the order; end the entry at 'id' or move 'id' last")
            return false
        }
        return true
    }

    /// Refuses an entry that repeats a field's own index: a single ascending key on a field with
    /// `index: true` (the two would even get the same name), or on a `unique: true` field, whose
    /// UNIQUE index already orders it. Also any entry whose name would equal a field index's name.
    private mutating func checkNotRedundant(_ index: KindIndex, at node: Node, kind: KindDefinition) -> Bool {
        let served = index.needsIDTiebreaker ? index : KindIndex(keys: index.keys.dropLast())
        if kind.browseIndexes.contains(served) {
            problem(node, "index [\(index)] repeats the index that `browse` of field '\(index.keys[0].field)' already creates; remove the entry")
            return false
        }
        let stem = index.keys.map(\.namePart).joined(separator: "_")
        if let field = kind.field(named: stem), field.index {
            problem(
                node,
                "index [\(index)] repeats `index: true` of field '\(field.name)' (both would be named \(kind.name)_\(stem)_idx); remove one of them")
            return false
        }
        if index.keys.count == 1, let field = kind.field(named: index.keys[0].field), field.unique, !index.keys[0].descending {
            problem(node, "index [\(index)] repeats the index that `unique: true` of field '\(field.name)' already has; remove the entry")
            return false
        }
        return true
    }
}
