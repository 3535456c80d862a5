import KindModel

/// PostgreSQL's binary timestamps and dates as the text the API uses: RFC 3339 in UTC with six
/// fractional digits (`2026-11-26T20:51:53.123456Z`) and ISO dates (`2026-11-26`).
///
/// The timestamp text is byte for byte what `to_char(t AT TIME ZONE 'UTC',
/// 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` gives (`KindQueries.version`), because a record's
/// version — its ETag — is compared with that expression in SQL by `If-Match`.
enum TimestampText {
    /// Days from 1970-01-01 (`RFC3339.civilFromDays`' epoch) to 2000-01-01 (PostgreSQL's).
    private static let epochShift: Int64 = 10_957

    static func write(micros: Int64, into out: inout [UInt8]) {
        if micros == .max {
            out.append(contentsOf: "infinity".utf8)
            return
        }
        if micros == .min {
            out.append(contentsOf: "-infinity".utf8)
            return
        }
        let perDay: Int64 = 86_400_000_000
        var days = micros / perDay
        var rest = micros % perDay
        if rest < 0 {
            rest += perDay
            days -= 1
        }
        writeDate(days: days, into: &out)
        // The time of day is always 16 bytes: fill them in place and append once (a list page
        // writes three timestamps per record; appending digit by digit checked uniqueness each time).
        let seconds = rest / 1_000_000
        var time: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &time) { t in
            func put(_ value: Int64, _ width: Int, at offset: Int) {
                var v = value
                for i in stride(from: offset + width - 1, through: offset, by: -1) {
                    t[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                }
            }
            t[0] = UInt8(ascii: "T")
            put(seconds / 3600, 2, at: 1)
            t[3] = UInt8(ascii: ":")
            put(seconds / 60 % 60, 2, at: 4)
            t[6] = UInt8(ascii: ":")
            put(seconds % 60, 2, at: 7)
            t[9] = UInt8(ascii: ".")
            put(rest % 1_000_000, 6, at: 10)
        }
        withUnsafeBytes(of: &time) { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "Z"))
    }

    static func write(days: Int32, into out: inout [UInt8]) {
        if days == .max {
            out.append(contentsOf: "infinity".utf8)
            return
        }
        if days == .min {
            out.append(contentsOf: "-infinity".utf8)
            return
        }
        writeDate(days: Int64(days), into: &out)
    }

    /// The date of a day count from 2000-01-01.
    private static func writeDate(days: Int64, into out: inout [UInt8]) {
        let (year, month, day) = RFC3339.civilFromDays(Int(days + epochShift))
        if year < 0 { out.append(UInt8(ascii: "-")) }
        pad(Int64(abs(year)), 4, &out)
        out.append(UInt8(ascii: "-"))
        pad(Int64(month), 2, &out)
        out.append(UInt8(ascii: "-"))
        pad(Int64(day), 2, &out)
    }

    /// `value` (≥ 0) in decimal, zero-padded to at least `width` digits, without allocating.
    ///
    /// Digits are appended most significant first (no write-back into `out`, which costs a
    /// uniqueness check per digit); a list page writes about 20 of these per record.
    private static func pad(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var divisor: Int64 = 1
        var digits = 1
        while digits < width || value / divisor >= 10 {
            divisor *= 10
            digits += 1
        }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
