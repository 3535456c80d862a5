/// PostgreSQL's binary timestamps and dates as the text the API uses: RFC 3339 in UTC with six
/// fractional digits (`2026-11-26T20:51:53.123456Z`) and ISO dates (`2026-11-26`).
///
/// The timestamp text is byte for byte what `to_char(t AT TIME ZONE 'UTC',
/// 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` gives (`KindQueries.versionExpression`), because a record's
/// version — its ETag — is compared with that expression in SQL by `If-Match`.
enum TimestampText {
    /// Days from 0000-03-01 to 2000-01-01 in the proleptic Gregorian calendar.
    private static let epochShift: Int64 = 730_425

    static func write(micros: Int64, into out: inout [UInt8]) {
        if micros == .max { out.append(contentsOf: "infinity".utf8); return }
        if micros == .min { out.append(contentsOf: "-infinity".utf8); return }
        let perDay: Int64 = 86_400_000_000
        var days = micros / perDay
        var rest = micros % perDay
        if rest < 0 { rest += perDay; days -= 1 }
        writeDate(days: days, into: &out)
        out.append(UInt8(ascii: "T"))
        let seconds = rest / 1_000_000
        pad(seconds / 3600, 2, &out)
        out.append(UInt8(ascii: ":"))
        pad(seconds / 60 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        pad(seconds % 60, 2, &out)
        out.append(UInt8(ascii: "."))
        pad(rest % 1_000_000, 6, &out)
        out.append(UInt8(ascii: "Z"))
    }

    static func write(days: Int32, into out: inout [UInt8]) {
        if days == .max { out.append(contentsOf: "infinity".utf8); return }
        if days == .min { out.append(contentsOf: "-infinity".utf8); return }
        writeDate(days: Int64(days), into: &out)
    }

    /// The version text of a timestamp, as a String (for ETags).
    static func string(micros: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(27)
        write(micros: micros, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Civil date of a day count from 2000-01-01 (H. Hinnant's `civil_from_days`, shifted).
    private static func writeDate(days: Int64, into out: inout [UInt8]) {
        let z = days + epochShift
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        if year < 0 { out.append(UInt8(ascii: "-")) }
        pad(abs(year), 4, &out)
        out.append(UInt8(ascii: "-"))
        pad(month, 2, &out)
        out.append(UInt8(ascii: "-"))
        pad(day, 2, &out)
    }

    /// `value` (≥ 0) in decimal, zero-padded to at least `width` digits, without allocating.
    private static func pad(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var count = 1
        var t = value / 10
        while t > 0 { count += 1; t /= 10 }
        let n = max(count, width)
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n))
        var v = value
        var i = start + n - 1
        while v > 0 {
            out[i] = UInt8(ascii: "0") &+ UInt8(v % 10)
            v /= 10
            i -= 1
        }
    }
}
