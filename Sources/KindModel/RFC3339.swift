public import Foundation

/// RFC 3339 timestamps and ISO dates, parsed by hand: `ISO8601DateFormatter` is slow, not
/// `Sendable`, and accepts forms (no time zone, week dates) that a timestamptz column would misread.
public enum RFC3339 {
    /// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: the instants a stored date-time can take.
    public static let earliest = Date(timeIntervalSince1970: -62_135_596_800)
    public static let endOfYear9999 = Date(timeIntervalSince1970: 253_402_300_800)

    /// Whether a date-time stays within years 0001–9999 once in UTC, by a rule simple enough to
    /// state in a JSON Schema pattern (`outsideYearsPattern`): on 0001-01-01 the offset must not be
    /// ahead of UTC, on 9999-12-31 not behind it. (An offset moves a time by less than a day, so
    /// every other day is safe.) A stored value outside those years cannot be returned as RFC 3339.
    public static func staysWithinYears(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count >= 16 else { return true }
        let day = String(decoding: b[0..<10], as: UTF8.self)
        guard day == "0001-01-01" || day == "9999-12-31" else { return true }
        let offset = b[(b.count - 6)...]
        let sign = offset.first!
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), Array(offset.dropFirst()) != Array("00:00".utf8) else { return true }
        return day == "0001-01-01" ? sign == UInt8(ascii: "-") : sign == UInt8(ascii: "+")
    }

    /// Matches exactly the RFC 3339 date-times that `staysWithinYears` refuses.
    public static let outsideYearsPattern =
        "^(?:0001-01-01.*\\+|9999-12-31.*-)(?:(?:0[1-9]|1[0-9]|2[0-3]):[0-5][0-9]|00:(?:0[1-9]|[1-5][0-9]))$"

    /// Parses `2026-01-31T18:30:00Z`, `2026-01-31T18:30:00.123+02:00` (`t`, `z` and a space separator also accepted).
    public static func parseDateTime(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20, isValidDate(String(decoding: b[0..<10], as: UTF8.self)) else { return nil }
        guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[10]),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let hour = number(b, 11, 2), let minute = number(b, 14, 2), let second = number(b, 17, 2),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, (0x30...0x39).contains(b[i]) {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            if i == start { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"),
                let oh = number(b, i + 1, 2), let om = number(b, i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromEpoch(year: number(b, 0, 4)!, month: number(b, 5, 2)!, day: number(b, 8, 2)!)
        let seconds = Double(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// `text` (a date-time `parseDateTime` accepts) as PostgreSQL can read it: upper-case `T`/`Z`,
    /// and, when its offset is beyond the ±15:59 PostgreSQL accepts (RFC 3339 allows up to ±23:59),
    /// the same instant in UTC, computed on integers so that the fraction's digits stay exact.
    public static func storable(_ text: String) -> String {
        let upper = text.uppercased()
        let b = Array(upper.utf8)
        guard b.count >= 25, b[b.count - 6] == UInt8(ascii: "+") || b[b.count - 6] == UInt8(ascii: "-"),
            let oh = number(b, b.count - 5, 2), let om = number(b, b.count - 2, 2), oh >= 16,
            let year = number(b, 0, 4), let month = number(b, 5, 2), let day = number(b, 8, 2),
            let hour = number(b, 11, 2), let minute = number(b, 14, 2)
        else { return upper }
        let sign = b[b.count - 6] == UInt8(ascii: "-") ? -1 : 1
        let local = daysFromEpoch(year: year, month: month, day: day) * 1440 + hour * 60 + minute
        let utc = local - sign * (oh * 60 + om)
        let days = utc >= 0 ? utc / 1440 : (utc - 1439) / 1440
        let (y, m, d) = civilFromDays(days)
        let minutes = utc - days * 1440
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let yyyy = String(repeating: "0", count: max(0, 4 - String(y).count)) + String(y)
        // Seconds and fraction as they were: an offset is whole minutes.
        let rest = String(decoding: b[16..<(b.count - 6)], as: UTF8.self)
        return "\(yyyy)-\(two(m))-\(two(d))T\(two(minutes / 60)):\(two(minutes % 60))\(rest)Z"
    }

    /// True for `YYYY-MM-DD` naming a real day in years 0001–9999.
    public static func isValidDate(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            let y = number(b, 0, 4), let m = number(b, 5, 2), let d = number(b, 8, 2),
            y >= 1, (1...12).contains(m), d >= 1
        else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return d <= lengths[m - 1]
    }

    /// Formats as `2026-01-31T18:30:00.123456Z` (UTC, microseconds like PostgreSQL).
    public static func format(_ date: Date) -> String {
        let total = date.timeIntervalSince1970
        var seconds = Int(total.rounded(.down))
        var micros = Int(((total - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            seconds += 1
            micros -= 1_000_000
        }
        var days = seconds / 86400
        var rem = seconds % 86400
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        let (y, m, d) = civilFromDays(days)
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem % 3600 / 60, 2)):\(pad(rem % 60, 2)).\(pad(micros, 6))Z"
    }

    private static func number(_ b: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start + count <= b.count else { return nil }
        var v = 0
        for i in start..<start + count {
            guard (0x30...0x39).contains(b[i]) else { return nil }
            v = v * 10 + Int(b[i] - 0x30)
        }
        return v
    }

    /// Howard Hinnant's days-from-civil algorithm.
    static func daysFromEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// (year, month, day) of a count of days since 1970-01-01 (H. Hinnant's civil-from-days).
    public static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
