import Foundation

/// A value that passed validation, typed for binding as a SQL parameter.
public enum FieldValue: Sendable, Equatable {
    case null
    case string(String)
    case integer(Int64)
    case number(Double)
    case boolean(Bool)
    /// RFC 3339 text as sent (already checked): bound as text and cast by PostgreSQL, because a
    /// `Date` (a double) loses microseconds for instants far from 2001.
    case datetime(String)
    /// `YYYY-MM-DD`, already checked to be a real calendar date.
    case date(String)
    case list([FieldValue])
}

/// The fields of a request that passed validation, in the kind's field order.
public struct ValidatedRecord: Sendable, Equatable {
    public var values: [(field: FieldDefinition, value: FieldValue)]

    public static func == (lhs: ValidatedRecord, rhs: ValidatedRecord) -> Bool {
        lhs.values.map(\.field) == rhs.values.map(\.field) && lhs.values.map(\.value) == rhs.values.map(\.value)
    }

    public subscript(name: String) -> FieldValue? { values.first { $0.field.name == name }?.value }
}
