extension PreparedStatements {
    /// SQL for an array parameter of a shared statement (`WHERE id = ANY(…)`, `unnest(…)` of a
    /// batch's pages) that PostgreSQL's planner does not look into: `(SELECT $1::int8[])::int8[]`.
    ///
    /// Why: a prepared statement is planned afresh on every execution (a "custom plan") for as
    /// long as its custom plans look cheaper than its generic plan, and a batch's custom plans
    /// always do, because they count the array's elements (3 ids) where the generic plan must
    /// guess (10 ids, 100 pages). So every shared GET and page statement was planned again each
    /// time: ~65 µs for a GET batch beside ~25 µs of executing it, ~95 µs for a page batch.
    /// Behind a scalar sub-select the array is a value the planner cannot count either way, both
    /// plans cost the same, and after its fifth run PostgreSQL keeps the generic plan, as it
    /// already did for the single-row statements. Nothing else in these plans depends on the
    /// values: a batch's filter values and limits reach its pages as columns of `unnest`, not as
    /// constants. (Measured: docs/performance.md, "Measured reasons in the code".)
    static func sharedArray(_ placeholder: String, of type: String) -> String {
        "(SELECT \(placeholder)::\(type))::\(type)"
    }
}
