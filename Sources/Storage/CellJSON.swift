import NIOCore
import PostgresNIO

/// Writes a PostgreSQL value, as received in binary form, as JSON text — the same JSON that
/// `json_build_object` makes of it, but without spending the database's CPU on it.
///
/// Why in Swift: building each record's JSON in SQL (`json_build_object` plus `to_char` for every
/// timestamp) made a 51-row list page cost PostgreSQL 3× the plain columns (measured with pgbench
/// on the benchmark's podcasts, 16 clients: 9.4k pages/s prepared against 28.4k for the columns),
/// and the database shares the machine's cores with the server. The value's type comes from the
/// column (or array element) OID, so this knows nothing of kinds.
enum CellJSON {
    enum Failure: Error, CustomStringConvertible {
        case unsupportedType(UInt32)
        case malformed(UInt32)
        case textFormat
        var description: String {
            switch self {
            case .unsupportedType(let oid): "cannot render PostgreSQL type oid \(oid) as JSON"
            case .malformed(let oid): "malformed binary value of PostgreSQL type oid \(oid)"
            case .textFormat: "expected a binary-format column"
            }
        }
    }

    /// Appends the cell's value (`null` for SQL NULL).
    static func write(_ cell: PostgresCell, into out: inout [UInt8]) throws {
        guard cell.format == .binary else { throw Failure.textFormat }
        guard var bytes = cell.bytes else { out.append(contentsOf: "null".utf8); return }
        try write(oid: cell.dataType.rawValue, &bytes, into: &out)
    }

    static func write(oid: UInt32, _ bytes: inout ByteBuffer, into out: inout [UInt8]) throws {
        switch oid {
        case 20: try writeInteger(bytes.readInteger(as: Int64.self), oid, &out)
        case 23: try writeInteger(bytes.readInteger(as: Int32.self).map(Int64.init), oid, &out)
        case 21: try writeInteger(bytes.readInteger(as: Int16.self).map(Int64.init), oid, &out)
        case 16:
            guard let b = bytes.readInteger(as: UInt8.self) else { throw Failure.malformed(oid) }
            out.append(contentsOf: (b != 0 ? "true" : "false").utf8)
        case 701:
            guard let bits = bytes.readInteger(as: UInt64.self) else { throw Failure.malformed(oid) }
            writeDouble(Double(bitPattern: bits), into: &out)
        case 700:
            guard let bits = bytes.readInteger(as: UInt32.self) else { throw Failure.malformed(oid) }
            writeDouble(Double(Float(bitPattern: bits)), into: &out)
        case 25, 1043, 1042, 19: // text, varchar, bpchar, name
            writeString(bytes.readableBytesView, into: &out)
        case 1184: // timestamptz: microseconds since 2000-01-01 UTC
            guard let micros = bytes.readInteger(as: Int64.self) else { throw Failure.malformed(oid) }
            out.append(UInt8(ascii: "\""))
            TimestampText.write(micros: micros, into: &out)
            out.append(UInt8(ascii: "\""))
        case 1082: // date: days since 2000-01-01
            guard let days = bytes.readInteger(as: Int32.self) else { throw Failure.malformed(oid) }
            out.append(UInt8(ascii: "\""))
            TimestampText.write(days: days, into: &out)
            out.append(UInt8(ascii: "\""))
        case 114: // json: its text as it is
            out.append(contentsOf: bytes.readableBytesView)
        case 3802: // jsonb: a version byte, then the text
            guard bytes.readInteger(as: UInt8.self) == 1 else { throw Failure.malformed(oid) }
            out.append(contentsOf: bytes.readableBytesView)
        case 1016, 1007, 1005, 1000, 1022, 1021, 1009, 1015, 1014, 1185, 1182, 199, 3807:
            try writeArray(&bytes, oid: oid, into: &out)
        default:
            throw Failure.unsupportedType(oid)
        }
    }

    private static func writeInteger(_ value: Int64?, _ oid: UInt32, _ out: inout [UInt8]) throws {
        guard let value else { throw Failure.malformed(oid) }
        if value >= 0 && value < 10 { out.append(UInt8(ascii: "0") &+ UInt8(value)); return }
        out.append(contentsOf: String(value).utf8)
    }

    /// A one-dimensional array (the only kind the schema creates) as a JSON array; the element
    /// type comes from the array's own header.
    private static func writeArray(_ bytes: inout ByteBuffer, oid: UInt32, into out: inout [UInt8]) throws {
        guard let dimensions = bytes.readInteger(as: Int32.self), bytes.readInteger(as: Int32.self) != nil,
              let element = bytes.readInteger(as: UInt32.self) else { throw Failure.malformed(oid) }
        var count = 0
        for d in 0..<Int(dimensions) {
            guard let size = bytes.readInteger(as: Int32.self), bytes.readInteger(as: Int32.self) != nil else { throw Failure.malformed(oid) }
            count = d == 0 ? Int(size) : count * Int(size)
        }
        out.append(UInt8(ascii: "["))
        for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            guard let length = bytes.readInteger(as: Int32.self) else { throw Failure.malformed(oid) }
            if length < 0 { out.append(contentsOf: "null".utf8); continue }
            guard var item = bytes.readSlice(length: Int(length)) else { throw Failure.malformed(oid) }
            try write(oid: element, &item, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// A JSON string with the escapes PostgreSQL's `escape_json` uses; other characters as they are.
    static func writeString<Bytes: Sequence<UInt8>>(_ bytes: Bytes, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
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
        if value == 0 { out.append(contentsOf: (value.sign == .minus ? "-0" : "0").utf8); return }
        // Swift's description also prints the shortest round-trip digits; only the layout differs.
        var text = Substring(value.description)
        if text.first == "-" { out.append(UInt8(ascii: "-")); text = text.dropFirst() }
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
        while digits.first == UInt8(ascii: "0") { digits.removeFirst(); point -= 1 }
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
