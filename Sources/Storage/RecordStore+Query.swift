import KindModel
import PostgresNIO
import Schema

/// A page of a filtered, sorted list.
public struct QueryPage: Sendable {
    /// The page's records as JSON, comma-separated (the inside of the `items` array): written
    /// straight from the rows into one buffer, with no per-record string.
    public var itemsJSON: [UInt8]
    /// Where the next page starts, when there is one.
    public var next: PagePosition?
    public var total: Int64?
}

extension RecordStore {
    /// Runs a list query with keyset pagination: the cursor carries the last row's sort-key values,
    /// so a page deep in the list costs the same as the first and rows inserted meanwhile are
    /// neither skipped nor repeated. `id` is always the final tie-breaker.
    public func list(_ query: ListQuery, in queries: KindQueries) async throws -> QueryPage {
        let (sql, bindings) = Self.pageStatement(query, in: queries)
        let rows = try await rows(sql, bindings, in: queries)
        let shown = min(rows.count, query.limit)
        var json: [UInt8] = []
        json.reserveCapacity(shown * 320)
        var lastID: Int64 = 0
        for (i, row) in rows.prefix(shown).enumerated() {
            if i > 0 { json.append(UInt8(ascii: ",")) }
            lastID = try queries.renderer.write(row, into: &json).id
        }
        var next: PagePosition?
        if rows.count > query.limit {
            var values: [String?] = []
            if !query.sort.isEmpty {
                let sortText = try PostgresRandomAccessRow(rows[query.limit - 1])[queries.renderer.columnCount].decode(String.self)
                values = (try? JSONParser.parse(sortText))?.arrayValue?.map(\.stringValue) ?? []
            }
            next = PagePosition(values: values, id: lastID)
        }
        var total: Int64?
        if query.countTotal {
            var countBindings = PostgresBindings()
            let countConditions = Self.filterConditions(query) { text, type in
                countBindings.append(text)
                return "$\(countBindings.count)::\(type)"
            }
            let countSQL = "SELECT count(*)::bigint FROM \(queries.table) t WHERE \(countConditions.isEmpty ? "TRUE" : countConditions.joined(separator: " AND "))"
            let countRows = try await client.query(PostgresQuery(unsafeSQL: countSQL, binds: countBindings), logger: logger)
            for try await n in countRows.decode(Int64.self) { total = n }
        }
        return QueryPage(itemsJSON: json, next: next, total: total)
    }

    /// The SQL and bindings of one page (one more row than `limit`, to know whether a next page
    /// exists). Pure, so that tests can ask PostgreSQL how it plans exactly what the server sends.
    public static func pageStatement(_ query: ListQuery, in queries: KindQueries) -> (sql: String, bindings: StatementBindings) {
        var bindings = StatementBindings()
        func bind(_ text: String, as type: String) -> String {
            bindings.append(text)
            return "$\(bindings.count)::\(type)"
        }
        let conditions = Self.filterConditions(query, bind: bind)
        var pageConditions = conditions
        if let after = query.after {
            pageConditions.append(Self.keysetCondition(query.sort, after: after, bind: bind))
        }
        let order = (query.sort.map { ListOrder.key($0.column, descending: $0.descending, alias: "t") } + [ListOrder.tiebreaker(alias: "t")])
            .joined(separator: ", ")
        bindings.append(Int64(query.limit + 1))
        let limitParam = "$\(bindings.count)"
        let whereSQL = pageConditions.isEmpty ? "" : " WHERE " + pageConditions.joined(separator: " AND ")
        // The sort values travel after the record's columns as JSON text of their SQL text forms, so
        // the cursor holds them exactly (microseconds, shortest-round-trip doubles) and casts them
        // back losslessly. Without sort keys the cursor needs only the id.
        let sortValues = query.sort.isEmpty ? ""
            : ", json_build_array(\(query.sort.map { "t.\(SQLText.identifier($0.column))::text" }.joined(separator: ", ")))::text"
        let sql = "SELECT \(queries.recordColumns)\(sortValues) FROM \(queries.table) t\(whereSQL) ORDER BY \(order) LIMIT \(limitParam)"
        return (sql, bindings)
    }

    /// The WHERE terms of the filters; `bind` appends a text parameter and returns its cast placeholder.
    static func filterConditions(_ query: ListQuery, bind: (String, String) -> String) -> [String] {
        var conditions: [String] = []
        for filter in query.filters {
            let column = "t." + SQLText.identifier(filter.field.name)
            let value = bind(filter.value, ListQuery.bindType(filter.field.valueType))
            switch filter.op {
            case .eq: conditions.append("\(column) = \(value)")
            case .ne: conditions.append("\(column) IS DISTINCT FROM \(value)")
            case .gt: conditions.append("\(column) > \(value)")
            case .gte: conditions.append("\(column) >= \(value)")
            case .lt: conditions.append("\(column) < \(value)")
            case .lte: conditions.append("\(column) <= \(value)")
            case .contains: conditions.append("strpos(lower(\(column)), lower(\(value))) > 0")
            case .has: conditions.append("\(value) = ANY(\(column))")
            }
        }
        if let hasFile = query.hasFile { conditions.append("t.\"file_key\" IS \(hasFile ? "NOT " : "")NULL") }
        return conditions
    }

    /// `(k1, k2, ..., id) > (v1, v2, ..., vid)` in the page order, spelled out so that each key can
    /// have its own direction and NULLs sort last in both.
    ///
    /// When the first key cannot be NULL, the condition also carries the redundant bound
    /// `k1 >= v1` (`<=` descending): PostgreSQL cannot start an index scan from the OR chain, but
    /// it can from that bound, so a deep page read through a matching `indexes:` entry starts at
    /// the cursor instead of filtering every row before it.
    private static func keysetCondition(_ sort: [SortKey], after: PagePosition, bind: (String, String) -> String) -> String {
        var alternatives: [String] = []
        var equalSoFar: [String] = []
        var firstKeyBound: String?
        for (i, key) in sort.enumerated() {
            let column = "t.\(SQLText.identifier(key.column))"
            let value = i < after.values.count ? after.values[i] : nil
            if let value {
                let v = bind(value, key.sqlType)
                if i == 0 && !key.nullable { firstKeyBound = "\(column) \(key.descending ? "<=" : ">=") \(v)" }
                alternatives.append((equalSoFar + ["(\(column) IS NULL OR \(column) \(key.descending ? "<" : ">") \(v))"]).joined(separator: " AND "))
                equalSoFar.append("\(column) = \(v)")
            } else {
                // Nothing sorts after NULL within this key (NULLS LAST); rows with NULL tie.
                equalSoFar.append("\(column) IS NULL")
            }
        }
        let id = bind(String(after.id), "bigint")
        alternatives.append((equalSoFar + ["t.\"id\" > \(id)"]).joined(separator: " AND "))
        let chain = "(" + alternatives.map { "(\($0))" }.joined(separator: " OR ") + ")"
        return firstKeyBound.map { "\($0) AND \(chain)" } ?? chain
    }
}
