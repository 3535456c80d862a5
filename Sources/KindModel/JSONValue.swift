/// A JSON value as the API receives and returns it.
///
/// We keep our own representation instead of `Any` from `JSONSerialization` because validation
/// must know the difference between `1`, `1.0` and `true`, must see integers that do not fit in
/// 64 bits as what they are, and objects must keep their key order so records print in field order.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func integer(_ value: Int64) -> JSONValue { .number(JSONNumber(value)) }
    public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }

    /// The JSON type name used in error messages ("a string", "an integer", ...).
    public var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
}

/// A JSON number kept as its literal text, so that integers beyond `Int64` and the
/// distinction between `60` and `60.0` survive until validation decides what they mean.
public struct JSONNumber: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let literal: String

    public init(literal: String) { self.literal = literal }
    public init(_ value: Int64) { self.literal = String(value) }
    public init(_ value: Double) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            self.literal = String(Int64(value))
        } else {
            self.literal = "\(value)"
        }
    }

    /// The value as a 64-bit integer when it is one exactly (`60`, `60.0` and `6e1` all are); nil
    /// otherwise. Read from the digits: a double would make `60.000000000000000001` 60.
    public var int64: Int64? {
        if let v = Int64(literal) { return v }
        return DecimalLiteral(literal)?.int64
    }

    /// The value as a double; nil when it overflows to infinity or underflows to 0.
    public var double: Double? {
        // Only a 0 can be an underflow: other values skip the digit reading (a create's hot path).
        guard let d = Double(literal), d.isFinite, d != 0 || !underflows else { return nil }
        return d
    }

    /// True when a nonzero literal is too close to zero for a double (`1e-400`): it would round to
    /// 0, which is not the value sent, and PostgreSQL refuses it as out of range. (Subnormals like
    /// `1e-310` keep a value and are fine.)
    public var underflows: Bool {
        guard let decimal = DecimalLiteral(literal), !decimal.isZero else { return false }
        return Double(literal) == 0
    }

    /// True when the literal is a decimal number (`-12.5e3`, also `+5`, `.5`, `5.`): what a list
    /// filter must send, since `Double` also reads `0x10`, `inf` and `nan`, which no rule here judges.
    public var isDecimal: Bool { DecimalLiteral(literal) != nil }

    /// True when the literal denotes an integral value, however large (`1e400` is: range checks
    /// report it), judged on its digits (`60.000000000000000001` is not).
    public var isIntegral: Bool {
        // A plain integer (every normal body) needs no digit reading.
        if Int64(literal) != nil { return true }
        return DecimalLiteral(literal)?.isWhole ?? false
    }

    public var description: String { literal }
}

/// A JSON object that keeps the order in which keys were written.
public struct JSONObject: Sendable, Equatable, Hashable, Sequence {
    public private(set) var entries: [(key: String, value: JSONValue)]

    public init(_ entries: [(key: String, value: JSONValue)] = []) { self.entries = entries }

    public subscript(key: String) -> JSONValue? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { entries.makeIterator() }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for (k, v) in entries {
            hasher.combine(k)
            hasher.combine(v)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}
