/// A decimal number literal (`-12.50e3`) read digit by digit, so that whether it is whole, zero,
/// or which 64-bit integer it is does not depend on rounding it to a double first: through a
/// double, `60.000000000000000001` is 60 and `1e-400` is 0, and both would be stored as such.
struct DecimalLiteral: Equatable {
    let negative: Bool
    /// The significant digits (ASCII), without leading or trailing zeros; empty for zero.
    let digits: [UInt8]
    /// The power of ten of the last digit: the value is ±digits × 10^exponent (0 for zero).
    let exponent: Int

    /// Exponents are clamped to this magnitude: far beyond any double or integer, and the
    /// arithmetic on them cannot overflow.
    static let exponentLimit = 1_000_000_000

    /// Reads `[+-]digits[.digits][(e|E)[+-]digits]`, or a fraction without integer digits (`.5`)
    /// or without fraction digits (`5.`) as `Double` reads them; nil for anything else (hex,
    /// `inf`, `nan`, empty).
    init?(_ text: String) {
        let bytes = Array(text.utf8)
        var i = 0
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var all: [UInt8] = []
        while i < bytes.count, isDigit(bytes[i]) {
            all.append(bytes[i])
            i += 1
        }
        var fractionCount = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count, isDigit(bytes[i]) {
                all.append(bytes[i])
                fractionCount += 1
                i += 1
            }
        }
        guard !all.isEmpty else { return nil }
        var exponent = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var exponentNegative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let start = i
            while i < bytes.count, isDigit(bytes[i]) {
                exponent = min(exponent * 10 + Int(bytes[i] - UInt8(ascii: "0")), Self.exponentLimit)
                i += 1
            }
            guard i > start else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard i == bytes.count else { return nil }
        exponent -= fractionCount
        let lead = all.firstIndex { $0 != UInt8(ascii: "0") } ?? all.endIndex
        var significant = all[lead...]
        while significant.last == UInt8(ascii: "0") {
            significant.removeLast()
            exponent += 1
        }
        self.negative = negative
        self.digits = Array(significant)
        self.exponent = digits.isEmpty ? 0 : exponent
    }

    var isZero: Bool { digits.isEmpty }

    /// True when the value is an integer: no nonzero digit after the decimal point.
    var isWhole: Bool { exponent >= 0 }

    /// The value as a 64-bit integer, exactly; nil when it is not whole or does not fit.
    var int64: Int64? {
        guard isWhole else { return nil }
        if isZero { return 0 }
        guard digits.count + exponent <= 19 else { return nil }
        let text = (negative ? "-" : "") + String(decoding: digits, as: UTF8.self) + String(repeating: "0", count: exponent)
        return Int64(text)
    }
}
