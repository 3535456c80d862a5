/// How the engine lays out a kind's table. Versioned, because a table made by an older engine
/// stays as it was made: the snapshot beside each migration records the layout its tables have,
/// so that `migrate check` compares a database with what *its* migrations made (not with what the
/// engine would make today), and `migrate generate` can write the upgrade to the current layout.
public enum SchemaLayout: Int, Sendable, Codable, Comparable, CaseIterable {
    /// A `string` field is a `varchar(max_length)` column: its length is enforced by the type, and a
    /// refusal is SQLSTATE 22001 that names no field. (Snapshots written before layouts existed.)
    case varcharStrings = 1
    /// A `string` field is a `text` column whose length is the named CHECK `<kind>_<field>_max_length`
    /// (`..._items_max_length` for a list), like every other rule: a refusal maps back to the field
    /// and the rule, and changing a length is a constraint change, never a column rewrite.
    case checkedStrings = 2

    /// What `migrate generate` writes and new tables get.
    public static let current: SchemaLayout = .checkedStrings

    /// What to tell the operator of an installation whose tables have this (older) layout.
    public var upgradeAdvice: String {
        "the committed migrations made tables of layout \(rawValue) (string fields as varchar(n) columns); run `audio-server migrate generate` to write the upgrade to layout \(SchemaLayout.current.rawValue) (text columns with named max_length CHECKs, so a too-long value is refused naming its field), review it and `migrate apply` it"
    }

    public static func < (a: SchemaLayout, b: SchemaLayout) -> Bool { a.rawValue < b.rawValue }
}
