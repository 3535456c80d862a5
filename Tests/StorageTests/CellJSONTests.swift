import PostgresNIO
@testable import Storage
import Testing
import TestSupport

/// The record JSON is written in Swift from binary column values (`CellJSON`, `TimestampText`);
/// it used to be PostgreSQL's own `json_build_object`/`to_char` text. These tests hold the Swift
/// text to PostgreSQL's, value by value, on a real server.
@Suite struct CellJSONTests {
    /// Doubles read exactly as `float8out` writes them: random bit patterns, decimals and powers of ten.
    @Test func doublesMatchPostgreSQL() async throws {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [1, -1, 0.1, 100, 1e14, 1e15, 1e-4, 1e-5, 123456789012345.6, 2.5e-5, 1.5e300, 5e-324,
                                .greatestFiniteMagnitude, -.leastNormalMagnitude, 0.30000000000000004, 60.5, 1e16, 9007199254740993]
        values += (-30...30).map { pow10($0) }
        while values.count < 4000 {
            let bits = UInt64.random(in: 0...UInt64.max, using: &generator)
            let d = Double(bitPattern: bits)
            if d.isFinite && d != 0 { values.append(d) }
            values.append(Double(Int64.random(in: -10_000_000...10_000_000)) / pow10(Int.random(in: 0...9)))
        }
        let url = try await TestDatabase.create(label: "celljson")
        let sent = values
        let expected: [String] = try await TestDatabase.withClient(url) { client in
            var bindings = PostgresBindings()
            bindings.append(sent)
            var out: [String] = []
            let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT x::text FROM unnest($1::float8[]) WITH ORDINALITY u(x, n) ORDER BY n", binds: bindings), logger: TestDatabase.logger)
            for try await text in rows.decode(String.self) { out.append(text) }
            return out
        }
        #expect(expected.count == values.count)
        var mismatches: [String] = []
        for (value, pg) in zip(values, expected) {
            var out: [UInt8] = []
            CellJSON.writeDouble(value, into: &out)
            let swift = String(decoding: out, as: UTF8.self)
            // Where the shortest decimal lies exactly halfway between two doubles (1e23), Swift prints it and
            // PostgreSQL's Ryu the longer neighbour; both read back as the same double, so JSON is unchanged.
            if swift != pg && !(Double(swift) == value && Double(pg) == value) {
                mismatches.append("\(value.bitPattern): swift \(swift) postgres \(pg)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// Timestamps read as `to_char(… AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` (the
    /// version that `If-Match` compares in SQL) and dates as PostgreSQL's ISO text, years 1–9999.
    @Test func timestampsAndDatesMatchPostgreSQL() async throws {
        let low: Int64 = -63_082_281_600_000_000 // 0001-01-01 relative to 2000-01-01, in µs
        let high: Int64 = 252_455_615_999_999_999 // 9999-12-31T23:59:59.999999
        var micros: [Int64] = [0, -1, 1, low, high, 86_400_000_000 * 59, 86_400_000_000 * 60 - 1, 951_782_400_000_000]
        while micros.count < 3000 { micros.append(Int64.random(in: low...high)) }
        let days = micros.map { Int64($0 >= 0 ? $0 / 86_400_000_000 : ($0 + 1) / 86_400_000_000 - 1) }
        let url = try await TestDatabase.create(label: "celljson")
        let sent = micros
        let (stamps, dates): ([String], [String]) = try await TestDatabase.withClient(url) { client in
            var bindings = PostgresBindings()
            bindings.append(sent)
            bindings.append(days)
            let sql = """
                SELECT to_char((timestamptz '2000-01-01 00:00:00+00' + interval '1 second' * (x / 1000000)::float8
                                 + interval '1 microsecond' * (x % 1000000)::float8) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                       (date '2000-01-01' + d::int)::text
                FROM unnest($1::int8[], $2::int8[]) WITH ORDINALITY u(x, d, n) ORDER BY n
                """
            var s: [String] = [], d: [String] = []
            for try await (a, b) in try await client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: TestDatabase.logger).decode((String, String).self) {
                s.append(a); d.append(b)
            }
            return (s, d)
        }
        #expect(stamps.count == micros.count)
        for (i, value) in micros.enumerated() where i < stamps.count {
            #expect(TimestampText.string(micros: value) == stamps[i], "µs \(value)")
            var out: [UInt8] = []
            TimestampText.write(days: Int32(days[i]), into: &out)
            #expect(String(decoding: out, as: UTF8.self) == dates[i], "days \(days[i])")
        }
    }

    /// Strings are escaped as `to_json(text)` escapes them: quotes, backslashes, control characters.
    @Test func stringsMatchPostgreSQL() async throws {
        let alphabet: [Unicode.Scalar] = ["a", "\"", "\\", "/", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "é", "ü", "日", "🎵", " "]
        var strings = ["", "plain", "\"quoted\"", "tab\there"]
        while strings.count < 500 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...20) { s.append(alphabet.randomElement()!) }
            strings.append(String(s))
        }
        let url = try await TestDatabase.create(label: "celljson")
        let sentStrings = strings
        let expected: [String] = try await TestDatabase.withClient(url) { client in
            var bindings = PostgresBindings()
            bindings.append(sentStrings)
            var out: [String] = []
            let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT to_json(x)::text FROM unnest($1::text[]) WITH ORDINALITY u(x, n) ORDER BY n", binds: bindings), logger: TestDatabase.logger)
            for try await text in rows.decode(String.self) { out.append(text) }
            return out
        }
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
        #expect(rendered == [
            "42", "-7", "3", "1.5", "\"NaN\"", "\"-Infinity\"", "true", "false",
            #""a\"b""#, #""line\nbreak""#, "\"2026-11-26T19:51:53.500000Z\"", "\"0001-01-01\"",
            #"{"size": 3, "k": [1, "x"]}"#, #"{"a": 1}"#,
            #"["x",null,"y"]"#, "[]", "[1,-2]", "[0.5,1e+20]",
            "[true,false]", "[\"1999-12-31T23:59:59.999999Z\"]",
            "[\"2024-02-29\"]", "null", "null",
        ])
    }

    private func pow10(_ e: Int) -> Double {
        var d = 1.0
        for _ in 0..<abs(e) { d *= 10 }
        return e < 0 ? 1 / d : d
    }
}
