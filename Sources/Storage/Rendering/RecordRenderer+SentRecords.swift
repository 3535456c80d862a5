/// Rendering a record from its binary record form (`SentRecords`): a list page's records.
extension RecordRenderer {
    /// Appends the JSON of the record at `records`' position (its leading `columnCount` columns;
    /// a query may select more after them) and returns its id.
    func write(_ records: inout SentRecords, into out: inout [UInt8]) throws -> Int64 {
        var id: Int64?
        var written = 0
        try records.nextRecord { column, oid, value in
            guard column < columnCount else { return }
            written += 1
            appendPrefix(column, to: &out)
            guard let value else {
                if column == 0 { throw CellJSON.Failure.malformed(oid) }  // every record has an id
                out.append(contentsOf: "null".utf8)
                return
            }
            if column == 0 {
                guard oid == RenderedType.int8.rawValue, value.count == 8 else { throw CellJSON.Failure.malformed(oid) }
                let read = Int64(bigEndian: value.loadUnaligned(as: Int64.self))
                id = read
                CellJSON.writeInteger(read, &out)
            } else {
                try CellJSON.write(oid: oid, value, into: &out)
            }
        }
        guard let id, written == columnCount else { throw CellJSON.Failure.malformed(SentRecords.recordOID) }
        out.append(UInt8(ascii: "}"))
        return id
    }
}
