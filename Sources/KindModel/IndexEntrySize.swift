/// The one rule for what a b-tree index of a kind can hold: PostgreSQL refuses to store an index
/// entry larger than 2,704 bytes (btree version 4 on 8 KiB pages, `BTMaxItemSize`), and refuses
/// it only when a write brings such a value — SQLSTATE 54000, "index row size … exceeds btree
/// version 4 maximum 2704". So the linter refuses every index declaration (`index: true`,
/// `unique: true`, `browse:`, an `indexes:` entry) whose *worst-case* entry can pass the limit,
/// before a table or a request ever meets it.
///
/// The worst case is counted as PostgreSQL lays an entry out (`index_form_tuple`), never less:
/// - an 8-byte header, 16 when some column of the entry is null (its null bitmap); a column that
///   is not `required` may be null, and is then left out;
/// - each column aligned to its type (8 bytes for `bigint`, `double precision`, `timestamptz`
///   and arrays, 4 for `date` and text), the entry padded to 8;
/// - a text value (string, text, enum) as 4 bytes of length plus 4 bytes per character of
///   `max_length` (UTF-8 needs up to 4), or the longest enum value's UTF-8 bytes; a `text`
///   without `max_length` has no bound;
/// - a list as a one-dimensional array: 24 bytes of header plus `max_items` items, each as above
///   (no `max_items`: no bound);
/// - `bigint`, `double precision`, `timestamptz`: 8 bytes; `date`: 4; `boolean`: 1.
///
/// PostgreSQL compresses long index values when it can, which only makes entries smaller: the
/// worst case is incompressible text (tests check the boundaries against a real PostgreSQL).
public enum IndexEntrySize {
    /// PostgreSQL's largest b-tree entry in bytes.
    public static let limit = 2704

    /// The worst-case size of one entry over `columns`, in index order (system columns included,
    /// e.g. the `id` a browsing index appends); nil when some column has no bound.
    public static func worstCase(_ columns: [FieldDefinition]) -> Int? {
        var layouts: [(size: Int, align: Int, nullable: Bool)] = []
        for column in columns {
            guard let layout = layout(column) else { return nil }
            layouts.append((layout.size, layout.align, !column.required && !column.isList))
        }
        // Every combination of the nullable columns being null (at most 2^9 for 8 keys and an id).
        let nullable = layouts.indices.filter { layouts[$0].nullable }
        var worst = 0
        for mask in 0..<(1 << nullable.count) {
            let null = Set(nullable.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element))
            var offset = null.isEmpty ? 8 : 16
            for (i, column) in layouts.enumerated() where !null.contains(i) {
                offset = roundUp(offset, to: column.align) + column.size
            }
            worst = max(worst, roundUp(offset, to: 8))
        }
        return worst
    }

    /// The worst-case bytes of one column's value and its alignment; nil when unbounded.
    static func layout(_ field: FieldDefinition) -> (size: Int, align: Int)? {
        guard field.isList else { return valueLayout(field.valueType, field.rules) }
        guard let items = field.maxItems, let item = valueLayout(field.valueType, field.rules) else { return nil }
        // Items start at 24, aligned for every type; each is padded to the next one's alignment.
        return (items == 0 ? 24 : 24 + (items - 1) * roundUp(item.size, to: item.align) + item.size, 8)
    }

    /// Whether `field`'s values alone have a bound (a text needs `max_length`, a list `max_items`).
    public static func isBounded(_ field: FieldDefinition) -> Bool { layout(field) != nil }

    /// The longest `max_length` a browsing string may have: its `(field, id)` index must hold every value.
    public static let largestBrowsableStringLength =
        largestFittingMaxLength([FieldDefinition(name: "browsed", type: .string), KindDefinition.idColumn], at: 0) ?? 0

    /// Whether every entry over `columns` fits.
    public static func fits(_ columns: [FieldDefinition]) -> Bool {
        worstCase(columns).map { $0 <= limit } ?? false
    }

    /// The largest `max_length` the textual (non-list) column at `position` may have for an entry
    /// over `columns` to fit, the other columns as they are; nil when none fits (or another column
    /// has no bound).
    public static func largestFittingMaxLength(_ columns: [FieldDefinition], at position: Int) -> Int? {
        var trial = columns
        trial[position].rules.maxLength = 1
        guard fits(trial) else { return nil }
        var (lo, hi) = (1, limit / 4)  // lo fits, hi + 1 cannot
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            trial[position].rules.maxLength = mid
            if fits(trial) { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    private static func valueLayout(_ type: FieldType, _ rules: ValueRules) -> (size: Int, align: Int)? {
        switch type {
        case .string, .text:
            guard let length = rules.maxLength else { return nil }
            return (4 + 4 * length, 4)
        case .enum: return (4 + ((rules.enumValues ?? []).map(\.utf8.count).max() ?? 0), 4)
        case .integer, .number, .datetime: return (8, 8)
        case .date: return (4, 4)
        case .boolean: return (1, 1)
        case .list: return nil
        }
    }

    private static func roundUp(_ bytes: Int, to alignment: Int) -> Int { (bytes + alignment - 1) / alignment * alignment }
}

extension KindDefinition {
    /// The `id` column, which browsing indexes and most `indexes:` entries end with.
    public static var idColumn: FieldDefinition { filterableSystemFields[0] }

    /// The columns of a kind's index over `keys`, as PostgreSQL stores them: the fields (or system
    /// columns) named, then the `id` the engine appends when `appendsID`.
    public func indexColumns(_ keys: [String], appendsID: Bool) -> [FieldDefinition] {
        (keys + (appendsID ? ["id"] : [])).compactMap { filterField(named: $0) }
    }
}
