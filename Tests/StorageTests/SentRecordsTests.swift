import PostgresNIO
import TestSupport
import Testing

@testable import Storage

/// A list page arrives as one value: its records in PostgreSQL's binary record form, one after
/// another (`SentRecords`, `RecordStore.aggregatedPageSQL`). These tests read that form as a real
/// server sends it and hold it to what the same values render as one cell at a time.
@Suite struct SentRecordsTests {
    /// Every column type the schema creates, with NULLs and empty arrays, in two records of one
    /// aggregated value: the same JSON as `CellJSON` writes from the values sent as cells.
    @Test func everyColumnTypeRendersFromTheRecordForm() async throws {
        let columns = """
            42::int8, -7::int4, 3::int2, 1.5::float8, 'NaN'::float8, true,
            'a"b'::varchar(10), E'line\\nbreak'::text, timestamptz '2026-11-26 20:51:53.5+01', date '0001-01-01',
            '{"size": 3}'::json, '{"a":1}'::jsonb, ARRAY['x', NULL, 'y']::varchar(5)[], ARRAY[]::text[],
            ARRAY[0.5, 1e20]::float8[], ARRAY[timestamptz '1999-12-31 23:59:59.999999+00']::timestamptz[], NULL::text, NULL::int8[]
            """
        let url = try await TestDatabase.create(label: "sentrecords")
        let (asCells, asRecords): ([String], [[String]]) = try await TestDatabase.withClient(url) { client in
            var cells: [String] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: "SELECT \(columns)"), logger: TestDatabase.logger) {
                for cell in row {
                    var bytes: [UInt8] = []
                    try CellJSON.write(cell, into: &bytes)
                    cells.append(String(decoding: bytes, as: UTF8.self))
                }
            }
            let sql = "SELECT string_agg(record_send(r), ''::bytea) FROM (SELECT \(columns) FROM generate_series(1, 2)) r"
            var records: [[String]] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger) {
                var cells = row.makeIterator()
                let bytes = try #require(cells.next()?.bytes)
                try bytes.withUnsafeReadableBytes { raw in
                    var sent = SentRecords(raw)
                    while !sent.isAtEnd {
                        var values: [String] = []
                        try sent.nextRecord { _, oid, value in
                            var out: [UInt8] = []
                            if let value { try CellJSON.write(oid: oid, value, into: &out) } else { out.append(contentsOf: "null".utf8) }
                            values.append(String(decoding: out, as: UTF8.self))
                        }
                        records.append(values)
                    }
                }
            }
            return (cells, records)
        }
        #expect(asCells.count == 18)
        #expect(asRecords == [asCells, asCells])
    }

    /// A record renders with the kind's keys, `filetype` after `id`, and only the record's leading
    /// columns; one cut short, or without its columns, is an error, never a crash or a partial record.
    @Test func aRecordRendersWithItsKeysAndAMalformedOneIsAnError() throws {
        let renderer = RecordRenderer(kindName: "song", keys: ["name", "duration"])
        func record(_ columns: [(UInt32, [UInt8]?)]) -> [UInt8] {
            var out = Self.int32(Int32(columns.count))
            for (oid, value) in columns {
                out += Self.int32(Int32(bitPattern: oid))
                if let value { out += Self.int32(Int32(value.count)) + value } else { out += Self.int32(-1) }
            }
            return out
        }
        let id: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 9]
        let whole = record([(20, id), (25, Array("Blue \"in\" green".utf8)), (23, nil), (25, Array("extra".utf8))])
        func render(_ bytes: [UInt8]) throws -> (Int64, String, Bool) {
            try bytes.withUnsafeBytes { raw in
                var sent = SentRecords(UnsafeRawBufferPointer(raw))
                var out: [UInt8] = []
                let id = try renderer.write(&sent, into: &out)
                return (id, String(decoding: out, as: UTF8.self), sent.isAtEnd)
            }
        }
        let (read, json, atEnd) = try render(whole + whole)
        #expect(read == 9)
        #expect(json == #"{"id":9,"filetype":"song","name":"Blue \"in\" green","duration":null}"#)
        #expect(!atEnd)  // the second record is still to read
        for cut in [1, 4, 9, 12, whole.count - 1] {
            #expect(throws: CellJSON.Failure.self, "cut to \(cut) bytes") { try render(Array(whole.prefix(cut))) }
        }
        #expect(throws: CellJSON.Failure.self) { try render(record([(20, id), (25, Array("only a name".utf8))])) }  // a column short
        #expect(throws: CellJSON.Failure.self) { try render(record([(20, nil), (25, []), (23, nil)])) }  // no id
        #expect(throws: CellJSON.Failure.self) { try render(record([(23, [0, 0, 0, 9]), (25, []), (23, nil)])) }  // an id not int8
        #expect(throws: CellJSON.Failure.self) { try render(Self.int32(-1)) }  // a negative column count
        #expect(throws: CellJSON.Failure.self) { try render(Self.int32(1) + Self.int32(20) + Self.int32(1 << 30)) }  // a length past the end
    }

    private static func int32(_ value: Int32) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
