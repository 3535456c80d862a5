/// A page's records as PostgreSQL sends a record in binary (`record_send`), one after another in
/// one value: the page statement aggregates its rows with `string_agg(record_send(r), ''::bytea)`
/// (`RecordStore.aggregatedPageSQL`).
///
/// Why: a page read as 51 rows cost the server more in PostgresNIO's row machinery (a `DataRow`
/// message decoded and queued per row on the event loop, a `PostgresCell` with a buffer slice per
/// value when the rows are read) than in writing the JSON, and PostgreSQL spends about the same
/// either way: the record form calls the same send function per value that a row does
/// (docs/performance.md, "Session 23").
///
/// Each record is: the column count (int4), then per column its type OID (int4), its length
/// (int4, -1 for NULL) and that many bytes, the value's own binary form.
struct SentRecords {
    let bytes: UnsafeRawBufferPointer
    /// Where the next record starts.
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }

    /// Calls `body` with each column of the record at `offset` (its index, type OID and bytes, nil
    /// for NULL), and moves past the record.
    mutating func nextRecord(_ body: (Int, UInt32, UnsafeRawBufferPointer?) throws -> Void) throws {
        let columns = try readInt32()
        guard columns >= 0 else { throw CellJSON.Failure.malformed(Self.recordOID) }
        for column in 0..<Int(columns) {
            let oid = UInt32(bitPattern: try readInt32())
            let length = try readInt32()
            if length < 0 {
                try body(column, oid, nil)
                continue
            }
            guard Int(length) <= bytes.count - offset else { throw CellJSON.Failure.malformed(Self.recordOID) }
            let value = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
            offset += Int(length)
            try body(column, oid, value)
        }
    }

    /// Moves to the record that starts at `position` (one `offset` had before).
    mutating func seek(to position: Int) { offset = position }

    private mutating func readInt32() throws -> Int32 {
        guard bytes.count - offset >= 4 else { throw CellJSON.Failure.malformed(Self.recordOID) }
        defer { offset += 4 }
        return Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }

    /// PostgreSQL's `record` type, named in errors about a malformed record.
    static let recordOID: UInt32 = 2249
}
