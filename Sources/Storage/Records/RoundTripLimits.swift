import Foundation

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

    /// Reads the setting's text: `off`, `RUNNING` or `RUNNING,BATCH`, both 1–1000; nil if it is none of those.
    public init?(setting text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "off" {
            self = .off
            return
        }
        let parts = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(parts.count), let running = parts[0], (1...1000).contains(running) else { return nil }
        let batch = parts.count == 2 ? parts[1] : Self.standard.maxBatch
        guard let batch, (1...1000).contains(batch) else { return nil }
        self.init(maxRunning: running, maxBatch: batch)
    }

    /// A lane set with these limits, or nil when sharing is off.
    func makeSharing<Input: Sendable, Output: Sendable>() -> RoundTripSharing<Input, Output>? {
        isOn ? RoundTripSharing(maxRunning: maxRunning, maxBatch: maxBatch) : nil
    }

    /// Measured on the benchmark (docs/performance.md).
    public static let standard = RoundTripLimits(maxRunning: 2, maxBatch: 64)
    public static let off = RoundTripLimits(maxRunning: 1, maxBatch: 1, isOn: false)
}
