import Yams

extension KindFileReader {
    /// Refuses an index declaration (`declaration` names it: "field 'x': `index: true`", "index
    /// [a, b]") whose worst-case entry over `columns` can pass PostgreSQL's b-tree limit
    /// (`IndexEntrySize`), with the fix: lower the columns' sizes, or `remedy` (drop the index).
    /// Returns whether the declaration fits.
    @discardableResult
    mutating func checkIndexFits(_ columns: [FieldDefinition], declaration: String, remedy: String, at node: Node?) -> Bool {
        if IndexEntrySize.fits(columns) { return true }
        let sized = columns.enumerated().filter { Self.variableSize($0.element) }
        let names = sized.map { "'\($0.element.name)'" }.joined(separator: ", ")
        let why: String
        if let unbounded = sized.first(where: { !IndexEntrySize.isBounded($0.element) })?.element {
            why =
                unbounded.isList
                ? "list '\(unbounded.name)' has no size bound (\(unbounded.maxItems == nil ? "no `max_items`" : "its items have no `max_length`"))"
                : "'\(unbounded.name)' has no size bound (a text without `max_length`)"
        } else {
            let worst = IndexEntrySize.worstCase(columns) ?? 0
            why = "an entry can take up to \(worst) bytes (\(names): UTF-8 takes up to 4 bytes a character)"
        }
        problem(
            node,
            "\(declaration) cannot index every value: \(why), and a PostgreSQL b-tree entry holds at most \(IndexEntrySize.limit) bytes (a write of a longer value would fail); \(Self.sizeFix(columns, sized: sized)), or \(remedy)"
        )
        return false
    }

    /// Columns whose size depends on the kind's rules: text, enums and lists.
    private static func variableSize(_ field: FieldDefinition) -> Bool { field.isList || field.valueType.isTextual }

    /// How to make the entry fit by sizes alone: an exact `max_length` when one textual column
    /// decides it, an even one when several do, otherwise which rules to lower.
    private static func sizeFix(_ columns: [FieldDefinition], sized: [(offset: Int, element: FieldDefinition)]) -> String {
        let textual = sized.filter { !$0.element.isList && $0.element.type != .enum }
        if textual.count == sized.count, !textual.isEmpty {
            var even = columns
            var length = IndexEntrySize.limit / 4
            while length > 0 {
                for (i, _) in textual { even[i].rules.maxLength = length }
                if IndexEntrySize.fits(even) { break }
                length -= 1
            }
            if length > 0 {
                if textual.count == 1 {
                    let field = textual[0].element
                    return field.rules.maxLength == nil
                        ? "give '\(field.name)' `max_length` of at most \(length)"
                        : "lower max_length of '\(field.name)' to \(length) or less"
                }
                let names = textual.map { "'\($0.element.name)'" }.joined(separator: ", ")
                return "lower the max_length of \(names) (each at most \(length) fits)"
            }
        }
        let rules = sized.map { entry in
            let f = entry.element
            if f.isList { return "'\(f.name)' (`max_items`\(f.valueType == .enum ? "" : ", items' `max_length`"))" }
            if f.type == .enum { return "'\(f.name)' (shorter `values`)" }
            return "'\(f.name)' (`max_length`)"
        }
        return "lower the sizes of \(rules.joined(separator: ", "))"
    }
}
