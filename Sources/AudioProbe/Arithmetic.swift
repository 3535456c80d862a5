/// Checked arithmetic for values derived from untrusted header fields, which must never trap.
extension Int64 {
    /// `self + other`, or nil on overflow.
    func adding(_ other: Int64) -> Int64? {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? nil : sum
    }
}

extension Int {
    /// The rounded value of `value`, or nil when it is not finite or does not fit.
    init?(roundingChecked value: Double) {
        let rounded = value.rounded()
        guard rounded.isFinite, abs(rounded) < 9.0e18 else { return nil }
        self.init(rounded)
    }
}

/// A bitrate derived from a payload size and a duration, for containers that do not state one.
func derivedBitrate(bytes: Int64, seconds: Double) -> Int? {
    guard bytes > 0, seconds > 0 else { return nil }
    return Int(roundingChecked: Double(bytes) * 8 / seconds)
}
