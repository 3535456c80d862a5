/// Why a request body is not acceptable JSON, with the position where parsing stopped.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let line: Int
    public let column: Int
    /// True when the text may be valid JSON but passes one of the parser's limits (members per
    /// object, nesting depth): the client has to send less, not fix its syntax.
    public let isLimit: Bool
    public var description: String { "\(message) at line \(line), column \(column)" }

    public init(message: String, line: Int, column: Int, isLimit: Bool = false) {
        self.message = message
        self.line = line
        self.column = column
        self.isLimit = isLimit
    }
}

/// A strict RFC 8259 parser over UTF-8 bytes.
///
/// Strict on purpose: duplicate keys, trailing commas, comments, lone surrogates and nesting deeper
/// than `maxDepth` are errors, because a server that guesses what a client meant stores surprises.
///
/// Linear in the input on purpose, since every create and PATCH body goes through it: members are
/// appended without a lookup (duplicates are caught by a linear scan while an object is small and
/// by a hash set past `smallObject` members), and a string with escapes is decoded into one byte
/// buffer validated once. An object may have at most `maxMembers` members.
public struct JSONParser {
    public static let maxDepth = 64
    /// Members per object. A record has tens of fields; 10,000 leaves room for any `json` field a
    /// client means to store and bounds what one object costs to hold and to validate.
    public static let maxMembers = 10_000
    /// Up to this many members, duplicates are found by comparing with the keys already read
    /// (cheaper than building a hash set for the few keys of a record).
    static let smallObject = 16

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index != bytes.count { throw parser.error("Unexpected text after the JSON value") }
        return value
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ message: String, isLimit: Bool = false) -> JSONSyntaxError {
        var line = 1
        var column = 1
        for b in bytes[..<min(index, bytes.count)] {
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONSyntaxError(message: message, line: line, column: column, isLimit: isLimit)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let b = current, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { index += 1 }
    }

    private mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let utf8 = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard index + utf8.count <= bytes.count, bytes[index..<index + utf8.count].elementsEqual(utf8) else {
            throw error("Invalid literal")
        }
        index += utf8.count
        return value
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard let b = current else { throw error("Unexpected end of input") }
        switch b {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("Unexpected character '\(Character(Unicode.Scalar(b)))'")
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw error("JSON nested deeper than \(Self.maxDepth) levels", isLimit: true) }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var entries: [(key: String, value: JSONValue)] = []
        var seen: Set<String>? = nil  // built once the object outgrows `smallObject`
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(JSONObject(entries))
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("Expected a string key") }
            if entries.count == Self.maxMembers {
                throw error("Object has more than \(Self.maxMembers) members (the limit per object)", isLimit: true)
            }
            let key = try parseString()
            let duplicate: Bool
            if seen != nil {
                duplicate = !seen!.insert(key).inserted
            } else if entries.count < Self.smallObject {
                duplicate = entries.contains { $0.key == key }
            } else {
                var set = Set<String>(minimumCapacity: entries.count * 2)
                for entry in entries { set.insert(entry.key) }
                duplicate = !set.insert(key).inserted
                seen = set
            }
            if duplicate { throw error("Duplicate key \"\(key)\"") }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("Expected ':' after key \"\(key)\"") }
            index += 1
            skipWhitespace()
            // Keys are known to be distinct: append, never the subscript's lookup (quadratic).
            entries.append((key, try parseValue()))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(JSONObject(entries))
            default: throw error("Expected ',' or '}' in object")
            }
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            array.append(try parseValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(array)
            default: throw error("Expected ',' or ']' in array")
            }
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.index
            while let b = p.current, b >= 0x30, b <= 0x39 { p.index += 1 }
            return p.index - s
        }
        if current == UInt8(ascii: "0") {
            index += 1
        } else if digits(&self) == 0 {
            throw error("Invalid number")
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("Invalid number: digits expected after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("Invalid number: digits expected in exponent") }
        }
        guard index - start <= 400 else { throw error("Number literal too long") }
        return .number(JSONNumber(literal: String(decoding: bytes[start..<index], as: UTF8.self)))
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        while let b = current, b != UInt8(ascii: "\""), b != UInt8(ascii: "\\"), b >= 0x20 { index += 1 }
        if current == UInt8(ascii: "\"") {
            let slice = bytes[start..<index]
            index += 1
            return try decodeUTF8(slice)
        }
        // Escapes: raw runs and decoded escapes go into one UTF-8 buffer, validated once at the end.
        // (Escapes always encode whole scalars starting with a lead byte, so a raw run cut inside a
        // sequence stays invalid, exactly as when each run was validated on its own.)
        var utf8: [UInt8] = []
        utf8.reserveCapacity(index - start + 16)
        var runStart = start
        while true {
            guard let b = current else { throw error("Unterminated string") }
            if b == UInt8(ascii: "\"") {
                utf8.append(contentsOf: bytes[runStart..<index])
                let end = index
                index += 1
                guard let s = String(validating: utf8, as: UTF8.self) else {
                    index = end
                    throw error("Invalid UTF-8 in string")
                }
                return s
            }
            if b < 0x20 { throw error("Control character in string (escape it as \\u00XX)") }
            if b == UInt8(ascii: "\\") {
                utf8.append(contentsOf: bytes[runStart..<index])
                index += 1
                let scalar = try parseEscape()
                if scalar.value < 0x80 {
                    utf8.append(UInt8(truncatingIfNeeded: scalar.value))
                } else {
                    utf8.append(contentsOf: scalar.utf8)
                }
                runStart = index
            } else {
                index += 1
            }
        }
    }

    private mutating func parseEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        guard let e = current else { throw error("Unterminated escape") }
        index += 1
        switch e {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try parseHex4()
            if (0xD800...0xDBFF).contains(high) {
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("Lone surrogate in \\u escape")
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("Invalid surrogate pair") }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(high) else { throw error("Lone surrogate in \\u escape") }
            return scalar
        default:
            throw error("Invalid escape '\\\(Character(Unicode.Scalar(e)))'")
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("Incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw error("Invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func decodeUTF8(_ slice: ArraySlice<UInt8>) throws(JSONSyntaxError) -> String {
        guard let s = String(validating: slice, as: UTF8.self) else { throw error("Invalid UTF-8 in string") }
        return s
    }
}
