/// The change to a kind's YAML that makes a field a browsing field *and that the linter accepts*,
/// for the `sort-needs-index` problem to recommend. It follows the lint rules of `browse:`
/// (`KindFileReader.checkBrowsable`): text cannot be browsed, a string only up to the length its
/// `(field, id)` index can hold (`IndexEntrySize`), and `browse` replaces `index: true` rather
/// than sitting beside it. Tests apply each advice to a YAML field and lint the result.
public struct BrowseAdvice: Sendable, Equatable {
    /// What must change besides adding `browse: true`.
    public enum Change: Sendable, Equatable {
        /// Nothing: the field can be browsed as it is.
        case none
        /// Lower the string's `max_length` to at most this.
        case lowerMaxLength(Int)
        /// Make the text field `type: string` with `max_length` of at most this.
        case makeString(maxLength: Int)
    }

    public var field: String
    public var change: Change
    /// The field has `index: true`, which `browse` replaces (lint refuses the two together).
    public var replacesIndex: Bool

    /// The advice for sorting `kind` by `name`; nil when `name` cannot be made a browsing field (a
    /// system column, a list, an enum whose values are too long to index).
    public init?(sortingBy name: String, in kind: KindDefinition) {
        guard let field = kind.field(named: name), !field.isList else { return nil }
        let largest = IndexEntrySize.largestBrowsableStringLength
        switch field.type {
        case .text: change = .makeString(maxLength: largest)
        case .string where (field.rules.maxLength ?? FieldDefinition.defaultStringMaxLength) > largest: change = .lowerMaxLength(largest)
        case _ where !IndexEntrySize.fits([field, KindDefinition.idColumn]): return nil
        default: change = .none
        }
        self.field = name
        replacesIndex = field.index
    }

    /// What the kind's author should do, as a clause that ends without a period.
    public var text: String {
        let browse =
            replacesIndex
            ? "replace `index: true` with `browse: true` (the browsing index serves its filters too)" : "add `browse: true`"
        let then = "in its YAML and generate a migration (docs/kinds.md, \"Browsing fields\")"
        switch change {
        case .none where replacesIndex:
            return
                "the kind's author can replace `index: true` of field '\(field)' with `browse: true` (the browsing index serves its filters too) \(then)"
        case .none:
            return "the kind's author can add `browse: true` to field '\(field)' \(then)"
        case .lowerMaxLength(let length):
            return
                "the kind's author can lower `max_length` of field '\(field)' to \(length) or less (a longer string cannot be browsed: an index entry holds at most \(IndexEntrySize.limit) bytes) and \(browse) \(then)"
        case .makeString(let length):
            return
                "field '\(field)' is text, which cannot be browsed; the kind's author can make it `type: string` with `max_length` of at most \(length) and \(browse) \(then)"
        }
    }

    /// The advice when a sort cannot be served by making its field a browsing field.
    public static let sortByBrowsingField = "sort by a browsing field instead"
}
