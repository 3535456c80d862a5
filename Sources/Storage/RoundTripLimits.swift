/// How concurrent requests share database round trips (`RoundTripSharing`): the server's setting,
/// `--shared-round-trips` / `SHARED_ROUND_TRIPS`.
public struct RoundTripLimits: Sendable, Equatable {
    /// Statements of one shape running at once before further requests wait to share the next.
    public var maxRunning: Int
    /// Requests that one statement carries at most.
    public var maxBatch: Int
    /// false: every request runs its own statement, as a plain pool client would.
    public var isOn: Bool

    public init(maxRunning: Int, maxBatch: Int, isOn: Bool = true) {
        self.maxRunning = maxRunning
        self.maxBatch = maxBatch
        self.isOn = isOn
    }

    /// Measured on the benchmark (docs/performance.md).
    public static let standard = RoundTripLimits(maxRunning: 4, maxBatch: 64)
    public static let off = RoundTripLimits(maxRunning: 1, maxBatch: 1, isOn: false)
}
