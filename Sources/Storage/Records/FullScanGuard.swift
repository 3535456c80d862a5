import KindModel
import PostgresNIO
import Synchronization

/// Refuses a list page whose order no index serves when the kind's table is large.
///
/// Such a page makes PostgreSQL read every row that passes the filters and sort them for the 51 it
/// returns: on 5,000 rows a fraction of a millisecond, on 10 million rows seconds, for every page.
/// Rather than let a browser's "sort by name" turn into minutes of database CPU, the request gets a
/// `400 sort-needs-index` problem naming the sort key, the sorts that are served by an index, and
/// the kind change that would serve it, as the linter accepts it (`BrowseAdvice`; docs/api.md,
/// "Sorts on large tables").
///
/// Large means more rows than `maxRows` by PostgreSQL's own estimate (`pg_class.reltuples`, kept
/// by autovacuum and `ANALYZE`), read at most every `refresh` per kind and only for requests whose
/// order is unindexed: an indexed page pays nothing.
public final class FullScanGuard: Sendable {
    public static let defaultMaxRows: Int64 = 100_000
    public let maxRows: Int64
    let refresh: Duration
    private let estimates = Mutex<[String: (rows: Int64, at: ContinuousClock.Instant)]>([:])

    public init(maxRows: Int64 = FullScanGuard.defaultMaxRows, refresh: Duration = .seconds(10)) {
        self.maxRows = maxRows
        self.refresh = refresh
    }

    /// `LIST_SCAN_MAX_ROWS` (`serve --list-scan-max-rows`): unset, the default guard; `off`, no guard
    /// (nil); a whole number of rows, 0 or more. Anything else throws: `serve` stops with the
    /// message, naming the setting, as it does for every other setting (a guard quietly left at its
    /// default would let an operator believe a limit they never got).
    public static func configured(_ text: String?) throws(InvalidSetting) -> FullScanGuard? {
        guard let text else { return FullScanGuard() }
        if text.lowercased() == "off" { return nil }
        guard let rows = Int64(text), rows >= 0 else { throw InvalidSetting(value: text) }
        return FullScanGuard(maxRows: rows)
    }

    /// A `LIST_SCAN_MAX_ROWS` that is neither a row count nor `off`.
    public struct InvalidSetting: Error, CustomStringConvertible {
        public var value: String
        public var description: String {
            "LIST_SCAN_MAX_ROWS must be a whole number of rows (0 or more, e.g. 100000) or off; got '\(value)'"
        }
    }

    /// Throws `StorageError.sortNeedsIndex` when `query`'s order is unindexed and the table is large.
    func check(_ query: ListQuery, in queries: KindQueries, store: RecordStore) async throws {
        guard let key = queries.unindexedSortKey(query) else { return }
        let rows = try await estimatedRows(queries, store: store)
        guard rows > maxRows else { return }
        throw StorageError.sortNeedsIndex(
            kind: queries.kind.name, field: key.column, descending: key.descending,
            estimatedRows: rows, indexedSorts: queries.kind.indexedSorts,
            advice: BrowseAdvice(sortingBy: key.column, in: queries.kind)?.text ?? BrowseAdvice.sortByBrowsingField)
    }

    private func estimatedRows(_ queries: KindQueries, store: RecordStore) async throws -> Int64 {
        let now = ContinuousClock.now
        if let known = estimates.withLock({ $0[queries.table] }), now - known.at < refresh { return known.rows }
        // A table never analyzed has reltuples -1: then its size on disk over 100 bytes a row.
        var bindings = PostgresBindings()
        bindings.append(queries.table)
        let sql =
            "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 ELSE pg_relation_size(c.oid) / 100 END FROM pg_class c WHERE c.oid = to_regclass($1)"
        var rows: Int64 = 0
        for row in try await store.allRows(PostgresQuery(unsafeSQL: sql, binds: bindings)) { rows = try row.decode(Int64.self) }
        estimates.withLock { $0[queries.table] = (rows, now) }
        return rows
    }
}

extension KindQueries {
    /// The first sort key when no index of the kind returns rows in the query's order, so the page
    /// would be a scan of every matching row plus a sort; nil when an index serves it.
    ///
    /// An index serves the order when, after its leading keys that the query fixes with `=` filters,
    /// its next key is the first sort key in the same direction. Without a sort, or sorted by `id`
    /// first, the order is the primary key's (read backwards for `-id`). Filters on unindexed fields are not judged: an index-ordered
    /// scan stops after the page's rows, however many it skips.
    func unindexedSortKey(_ query: ListQuery) -> SortKey? {
        guard let first = query.sort.first, first.column != "id" else { return nil }
        let fixed = Set(query.filters.filter { $0.op == .eq }.map(\.field.name))
        for keys in servingIndexKeys {
            let rest = keys.drop { $0.field != first.column && fixed.contains($0.field) }
            if let next = rest.first, next.field == first.column, next.descending == first.descending { return nil }
        }
        return first
    }
}
