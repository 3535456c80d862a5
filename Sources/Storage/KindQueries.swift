import KindModel
import Schema

/// The SQL text for one kind, built once when kinds are loaded rather than on every request.
///
/// Records are rendered to JSON by PostgreSQL itself (`row_to_json` over a select list in field
/// order): the response body is the text the database returns, with no decode/encode in Swift.
public struct KindQueries: Sendable {
    public let kind: KindDefinition
    let table: String
    /// `SELECT`-list producing the record's columns in API order, from a row source aliased `t`.
    let recordColumns: String
    /// `id, record JSON, version` of the row aliased `t`: what every query that returns records selects.
    /// The version (ETag value) is the `updated_at` text, which advances on every write.
    let recordOutput: String
    /// id, record JSON and version of the record with id `$1`.
    let selectByID: String
    let insertPrefix: String
    let deleteByID: String

    public init(kind: KindDefinition) {
        self.kind = kind
        table = SQLText.identifier(kind.name)
        func ts(_ column: String) -> String { Self.versionExpression("t.\(column)") }
        var columns = ["t.\"id\"", "\(SQLText.literal(kind.name))::text AS \"filetype\""]
        for field in kind.fields {
            let column = SQLText.identifier(field.name)
            switch field.valueType {
            case .datetime where field.isList:
                // array_agg of no rows is NULL, but a list is never null in a record: coalesce to [].
                columns.append("coalesce((SELECT array_agg(\(Self.versionExpression("x")) ORDER BY n) FROM unnest(t.\(column)) WITH ORDINALITY AS u(x, n)), '{}') AS \(column)")
            case .datetime:
                columns.append("\(ts(column)) AS \(column)")
            default:
                columns.append("t.\(column)")
            }
        }
        columns += ["\(ts("\"uploaded_time\"")) AS \"uploaded_time\"", "\(ts("\"created_at\"")) AS \"created_at\"",
                    "\(ts("\"updated_at\"")) AS \"updated_at\"", "t.\"file\""]
        recordColumns = columns.joined(separator: ", ")
        recordOutput = "t.\"id\", (SELECT row_to_json(r)::text FROM (SELECT \(recordColumns)) r), \(ts("\"updated_at\""))"
        selectByID = "SELECT \(recordOutput) FROM \(table) t WHERE t.\"id\" = $1"
        insertPrefix = "INSERT INTO \(table)"
        deleteByID = "DELETE FROM \(table) WHERE \"id\" = $1 RETURNING \"file_key\""
    }


    /// A timestamptz as RFC 3339 UTC text with microseconds — how every timestamp is returned, and
    /// the form of record versions.
    static func versionExpression(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    /// `$n` or `$n::date` / `$n::date[]`: dates are bound as text and must be cast explicitly.
    static func placeholder(_ index: Int, for field: FieldDefinition) -> String {
        switch (field.valueType, field.isList) {
        case (.date, false): "$\(index)::date"
        case (.date, true): "$\(index)::date[]"
        default: "$\(index)"
        }
    }
}
