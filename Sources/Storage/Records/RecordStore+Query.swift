import KindModel
import PostgresNIO
import Schema

/// A page of a filtered, sorted list.
public struct QueryPage: Sendable, Equatable {
    /// The page's records as JSON, comma-separated (the inside of the `items` array): written
    /// straight from the rows into one buffer, with no per-record string.
    public var itemsJSON: [UInt8]
    /// Where the next page starts, when there is one.
    public var next: PagePosition?
    public var total: Int64?
}

/// One request's page in a shared list statement: its bound texts and limit, and the query that
/// made them (for the next-page cursor).
struct PageRequest: Sendable {
    let query: ListQuery
    let statement: PageSQL
}

/// A page query's SQL and its values: `texts[i]` fills text placeholder `i + 1`; the row limit
/// (one more than the page's, to know whether a next page exists) is the last placeholder.
struct PageSQL: Sendable, Hashable {
    var sql: String
    var texts: [String]
    var limit: Int64
}

extension RecordStore {
    /// Runs a list query with keyset pagination: the cursor carries the last row's sort-key values,
    /// so a page deep in the list costs the same as the first and rows inserted meanwhile are
    /// neither skipped nor repeated. `id` is always the final tie-breaker.
    ///
    /// Concurrent pages of one query shape share a statement (`RoundTripSharing`): each request's
    /// values become one row of `unnest(...)`, and its page is a `LATERAL` subquery, so every
    /// page is still read with its own index scan. Identical requests waiting together are read once.
    public func list(_ query: ListQuery, in queries: KindQueries) async throws -> QueryPage {
        try await fullScan?.check(query, in: queries, store: self)
        let statement = Self.pageSQL(query, in: queries)
        var page: QueryPage
        if let sharedPages {
            page = try await sharedPages.submit(PageRequest(query: query, statement: statement), lane: statement.sql) { batch in
                try await pages(batch, in: queries)
            }.get()
        } else {
            page = try await pages([PageRequest(query: query, statement: statement)], in: queries)[0].get()
        }
        if query.countTotal {
            var countBindings = PostgresBindings()
            let countConditions = Self.filterConditions(query) { text, type in
                countBindings.append(text)
                return "$\(countBindings.count)::\(type)"
            }
            let countSQL =
                "SELECT count(*)::bigint FROM \(queries.table) t WHERE \(countConditions.isEmpty ? "TRUE" : countConditions.joined(separator: " AND "))"
            let counted: [PostgresRow]
            do {
                counted = try await allRows(PostgresQuery(unsafeSQL: countSQL, binds: countBindings))
            } catch {
                throw StorageError.from(error, kind: queries.kind.name) ?? error  // a count past STATEMENT_TIMEOUT
            }
            for row in counted { page.total = try row.decode(Int64.self) }
        }
        return page
    }

    /// The pages of `requests` (all of one SQL shape), in order: one statement for all of them. When
    /// PostgreSQL rejects a shared statement for a value (a cursor edited by hand that no longer
    /// casts), each page of a batch is read again alone, so only the request that sent it gets the
    /// error; a batch of one already has its own error (PostgreSQL's message, the same either way).
    ///
    /// A lone page uses the shared statement too (a batch of one): its plan is kept after five
    /// runs (`PreparedStatements.sharedArray`), where the statement of one page, whose `LIMIT $n`
    /// the generic plan can only guess, was planned afresh on every request (~110 µs of
    /// PostgreSQL's time per page). A page's plan is then the same alone as in a batch.
    func pages(_ requests: [PageRequest], in queries: KindQueries) async throws -> [Result<QueryPage, any Error>] {
        // Identical requests are read once.
        var distinct: [PageSQL: Int] = [:]
        var order: [PageRequest] = []
        let slots = requests.map { request in
            if let slot = distinct[request.statement] { return slot }
            distinct[request.statement] = order.count
            order.append(request)
            return order.count - 1
        }
        var read: [Result<QueryPage, any Error>]
        do {
            read = try await sharedPages(order, in: queries).map { .success($0) }
        } catch StorageError.statementTimeout(let kind) {
            // Pages of one shape differ only in values: read again alone, each would most likely
            // run into the timeout again, holding a connection that long once more per page.
            read = order.map { _ in .failure(StorageError.statementTimeout(kind: kind)) }
        } catch let error as StorageError {
            // Each page again as a batch of one: only the request that sent the value gets the error.
            read = order.count == 1 ? [.failure(error)] : await eachAlone(order) { try await sharedPages([$0], in: queries)[0] }
        }
        return slots.map { read[$0] }
    }

    /// Several distinct pages of one shape in one statement (`sharedPagesSQL`).
    private func sharedPages(_ requests: [PageRequest], in queries: KindQueries) async throws -> [QueryPage] {
        let first = requests[0]
        let textCount = first.statement.texts.count
        var bindings = StatementBindings()
        for i in 0..<textCount { bindings.append(requests.map { $0.statement.texts[i] }) }
        bindings.append(requests.map(\.statement.limit))
        let sql = Self.sharedPagesSQL(first.query, in: queries)
        var pages = [QueryPage?](repeating: nil, count: requests.count)
        for row in try await rows(sql, bindings, in: queries) {
            var cells = row.makeIterator()
            guard let n = try cells.next()?.decode(Int64.self), (1...Int64(requests.count)).contains(n) else {
                throw CellJSON.Failure.malformed(20)
            }
            pages[Int(n) - 1] = try page(of: cells.next(), requests[Int(n) - 1].query, in: queries)
        }
        return try pages.map { page in
            guard let page else { throw CellJSON.Failure.malformed(SentRecords.recordOID) }  // one row per page, always
            return page
        }
    }

    /// `SELECT b.n, (<the page's records as one value>) FROM unnest($1::text[], …, $k::int8[])
    /// WITH ORDINALITY b(p1, …, lim, n)`, each array behind `PreparedStatements.sharedArray`. The
    /// page query (reading b's columns) is evaluated per row of `b`, so each page keeps its own
    /// ORDER BY … LIMIT and index scan; `n` says whose page a row is. Its parameters are one text
    /// array per value of `query`'s page statement, then the limits.
    static func sharedPagesSQL(_ query: ListQuery, in queries: KindQueries) -> String {
        let page = Self.pageSQL(query, in: queries, placeholder: { i, type in "b.\"p\(i)\"::\(type)" }, limit: "b.\"lim\"")
        let textCount = page.texts.count
        let arrays =
            (0..<textCount).map { PreparedStatements.sharedArray("$\($0 + 1)", of: "text[]") }
            + [PreparedStatements.sharedArray("$\(textCount + 1)", of: "int8[]")]
        let names = (0..<textCount).map { "\"p\($0 + 1)\"" } + ["\"lim\"", "\"n\""]
        return "SELECT b.\"n\", \(aggregatedPageSQL(page.sql))"
            + " FROM unnest(\(arrays.joined(separator: ", "))) WITH ORDINALITY AS b(\(names.joined(separator: ", ")))"
    }

    /// A page's rows as one value, its records in binary one after another (`SentRecords`), in
    /// the page's order: an aggregate reads a sorted subquery in its order when nothing else
    /// (a join, a grouping) stands between them, as PostgreSQL's documentation of aggregates says.
    /// NULL when the page is empty.
    static func aggregatedPageSQL(_ pageSQL: String) -> String {
        "(SELECT string_agg(record_send(r), ''::bytea) FROM (\(pageSQL)) r)"
    }

    /// A page of one request from its records as `aggregatedPageSQL` sends them.
    private func page(of cell: PostgresCell?, _ query: ListQuery, in queries: KindQueries) throws -> QueryPage {
        guard let bytes = cell?.bytes else { return QueryPage(itemsJSON: [], next: nil, total: nil) }
        return try bytes.withUnsafeReadableBytes { raw in
            var records = SentRecords(raw)
            var json: [UInt8] = []
            json.reserveCapacity(raw.count + raw.count / 2)
            var lastID: Int64 = 0
            var lastStart = 0
            var shown = 0
            while shown < query.limit, !records.isAtEnd {
                if shown > 0 { json.append(UInt8(ascii: ",")) }
                lastStart = records.offset
                lastID = try queries.renderer.write(&records, into: &json)
                shown += 1
            }
            var next: PagePosition?
            if !records.isAtEnd {
                records.seek(to: lastStart)
                next = PagePosition(values: try Self.sortValues(of: &records, query, in: queries), id: lastID)
            }
            return QueryPage(itemsJSON: json, next: next, total: nil)
        }
    }

    /// The cursor text of each of `query`'s sort keys in the record at `records`' position: read
    /// from the last shown record's own values, once per page, rather than computed by PostgreSQL
    /// for every row the page's scan passes (issue 21).
    private static func sortValues(of records: inout SentRecords, _ query: ListQuery, in queries: KindQueries) throws -> [String?] {
        guard !query.sort.isEmpty else { return [] }
        let columns = try query.sort.map { key in
            guard let column = queries.columnIndex[key.column] else { throw CellJSON.Failure.notARecordColumn(key.column) }
            return column
        }
        var texts = [String?](repeating: nil, count: columns.count)
        try records.nextRecord { column, oid, value in
            for (i, wanted) in columns.enumerated() where wanted == column { texts[i] = try CellJSON.cursorText(oid: oid, value) }
        }
        return texts
    }

    /// The SQL and bindings of one page (one more row than `limit`, to know whether a next page
    /// exists). Pure, so that tests can ask PostgreSQL how it plans exactly what the server sends.
    public static func pageStatement(_ query: ListQuery, in queries: KindQueries) -> (sql: String, bindings: StatementBindings) {
        let statement = pageSQL(query, in: queries)
        var bindings = StatementBindings()
        for text in statement.texts { bindings.append(text) }
        bindings.append(statement.limit)
        return (statement.sql, bindings)
    }

    /// The page query, its values written as `placeholder(i, type)` (default `$i::type`) and its
    /// row limit as `limit` (default the placeholder after the texts').
    static func pageSQL(
        _ query: ListQuery, in queries: KindQueries,
        placeholder: (Int, String) -> String = { i, type in "$\(i)::\(type)" }, limit: String? = nil
    ) -> PageSQL {
        var texts: [String] = []
        func bind(_ text: String, as type: String) -> String {
            texts.append(text)
            return placeholder(texts.count, type)
        }
        let conditions = Self.filterConditions(query, bind: bind)
        var pageConditions = conditions
        var branches: [String]?
        if let after = query.after {
            if queries.unindexedSortKey(query) == nil, let split = Self.keysetBranches(query.sort, after: after, bind: bind) {
                branches = split
            } else {
                pageConditions.append(Self.keysetCondition(query.sort, after: after, bind: bind))
            }
        }
        // Sorted by id first, the order is the primary key's, in either direction: `"id" DESC`, not
        // `DESC NULLS LAST`, which PostgreSQL cannot read from the ascending primary key backwards
        // (it scanned and sorted the whole table for `sort=-id`); id is never NULL, so the rows and
        // their order are the same.
        let order =
            query.sort.first.map { $0.column == "id" } == true
            ? "t.\"id\" \(query.sort[0].descending ? "DESC" : "ASC")"
            : (query.sort.map { ListOrder.key($0.column, descending: $0.descending, alias: "t") } + [ListOrder.tiebreaker(alias: "t")])
                .joined(separator: ", ")
        let limitSQL = limit ?? "$\(texts.count + 1)"
        func select(_ conditions: [String]) -> String {
            let whereSQL = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return "SELECT \(queries.recordColumns) FROM \(queries.table) t\(whereSQL) ORDER BY \(order) LIMIT \(limitSQL)"
        }
        guard let branches else { return PageSQL(sql: select(pageConditions), texts: texts, limit: Int64(query.limit + 1)) }
        // Each branch is one range of the index that serves the first key, read in its order and
        // cut at the page's size; the page is the first rows of their union, in order.
        let union = branches.map { "(\(select(conditions + [$0])))" }.joined(separator: " UNION ALL ")
        let sql = "SELECT \(queries.recordColumns) FROM (\(union)) t ORDER BY \(order) LIMIT \(limitSQL)"
        return PageSQL(sql: sql, texts: texts, limit: Int64(query.limit + 1))
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

    /// The rows after the cursor as separate ranges of an index that serves the first key, when
    /// no single range holds them: the first key descending, or able to be NULL, or followed by a
    /// key of another direction. `keysetCondition`'s OR chain (and its `k1 <= v1` bound) then made
    /// PostgreSQL filter every tie of the cursor's value before it, and for a key that can be NULL
    /// every row before the cursor (issue 21: a deep page of an optional browsing field cost 25–60×
    /// the first on 200,000 rows). The ranges, each an index range scan that starts at its rows:
    /// - the ties of the cursor's first value that come after it (`k1 = v1` and the rest of the
    ///   keys after the cursor's, by `keysetCondition`);
    /// - the rows whose first value comes after the cursor's (`k1 > v1`, `<` descending);
    /// - when the key can be NULL, the NULLs, which sort last in both directions.
    /// nil when one range does it (every key ascending and never NULL: `keysetCondition`'s row
    /// comparison), or the cursor's first value is NULL (then only NULLs follow, one range too).
    private static func keysetBranches(_ sort: [SortKey], after: PagePosition, bind: (String, String) -> String) -> [String]? {
        guard let first = sort.first, first.column != "id", let firstValue = after.values.first ?? nil, !rowComparable(sort) else { return nil }
        let column = "t.\(SQLText.identifier(first.column))"
        let value = bind(firstValue, first.sqlType)
        let rest = keysetCondition(Array(sort.dropFirst()), after: PagePosition(values: Array(after.values.dropFirst()), id: after.id), bind: bind)
        var branches = ["\(column) = \(value) AND \(rest)", "\(column) \(first.descending ? "<" : ">") \(value)"]
        if first.nullable { branches.append("\(column) IS NULL") }
        return branches
    }

    /// Whether the rows after a cursor are one row comparison `(k1, …, id) > (v1, …, vid)`: every key
    /// ascending and never NULL (a required browsing field, `sort=duration`).
    private static func rowComparable(_ sort: [SortKey]) -> Bool { sort.allSatisfy { !$0.nullable && !$0.descending } }

    /// `(k1, k2, ..., id) > (v1, v2, ..., vid)` in the page order, spelled out so that each key can
    /// have its own direction and NULLs sort last in both.
    ///
    /// When the first key cannot be NULL, the condition also carries the redundant bound
    /// `k1 >= v1` (`<=` descending): PostgreSQL cannot start an index scan from the OR chain, but
    /// it can from that bound, so a deep page read through a matching `indexes:` entry starts at
    /// the cursor instead of filtering every row before it.
    ///
    /// When every key is ascending and cannot be NULL (a required browsing field, `sort=duration`),
    /// the condition is that row comparison itself, `(k1, …, id) > (v1, …, vid)`: PostgreSQL starts
    /// the `(field, id)` index scan exactly at the cursor. With only `k1 >= v1` it read every tie of
    /// the cursor's value before it, so deep pages cost more as a table grows (docs/performance.md).
    private static func keysetCondition(_ sort: [SortKey], after: PagePosition, bind: (String, String) -> String) -> String {
        if rowComparable(sort), after.values.count == sort.count {
            let present = after.values.compactMap { $0 }
            if present.count == sort.count {
                let columns = sort.map { "t.\(SQLText.identifier($0.column))" } + ["t.\"id\""]
                let values = zip(sort, present).map { bind($1, $0.sqlType) } + [bind(String(after.id), "bigint")]
                return "(\(columns.joined(separator: ", "))) > (\(values.joined(separator: ", ")))"
            }
        }
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
