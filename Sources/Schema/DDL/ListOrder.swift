/// How list pages order rows — each sort key `ASC|DESC NULLS LAST`, then `"id" ASC` as the
/// tie-breaker of keyset pagination — written once for the two places that must agree: the list
/// query's ORDER BY (`RecordStore.pageStatement`) and the `indexes:` DDL (`TableDDL`). An index
/// whose key order differs from the query's (say DESC with PostgreSQL's default NULLS FIRST) would
/// not be used for it.
public enum ListOrder {
    /// `"column" DESC NULLS LAST`, prefixed by `alias.` when given.
    public static func key(_ column: String, descending: Bool, alias: String? = nil) -> String {
        (alias.map { "\($0)." } ?? "") + "\(SQLText.identifier(column)) \(descending ? "DESC" : "ASC") NULLS LAST"
    }

    /// The final key of every page order.
    public static func tiebreaker(alias: String? = nil) -> String {
        (alias.map { "\($0)." } ?? "") + "\"id\" ASC"
    }
}
