import NIOCore
import PostgresNIO

/// Writes a PostgreSQL value, as received in binary form, as JSON text — the same JSON that
/// `json_build_object` makes of it, but without spending the database's CPU on it.
///
/// Why in Swift: building each record's JSON in SQL (`json_build_object` plus `to_char` for every
/// timestamp) cost PostgreSQL several times the plain columns per page (docs/performance.md,
/// "Measured reasons in the code"), and the database shares the machine's cores with the server. The value's type comes from the
/// column (or array element) OID, so this knows nothing of kinds.
enum CellJSON {
    enum Failure: Error, CustomStringConvertible {
        case unsupportedType(UInt32)
        case malformed(UInt32)
        case textFormat
        case notARecordColumn(String)
        var description: String {
            switch self {
            case .unsupportedType(let oid): "cannot render PostgreSQL type oid \(oid) as JSON"
            case .malformed(let oid): "malformed binary value of PostgreSQL type oid \(oid)"
            case .textFormat: "expected a binary-format column"
            case .notARecordColumn(let name): "'\(name)' is not a column of the record"
            }
        }
    }

    /// Appends the cell's value (`null` for SQL NULL).
    static func write(_ cell: PostgresCell, into out: inout [UInt8]) throws {
        guard cell.format == .binary else { throw Failure.textFormat }
        guard let bytes = cell.bytes else {
            out.append(contentsOf: "null".utf8)
            return
        }
        let oid = cell.dataType.rawValue
        try bytes.withUnsafeReadableBytes { try write(oid: oid, $0, into: &out) }
    }

    /// The value as text that PostgreSQL casts back to exactly the same value of the column's type
    /// (nil for SQL NULL): what a list cursor carries for each sort key. Text as it is; every other
    /// sortable type as its JSON without the quotes — shortest round-trip digits for a double,
    /// microseconds for a timestamp (`2026-11-26T20:51:53.123456Z`), `NaN`/`Infinity` as
    /// PostgreSQL spells them.
    static func cursorText(oid: UInt32, _ raw: UnsafeRawBufferPointer?) throws -> String? {
        guard let raw else { return nil }
        if RenderedType(rawValue: oid)?.isText == true { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        try write(oid: oid, raw, into: &out)
        if out.count >= 2, out.first == UInt8(ascii: "\""), out.last == UInt8(ascii: "\"") {
            return String(decoding: out.dropFirst().dropLast(), as: UTF8.self)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads the value in place (no `ByteBuffer` slices, hence no reference counting per value).
    static func write(oid: UInt32, _ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) throws {
        var reader = Reader(bytes: bytes, oid: oid)
        guard let type = RenderedType(rawValue: oid) else { throw Failure.unsupportedType(oid) }
        switch type {
        case .int8: writeInteger(try reader.read(Int64.self), &out)
        case .int4: writeInteger(Int64(try reader.read(Int32.self)), &out)
        case .int2: writeInteger(Int64(try reader.read(Int16.self)), &out)
        case .bool: out.append(contentsOf: (try reader.read(UInt8.self) != 0 ? "true" : "false").utf8)
        case .float8: writeDouble(Double(bitPattern: try reader.read(UInt64.self)), into: &out)
        case .float4: writeDouble(Double(Float(bitPattern: try reader.read(UInt32.self))), into: &out)
        case .text, .varchar, .bpchar, .name:
            writeString(bytes, into: &out)
        case .timestamptz:  // microseconds since 2000-01-01 UTC
            let micros = try reader.read(Int64.self)
            out.append(UInt8(ascii: "\""))
            TimestampText.write(micros: micros, into: &out)
            out.append(UInt8(ascii: "\""))
        case .date:  // days since 2000-01-01
            let days = try reader.read(Int32.self)
            out.append(UInt8(ascii: "\""))
            TimestampText.write(days: days, into: &out)
            out.append(UInt8(ascii: "\""))
        case .json:  // its text as it is
            out.append(contentsOf: bytes)
        case .jsonb:  // a version byte, then the text
            guard try reader.read(UInt8.self) == 1 else { throw Failure.malformed(oid) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[1...]))
        case .int8Array, .int4Array, .int2Array, .boolArray, .float8Array, .float4Array, .textArray, .varcharArray, .bpcharArray,
            .timestamptzArray, .dateArray, .jsonArray, .jsonbArray:
            try writeArray(&reader, into: &out)
        }
    }

    /// Big-endian reads from a binary value, failing (not trapping) on short input.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let oid: UInt32
        var offset = 0

        mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count else { throw Failure.malformed(oid) }
            defer { offset += MemoryLayout<T>.size }
            return T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }

        mutating func slice(_ length: Int) throws -> UnsafeRawBufferPointer {
            guard length >= 0, offset + length <= bytes.count else { throw Failure.malformed(oid) }
            defer { offset += length }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        }
    }

    static func writeInteger(_ value: Int64, _ out: inout [UInt8]) {
        if value >= 0 && value < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(value))
            return
        }
        out.append(contentsOf: String(value).utf8)
    }

    /// A one-dimensional array (the only kind the schema creates) as a JSON array; the element
    /// type comes from the array's own header.
    private static func writeArray(_ reader: inout Reader, into out: inout [UInt8]) throws {
        let dimensions = try reader.read(Int32.self)
        _ = try reader.read(Int32.self)  // has-nulls flag
        let element = try reader.read(UInt32.self)
        var count = 0
        for d in 0..<Int(dimensions) {
            let size = try reader.read(Int32.self)
            _ = try reader.read(Int32.self)  // lower bound
            count = d == 0 ? Int(size) : count * Int(size)
        }
        out.append(UInt8(ascii: "["))
        for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let length = try reader.read(Int32.self)
            if length < 0 {
                out.append(contentsOf: "null".utf8)
                continue
            }
            try write(oid: element, try reader.slice(Int(length)), into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string with the escapes PostgreSQL's `escape_json` uses; other characters as they are.
    static func writeString<Bytes: Collection<UInt8>>(_ bytes: Bytes, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most text needs no escape: copy it whole.
        if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in bytes {
            let short: UInt8? =
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte
                case 0x08: UInt8(ascii: "b")
                case 0x0C: UInt8(ascii: "f")
                case 0x0A: UInt8(ascii: "n")
                case 0x0D: UInt8(ascii: "r")
                case 0x09: UInt8(ascii: "t")
                default: nil
                }
            if let short {
                out.append(UInt8(ascii: "\\"))
                out.append(short)
            } else if byte < 0x20 {
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            } else {
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A double as PostgreSQL's `float8out` writes it (shortest round-trip digits; plain notation
    /// for decimal exponents -4…14, else `1.5e+20`), so a record reads the same as before this
    /// moved out of SQL. Non-finite values become the strings `json_build_object` makes of them.
    static func writeDouble(_ value: Double, into out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(contentsOf: (value.isNaN ? "\"NaN\"" : value < 0 ? "\"-Infinity\"" : "\"Infinity\"").utf8)
            return
        }
        if value == 0 {
            out.append(contentsOf: (value.sign == .minus ? "-0" : "0").utf8)
            return
        }
        // Swift's description also prints the shortest round-trip digits; only the layout differs.
        var text = Substring(value.description)
        if text.first == "-" {
            out.append(UInt8(ascii: "-"))
            text = text.dropFirst()
        }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        let dot = text.firstIndex(of: ".") ?? text.endIndex
        let integerDigits = text.distance(from: text.startIndex, to: dot)
        var digits = Array(text.utf8.filter { $0 != UInt8(ascii: ".") })
        // Position of the decimal point relative to the digits, then normalise away zeros.
        var point = integerDigits + exponent
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let decimalExponent = point - 1
        if decimalExponent >= -4 && decimalExponent < 15 {
            if point <= 0 {
                out.append(contentsOf: "0.".utf8)
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -point))
                out.append(contentsOf: digits)
            } else if point >= digits.count {
                out.append(contentsOf: digits)
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: point - digits.count))
            } else {
                out.append(contentsOf: digits[..<point])
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[point...])
            }
        } else {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(contentsOf: (decimalExponent < 0 ? "e-" : "e+").utf8)
            let magnitude = abs(decimalExponent)
            if magnitude < 10 { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: String(magnitude).utf8)
        }
    }
}
