import PostgresNIO

/// The PostgreSQL types `CellJSON` renders, by their OIDs. Named here rather than matched as
/// `PostgresDataType` values because a switch over this enum is a jump table, while a switch over
/// another module's static constants is a chain of calls and comparisons on the list-page hot path.
/// A test checks every case against `PostgresDataType` (the OIDs are fixed by PostgreSQL itself).
enum RenderedType: UInt32, CaseIterable {
    case bool = 16, name = 19, int8 = 20, int2 = 21, int4 = 23, text = 25, json = 114
    case float4 = 700, float8 = 701, bpchar = 1042, varchar = 1043, date = 1082, timestamptz = 1184, jsonb = 3802
    case jsonArray = 199, boolArray = 1000, int2Array = 1005, int4Array = 1007, textArray = 1009, bpcharArray = 1014
    case varcharArray = 1015, int8Array = 1016, float4Array = 1021, float8Array = 1022, dateArray = 1182
    case timestamptzArray = 1185, jsonbArray = 3807

    /// PostgresNIO's name for the same type.
    var dataType: PostgresDataType { PostgresDataType(rawValue) }

    /// Text types, whose binary form is the UTF-8 text itself.
    var isText: Bool {
        switch self {
        case .text, .varchar, .bpchar, .name: true
        case .bool, .int8, .int2, .int4, .json, .float4, .float8, .date, .timestamptz, .jsonb, .jsonArray, .boolArray, .int2Array,
            .int4Array, .textArray, .bpcharArray, .varcharArray, .int8Array, .float4Array, .float8Array, .dateArray, .timestamptzArray,
            .jsonbArray:
            false
        }
    }
}
