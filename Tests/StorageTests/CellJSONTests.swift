import PostgresNIO
import TestSupport
import Testing

@testable import Storage

/// The record JSON is written in Swift from binary column values (`CellJSON`, `TimestampText`);
/// it used to be PostgreSQL's own `json_build_object`/`to_char` text. These tests hold the Swift
/// text to PostgreSQL's, value by value, on a real server.
@Suite struct CellJSONTests {
    /// The rendered types' OIDs are PostgresNIO's, name for name (and a type the renderer does not
    /// know is refused, not guessed).
    @Test func renderedTypesArePostgresNIOsOIDs() throws {
        let expected: [RenderedType: PostgresDataType] = [
            .bool: .bool, .name: .name, .int8: .int8, .int2: .int2, .int4: .int4, .text: .text, .json: .json, .float4: .float4,
            .float8: .float8, .bpchar: .bpchar, .varchar: .varchar, .date: .date, .timestamptz: .timestamptz, .jsonb: .jsonb,
            .jsonArray: .jsonArray, .boolArray: .boolArray, .int2Array: .int2Array, .int4Array: .int4Array, .textArray: .textArray,
            .bpcharArray: .bpcharArray, .varcharArray: .varcharArray, .int8Array: .int8Array, .float4Array: .float4Array,
            .float8Array: .float8Array, .dateArray: .dateArray, .timestamptzArray: .timestamptzArray, .jsonbArray: .jsonbArray,
        ]
        #expect(expected.count == RenderedType.allCases.count)
        for type in RenderedType.allCases { #expect(type.dataType == expected[type], "\(type)") }
        var out: [UInt8] = []
        #expect(throws: CellJSON.Failure.self) {
            try [UInt8](repeating: 0, count: 16).withUnsafeBytes { try CellJSON.write(oid: PostgresDataType.uuid.rawValue, $0, into: &out) }
        }
    }

    /// Doubles read exactly as `float8out` writes them: random bit patterns, decimals and powers of ten.
    @Test func doublesMatchPostgreSQL() async throws {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [
            1, -1, 0.1, 100, 1e14, 1e15, 1e-4, 1e-5, 123456789012345.6, 2.5e-5, 1.5e300, 5e-324,
            .greatestFiniteMagnitude, -.leastNormalMagnitude, 0.30000000000000004, 60.5, 1e16, 9007199254740993,
        ]
        values += (-30...30).map { pow10($0) }
        while values.count < 4000 {
            let bits = UInt64.random(in: 0...UInt64.max, using: &generator)
            let d = Double(bitPattern: bits)
            if d.isFinite && d != 0 { values.append(d) }
            values.append(Double(Int64.random(in: -10_000_000...10_000_000)) / pow10(Int.random(in: 0...9)))
        }
        let expected = try await postgresTexts(of: values, as: "float8[]", select: "x::text")
        #expect(expected.count == values.count)
        var mismatches: [String] = []
        for (value, pg) in zip(values, expected) {
            var out: [UInt8] = []
            CellJSON.writeDouble(value, into: &out)
            let swift = String(decoding: out, as: UTF8.self)
            guard swift != pg else { continue }
            // Where the shortest decimal lies exactly halfway between two doubles (1e23), Swift picks
            // it and PostgreSQL's Ryu the longer neighbour: other digits, the same double. Only then
            // may the texts differ; the same digits laid out differently is a mismatch.
            if Self.digits(swift) == Self.digits(pg) || Double(swift) != value || Double(pg) != value {
                mismatches.append("\(value.bitPattern): swift \(swift) postgres \(pg)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// Timestamps read as `to_char(… AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` (the
    /// version that `If-Match` compares in SQL) and dates as PostgreSQL's ISO text, years 1–9999.
    @Test func timestampsAndDatesMatchPostgreSQL() async throws {
        let low: Int64 = -63_082_281_600_000_000  // 0001-01-01 relative to 2000-01-01, in µs
        let high: Int64 = 252_455_615_999_999_999  // 9999-12-31T23:59:59.999999
        var micros: [Int64] = [0, -1, 1, low, high, 86_400_000_000 * 59, 86_400_000_000 * 60 - 1, 951_782_400_000_000]
        while micros.count < 3000 { micros.append(Int64.random(in: low...high)) }
        let days = micros.map { Int64($0 >= 0 ? $0 / 86_400_000_000 : ($0 + 1) / 86_400_000_000 - 1) }
        let stamps = try await postgresTexts(
            of: micros, as: "int8[]",
            select: """
                to_char((timestamptz '2000-01-01 00:00:00+00' + interval '1 second' * (x / 1000000)::float8
                         + interval '1 microsecond' * (x % 1000000)::float8) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                """)
        let dates = try await postgresTexts(of: days, as: "int8[]", select: "(date '2000-01-01' + x::int)::text")
        #expect(stamps.count == micros.count && dates.count == days.count)
        for (i, value) in micros.enumerated() where i < stamps.count && i < dates.count {
            var stamp: [UInt8] = []
            TimestampText.write(micros: value, into: &stamp)
            #expect(String(decoding: stamp, as: UTF8.self) == stamps[i], "µs \(value)")
            var date: [UInt8] = []
            TimestampText.write(days: Int32(days[i]), into: &date)
            #expect(String(decoding: date, as: UTF8.self) == dates[i], "days \(days[i])")
        }
    }

    /// Strings are escaped as `to_json(text)` escapes them: quotes, backslashes, control characters.
    @Test func stringsMatchPostgreSQL() async throws {
        let alphabet: [Unicode.Scalar] = [
            "a", "\"", "\\", "/", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "é", "ü", "日", "🎵", " ",
        ]
        var strings = ["", "plain", "\"quoted\"", "tab\there"]
        while strings.count < 500 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...20) { s.append(alphabet.randomElement()!) }
            strings.append(String(s))
        }
        let expected = try await postgresTexts(of: strings, as: "text[]", select: "to_json(x)::text")
        #expect(expected.count == strings.count)
        for (s, pg) in zip(strings, expected) {
            var out: [UInt8] = []
            CellJSON.writeString(s.utf8, into: &out)
            #expect(String(decoding: out, as: UTF8.self) == pg)
        }
    }

    /// Every column type the schema creates, with NULLs and empty arrays, as received from PostgreSQL.
    @Test func everyColumnTypeRendersFromItsBinaryForm() async throws {
        let url = try await TestDatabase.create(label: "celljson")
        let rendered: [String] = try await TestDatabase.withClient(url) { client in
            let sql = """
                SELECT 42::int8, -7::int4, 3::int2, 1.5::float8, 'NaN'::float8, '-Infinity'::float8, true, false,
                       'a"b'::varchar(10), E'line\\nbreak'::text, timestamptz '2026-11-26 20:51:53.5+01', date '0001-01-01',
                       '{"size": 3, "k": [1, "x"]}'::json, '{"a":1}'::jsonb,
                       ARRAY['x', NULL, 'y']::varchar(5)[], ARRAY[]::text[], ARRAY[1, -2]::int8[], ARRAY[0.5, 1e20]::float8[],
                       ARRAY[true, false]::bool[], ARRAY[timestamptz '1999-12-31 23:59:59.999999+00']::timestamptz[],
                       ARRAY[date '2024-02-29']::date[], NULL::text, NULL::int8[]
                """
            var out: [String] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger) {
                for cell in row {
                    var bytes: [UInt8] = []
                    try CellJSON.write(cell, into: &bytes)
                    out.append(String(decoding: bytes, as: UTF8.self))
                }
            }
            return out
        }
        #expect(
            rendered == [
                "42", "-7", "3", "1.5", "\"NaN\"", "\"-Infinity\"", "true", "false",
                #""a\"b""#, #""line\nbreak""#, "\"2026-11-26T19:51:53.500000Z\"", "\"0001-01-01\"",
                #"{"size": 3, "k": [1, "x"]}"#, #"{"a": 1}"#,
                #"["x",null,"y"]"#, "[]", "[1,-2]", "[0.5,1e+20]",
                "[true,false]", "[\"1999-12-31T23:59:59.999999Z\"]",
                "[\"2024-02-29\"]", "null", "null",
            ])
    }

    /// A malformed or unknown binary value is an error, never a crash or a guess.
    @Test func malformedAndUnknownValuesAreErrors() throws {
        func render(_ oid: UInt32, _ bytes: [UInt8]) throws {
            var out: [UInt8] = []
            try bytes.withUnsafeBytes { try CellJSON.write(oid: oid, $0, into: &out) }
        }
        try render(20, [0, 0, 0, 0, 0, 0, 0, 7])  // a whole int8 renders
        #expect(throws: CellJSON.Failure.self) { try render(20, [0, 0, 0, 7]) }  // int8 cut short
        #expect(throws: CellJSON.Failure.self) { try render(1184, [1, 2]) }  // timestamptz cut short
        #expect(throws: CellJSON.Failure.self) { try render(3802, [2, 0x7B, 0x7D]) }  // jsonb of an unknown version
        // 3 items, none sent.
        #expect(throws: CellJSON.Failure.self) { try render(1016, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 1]) }
        #expect(throws: CellJSON.Failure.self) { try render(1700, [0, 0]) }  // numeric: no column type makes it
    }

    /// PostgreSQL's text of `select` (over `x`) for each of `values`, in order, on a fresh database.
    private func postgresTexts<Value: PostgresArrayEncodable & PostgresNonThrowingEncodable & Sendable>(
        of values: [Value], as arrayType: String, select: String
    ) async throws -> [String] {
        let url = try await TestDatabase.create(label: "celljson")
        return try await TestDatabase.withClient(url) { client in
            var bindings = PostgresBindings()
            bindings.append(values)
            let sql = "SELECT \(select) FROM unnest($1::\(arrayType)) WITH ORDINALITY u(x, n) ORDER BY n"
            var out: [String] = []
            for try await text in try await client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: TestDatabase.logger).decode(
                String.self)
            {
                out.append(text)
            }
            return out
        }
    }

    /// The significant digits of a number's text, without sign, point, exponent or outer zeros.
    private static func digits(_ text: String) -> String {
        let mantissa = text.split(separator: "e").first ?? ""
        let digits = mantissa.filter(\.isNumber)
        return String(digits.drop { $0 == "0" }.reversed().drop { $0 == "0" }.reversed())
    }

    private func pow10(_ e: Int) -> Double {
        var d = 1.0
        for _ in 0..<abs(e) { d *= 10 }
        return e < 0 ? 1 / d : d
    }
}
