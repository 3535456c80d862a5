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
    /// id, record JSON and version of the record with id `$1`.
    let selectByID: String
    /// The same for records with id > `$1`, at most `$2`, in id order.
    let listAfterID: String
    let insertPrefix: String
    let deleteByID: String

    public init(kind: KindDefinition) {
        self.kind = kind
        table = SQLText.identifier(kind.name)
        func ts(_ column: String) -> String {
            "to_char(t.\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        }
        var columns = ["t.\"id\"", "\(SQLText.literal(kind.name))::text AS \"filetype\""]
        for field in kind.fields {
            let column = SQLText.identifier(field.name)
            switch field.valueType {
            case .datetime where field.isList:
                columns.append("(SELECT array_agg(to_char(x AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')) FROM unnest(t.\(column)) x) AS \(column)")
            case .datetime:
                columns.append("\(ts(column)) AS \(column)")
            default:
                columns.append("t.\(column)")
            }
        }
        columns += ["\(ts("\"uploaded_time\"")) AS \"uploaded_time\"", "\(ts("\"created_at\"")) AS \"created_at\"",
                    "\(ts("\"updated_at\"")) AS \"updated_at\"", "t.\"file\""]
        recordColumns = columns.joined(separator: ", ")
        selectByID = Self.wrap("SELECT \(recordColumns) FROM \(table) t WHERE t.\"id\" = $1")
        listAfterID = Self.wrap("SELECT \(recordColumns) FROM \(table) t WHERE t.\"id\" > $1 ORDER BY t.\"id\" LIMIT $2")
        insertPrefix = "INSERT INTO \(table)"
        deleteByID = "DELETE FROM \(table) WHERE \"id\" = $1 RETURNING \"file_key\""
    }

    /// Selects (id, record JSON, version) from a subquery producing `recordColumns`.
    /// The version (ETag value) is the `updated_at` text, which advances on every write.
    static func wrap(_ subquery: String) -> String {
        "SELECT r.\"id\", row_to_json(r)::text, r.\"updated_at\" FROM (\(subquery)) r"
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
