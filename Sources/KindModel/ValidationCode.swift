/// The `code` of an `errors[]` entry: which rule a value broke. One vocabulary for the validator,
/// the query parser, the database's refusals mapped back to their rule, and OpenAPI, which lists
/// every case (so a client can switch over them).
public enum ValidationCode: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// As it appears in `errors[].code`.
    public var description: String { rawValue }

    // A record's fields (RecordValidator; and the same rule refused by a CHECK constraint).
    /// A required field is missing or null.
    case required
    /// The value has the wrong JSON type (a string for an integer, a list item that is null).
    case type
    /// Text shorter than `min_length` / longer than `max_length` (characters).
    case minLength = "min_length", maxLength = "max_length"
    /// Text that does not match the field's `pattern`.
    case pattern
    /// A value that is not one of the field's `values`.
    case `enum`
    /// A number below `min` / above `max`.
    case min, max
    /// A number or date outside what the column can hold (64-bit integers, years 1–9999).
    case outOfRange = "out_of_range"
    /// A list with fewer than `min_items` / more than `max_items` items.
    case minItems = "min_items", maxItems = "max_items"
    /// A date or date-time before now on a `not_in_past` field.
    case notInPast = "not_in_past"
    /// Text that is not the required format (a date, a date-time, a cursor, a signature).
    case format
    /// A value that repeats another record's on a `unique` field.
    case unique
    /// A field the kind does not declare (with `additional_fields: reject`).
    case unknownField = "unknown_field"
    /// A field that cannot change (`filetype` on PATCH).
    case immutable
    /// A value too large for a database index on its field (more than PostgreSQL's 2,704-byte
    /// b-tree entry), on an index the kind linter did not make.
    case tooLargeToIndex = "too_large_to_index"
    /// Text with a character PostgreSQL cannot store (NUL).
    case invalidCharacter = "invalid_character"

    // Query strings (lists, the audit trail) and small request bodies (keys, links).
    /// A parameter or body member the route does not know.
    case unknown
    /// A filter operator the field's type does not have.
    case unknownOperator = "unknown_operator"
    /// A filter value that is not of the field's type.
    case invalidValue = "invalid_value"
    /// A number outside the parameter's range (`limit`, `expires_in`).
    case range
    /// A sort key named twice.
    case duplicate
    /// More sort keys or filters than a list accepts.
    case tooManySortKeys = "too_many_sort_keys", tooManyFilters = "too_many_filters"
    /// A sort that would scan a large table without an index (`sort-needs-index`).
    case needsIndex = "needs_index"
    /// A list or count that read more than the server's statement timeout allows (`query-too-slow`).
    case tooSlow = "too_slow"
    /// A query string that is not valid percent-encoded UTF-8.
    case encoding
}
