/// A multi-column b-tree index declared under a kind's `indexes:`, so that a list query sorted by
/// several keys (`?host=X&sort=-duration,name`) is read in index order instead of sorted.
///
/// Its keys use the `sort=` syntax (`name`, `-duration`) because the index exists to match the
/// list query's ORDER BY, which is built from exactly those keys. Written to snapshots as that
/// list of strings (`["host", "-duration", "name"]`), which reads like the YAML it came from.
public struct KindIndex: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var keys: [IndexKey]

    public init(keys: [IndexKey]) { self.keys = keys }

    /// Parses sort-syntax keys; `"-x"` is descending. For tests and snapshots; the linter checks names.
    public init(_ keys: [String]) { self.keys = keys.map(IndexKey.init(sortSyntax:)) }

    /// The most keys one entry may name: more are never a useful sort, and PostgreSQL allows 32 columns.
    public static let maxKeys = 8

    /// `host, -duration, name`, as written in YAML.
    public var description: String { keys.map(\.sortSyntax).joined(separator: ", ") }

    /// Whether the list query's `"id"` tiebreaker must be appended: not when the entry already ends
    /// with `id` (in either direction), which orders every row completely.
    public var needsIDTiebreaker: Bool { keys.last?.field != "id" }

    /// The entry with every field renamed through `renames` (old name → new name).
    public func renamingFields(_ renames: [String: String]) -> KindIndex {
        KindIndex(keys: keys.map { IndexKey(field: renames[$0.field] ?? $0.field, descending: $0.descending) })
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(keys.map(\.sortSyntax))
    }
}

/// One key of a `KindIndex`: a column and its direction (nulls always last, as the list query sorts).
public struct IndexKey: Sendable, Equatable, Hashable {
    public var field: String
    public var descending: Bool

    public init(field: String, descending: Bool = false) {
        self.field = field
        self.descending = descending
    }

    /// `"-duration"` → duration, descending; `"name"` → name, ascending.
    public init(sortSyntax text: String) {
        descending = text.hasPrefix("-")
        field = descending ? String(text.dropFirst()) : text
    }

    public var sortSyntax: String { (descending ? "-" : "") + field }

    /// The part of the index name for this key: `duration_desc` / `name`, so that entries differing
    /// only in direction get different names.
    public var namePart: String { field + (descending ? "_desc" : "") }
}

extension KindDefinition {
    /// The `(field, id)` indexes of browsing fields, one per direction, ascending first.
    public var browseIndexes: [KindIndex] {
        fields.flatMap { field in
            (field.browse?.keyDirections ?? []).map { KindIndex(keys: [IndexKey(field: field.name, descending: $0)]) }
        }
    }

    /// Every multi-column index the engine keeps for the kind: the browsing fields', then `indexes:`.
    public var allIndexes: [KindIndex] { browseIndexes + indexes }

    /// The key lists of every index on the kind's table, as the list query reads them: the primary
    /// key, `index: true` and `unique: true` columns (ascending), browsing fields and `indexes:`.
    public var servingIndexKeys: [[IndexKey]] {
        [[IndexKey(field: "id")]]
            + fields.filter { ($0.index || $0.unique) && !$0.isList }.map { [IndexKey(field: $0.name)] }
            + allIndexes.map(\.keys)
    }

    /// The single sort keys (`id`, `-id`, `duration`, `-duration`) that an index serves without `=`
    /// filters: sorts that stay cheap on any table size (the list reads the primary key backwards
    /// for `-id`).
    public var indexedSorts: [String] {
        var seen = Set<String>()
        return (["id", "-id"] + servingIndexKeys.compactMap { $0.first?.sortSyntax }).filter { seen.insert($0).inserted }
    }

    /// System columns a list may be sorted (and therefore an index keyed) by.
    public static let sortableSystemColumns = ["id", "created_at", "updated_at"]

    /// System columns a list may be filtered by, as the fields they behave like: `id`, the record's
    /// timestamps, and `uploaded_time` (null until a file is uploaded). `updated_at[gt]=…` is how a
    /// client syncs what changed since it last looked.
    public static let filterableSystemFields: [FieldDefinition] = [
        FieldDefinition(name: "id", type: .integer, required: true),
        FieldDefinition(name: "created_at", type: .datetime, required: true),
        FieldDefinition(name: "updated_at", type: .datetime, required: true),
        FieldDefinition(name: "uploaded_time", type: .datetime),
    ]

    /// The field `name` filters on: a declared field or a filterable system column.
    public func filterField(named name: String) -> FieldDefinition? {
        field(named: name) ?? Self.filterableSystemFields.first { $0.name == name }
    }

    /// Names `sort=` and `indexes:` accept: the non-list fields, then the sortable system columns.
    public var sortableNames: [String] {
        fields.filter { !$0.isList }.map(\.name) + Self.sortableSystemColumns
    }
}
