public import KindModel
import Schema

/// The SQL text for one kind, built once when kinds are loaded rather than on every request.
///
/// Queries select plain columns; `RecordRenderer` writes the record JSON from their binary values
/// (cheaper for the database than building JSON in SQL, see `CellJSON`).
public struct KindQueries: Sendable {
    public let kind: KindDefinition
    let table: String
    /// The record's columns of the row aliased `t`, in API order: `id`, the kind's fields, then
    /// `uploaded_time`, `created_at`, `updated_at`, `file`. Every query that returns records
    /// selects these first; `renderer` makes the record JSON of them.
    let recordColumns: String
    let renderer: RecordRenderer
    /// Where each of `recordColumns` is in a row (`id` is 0): a page's cursor reads its sort keys there.
    let columnIndex: [String: Int]
    /// `kind.servingIndexKeys`, computed once (`FullScanGuard` reads it for every sorted page).
    let servingIndexKeys: [[IndexKey]]
    /// The record with id `$1`.
    let selectByID: String
    /// The records whose ids are in the array `$1` (GETs sharing a round trip, `RoundTripSharing`).
    let selectByIDs: String
    let insertPrefix: String
    let deleteByID: String
    /// `deleteByID` only while the record's version is one of `$2` (`If-Match`).
    let deleteByIDIfVersion: String
    /// Each named constraint of the kind's table → the field and rule it enforces, from the same
    /// definitions that made the constraints, so a refusal maps back to its field exactly.
    let constraintOwners: [String: ConstraintOwner]

    public init(kind: KindDefinition) {
        self.kind = kind
        table = SQLText.identifier(kind.name)
        let keys = kind.fields.map(\.name) + ["uploaded_time", "created_at", "updated_at", "file"]
        recordColumns = (["id"] + keys).map { "t.\(SQLText.identifier($0))" }.joined(separator: ", ")
        renderer = RecordRenderer(kindName: kind.name, keys: keys)
        servingIndexKeys = kind.servingIndexKeys
        columnIndex = Dictionary(uniqueKeysWithValues: (["id"] + keys).enumerated().map { ($1, $0) })
        selectByID = "SELECT \(recordColumns) FROM \(table) t WHERE t.\"id\" = $1"
        selectByIDs = "SELECT \(recordColumns) FROM \(table) t WHERE t.\"id\" = ANY(\(PreparedStatements.sharedArray("$1", of: "int8[]")))"
        insertPrefix = "INSERT INTO \(table) AS t"
        deleteByID = "DELETE FROM \(table) WHERE \"id\" = $1 RETURNING \"file_key\", \"id\""
        var owners: [String: ConstraintOwner] = [:]
        for field in kind.fields {
            for constraint in FieldConstraints.constraints(table: kind.name, field: field) {
                owners[constraint.name] = ConstraintOwner(field: field.name, rule: constraint.rule)
            }
        }
        constraintOwners = owners
        deleteByIDIfVersion = "DELETE FROM \(table) WHERE \"id\" = $1 AND \(Self.version) = ANY($2) RETURNING \"file_key\", \"id\""
    }

    /// A record's version in SQL: its `updated_at` as RFC 3339 UTC text with microseconds, the form
    /// `If-Match` compares with (`TimestampText` writes the same text in Swift).
    static let version = "to_char(\"updated_at\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
}
