import KindModel
import Schema

/// The SQL text for one kind, built once when kinds are loaded rather than on every request.
///
/// Records are rendered to JSON by PostgreSQL itself (`json_build_object` in field order): the
/// response body is the text the database returns, with no decode/encode in Swift.
public struct KindQueries: Sendable {
    public let kind: KindDefinition
    let table: String
    /// `id, record JSON, version` of the row aliased `t`: what every query that returns records selects.
    /// The version (ETag value) is the `updated_at` text, which advances on every write.
    let recordOutput: String
    /// id, record JSON and version of the record with id `$1`.
    let selectByID: String
    /// Where `selectByID` is prepared (see `PreparedLookups`); nil runs it unprepared.
    let selectByIDSlot: Int?
    let insertPrefix: String
    let deleteByID: String

    public init(kind: KindDefinition) {
        self.kind = kind
        table = SQLText.identifier(kind.name)
        func ts(_ column: String) -> String { Self.versionExpression("t.\(column)") }
        // (key, expression) in API order.
        var members: [(String, String)] = [("id", "t.\"id\""), ("filetype", "\(SQLText.literal(kind.name))::text")]
        for field in kind.fields {
            let column = SQLText.identifier(field.name)
            switch field.valueType {
            case .datetime where field.isList:
                // array_agg of no rows is NULL, but a list is never null in a record: coalesce to [].
                members.append((field.name, "coalesce((SELECT array_agg(\(Self.versionExpression("x")) ORDER BY n) FROM unnest(t.\(column)) WITH ORDINALITY AS u(x, n)), '{}')"))
            case .datetime:
                members.append((field.name, ts(column)))
            default:
                members.append((field.name, "t.\(column)"))
            }
        }
        members += [("uploaded_time", ts("\"uploaded_time\"")), ("created_at", ts("\"created_at\"")),
                    ("updated_at", ts("\"updated_at\"")), ("file", "t.\"file\"")]
        let json: String
        if members.count <= 50 {
            // json_build_object plans far cheaper than row_to_json over a sub-select (+47% GET by id,
            // measured by replaying the statement with pgbench); it takes at most 100 arguments.
            json = "json_build_object(" + members.map { "\(SQLText.literal($0.0)), \($0.1)" }.joined(separator: ", ") + ")::text"
        } else {
            let columns = members.map { "\($0.1) AS \(SQLText.identifier($0.0))" }.joined(separator: ", ")
            json = "(SELECT row_to_json(r)::text FROM (SELECT \(columns)) r)"
        }
        recordOutput = "t.\"id\", \(json), \(ts("\"updated_at\""))"
        selectByID = "SELECT \(recordOutput) FROM \(table) t WHERE t.\"id\" = $1"
        selectByIDSlot = PreparedLookups.claim(sql: selectByID)
        insertPrefix = "INSERT INTO \(table)"
        deleteByID = "DELETE FROM \(table) WHERE \"id\" = $1 RETURNING \"file_key\""
    }


    /// A timestamptz as RFC 3339 UTC text with microseconds — how every timestamp is returned, and
    /// the form of record versions.
    static func versionExpression(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    /// `$n`, or `$n::date` / `$n::timestamptz` (and arrays): those are bound as text and cast explicitly.
    static func placeholder(_ index: Int, for field: FieldDefinition) -> String {
        switch (field.valueType, field.isList) {
        case (.date, false): "$\(index)::date"
        case (.date, true): "$\(index)::date[]"
        case (.datetime, false): "$\(index)::timestamptz"
        case (.datetime, true): "$\(index)::timestamptz[]"
        default: "$\(index)"
        }
    }
}
