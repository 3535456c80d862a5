import PostgresNIO

/// Turns a row of `KindQueries.recordColumns` into the record's JSON and version.
///
/// The keys, in API order, are fixed when kinds are loaded: each column's value is preceded by
/// its prepared bytes (`{"id":`, then `,"filetype":"song","name":`, …), so rendering a row is one
/// pass over its cells with no per-row dictionary or `Codable` work.
struct RecordRenderer: Sendable {
    /// Bytes written before each column's value (the first is for `id`), all in one array so
    /// that writing a row does not retain an array per column.
    private let prefixBytes: [UInt8]
    private let prefixes: [Range<Int>]
    /// Where `updated_at` is; its text is the record's version (the ETag value).
    private let updatedAtColumn: Int

    /// How many leading columns of a row are the record's; a query may select more after them.
    var columnCount: Int { prefixes.count }

    /// `keys` name the columns after `id`, in order; `filetype` (a constant, the kind's name) follows `id`.
    init(kindName: String, keys: [String]) {
        var filetype: [UInt8] = []
        CellJSON.writeString(kindName.utf8, into: &filetype)
        var prefixes: [[UInt8]] = [Array(#"{"id":"#.utf8)]
        for (i, key) in keys.enumerated() {
            var prefix: [UInt8] = Array(",".utf8)
            if i == 0 { prefix = Array(#","filetype":"#.utf8) + filetype + prefix }
            CellJSON.writeString(key.utf8, into: &prefix)
            prefix.append(UInt8(ascii: ":"))
            prefixes.append(prefix)
        }
        self.prefixBytes = prefixes.flatMap { $0 }
        var ranges: [Range<Int>] = []
        var start = 0
        for prefix in prefixes {
            ranges.append(start..<(start + prefix.count))
            start += prefix.count
        }
        self.prefixes = ranges
        updatedAtColumn = (keys.firstIndex(of: "updated_at") ?? 0) + 1
    }

    func render(_ row: PostgresRow) throws -> StoredRecord {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        let (id, version) = try write(row, into: &out)
        let text = String(decoding: out[version], as: UTF8.self)
        return StoredRecord(id: id, json: out, version: text)
    }

    /// Appends the record's JSON to `out` and returns its id and where its version text is in
    /// `out`. (A list page's records arrive as one value instead: `SentRecords`.)
    @discardableResult
    func write(_ row: PostgresRow, into out: inout [UInt8]) throws -> (id: Int64, version: Range<Int>) {
        var id: Int64 = 0
        var version = out.count..<out.count
        var column = 0
        for cell in row {
            guard column < prefixes.count else { break }
            appendPrefix(column, to: &out)
            if column == 0 {
                id = try cell.decode(Int64.self)
                CellJSON.writeInteger(id, &out)
            } else {
                let start = out.count
                try CellJSON.write(cell, into: &out)
                if column == updatedAtColumn { version = (start + 1)..<(out.count - 1) }
            }
            column += 1
        }
        out.append(UInt8(ascii: "}"))
        return (id, version)
    }

    /// The bytes before column `column`'s value: `{"id":` for the first, `,"name":` and so on.
    func appendPrefix(_ column: Int, to out: inout [UInt8]) {
        // Through a pointer: appending an `ArraySlice` retains and releases the array per column.
        prefixBytes.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[prefixes[column]])) }
    }
}
