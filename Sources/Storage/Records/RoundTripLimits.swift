import Foundation

/// How concurrent requests share database round trips (`RoundTripSharing`): the server's setting,
/// `--shared-round-trips` / `SHARED_ROUND_TRIPS`.
public struct RoundTripLimits: Sendable, Equatable {
    /// Statements of one shape running at once before further requests wait to share the next.
    public var maxRunning: Int
    /// Requests that one statement carries at most.
    public var maxBatch: Int
    /// How long a shape's newest statement runs before a further one may start beside it; zero:
    /// whenever fewer than `maxRunning` run.
    public var widenAfter: Duration
    /// false: every request runs its own statement, as a plain pool client would.
    public var isOn: Bool

    public init(maxRunning: Int, maxBatch: Int, widenAfter: Duration = .zero, isOn: Bool = true) {
        self.maxRunning = maxRunning
        self.maxBatch = maxBatch
        self.widenAfter = widenAfter
        self.isOn = isOn
    }

    /// Reads the setting's text: `off`, `RUNNING`, `RUNNING,BATCH` (both 1–1000) or
    /// `RUNNING,BATCH,WIDEN_AFTER_MS` (0–10000 milliseconds, decimals allowed); nil if it is none of those.
    public init?(setting text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "off" {
            self = .off
            return
        }
        let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...3).contains(fields.count), let running = Int(fields[0]), (1...1000).contains(running) else { return nil }
        let batch = fields.count >= 2 ? Int(fields[1]) : Self.standard.maxBatch
        guard let batch, (1...1000).contains(batch) else { return nil }
        // Without a third field, the standard delay; 0 opens a slot as soon as one is free.
        var widenAfter = Self.standard.widenAfter
        if fields.count == 3 {
            guard let milliseconds = Double(fields[2]), milliseconds.isFinite, (0...10_000).contains(milliseconds) else { return nil }
            widenAfter = .microseconds(Int64((milliseconds * 1000).rounded()))
        }
        self.init(maxRunning: running, maxBatch: batch, widenAfter: widenAfter)
    }

    /// A lane set with these limits, or nil when sharing is off.
    func makeSharing<Input: Sendable, Output: Sendable>() -> RoundTripSharing<Input, Output>? {
        isOn ? RoundTripSharing(maxRunning: maxRunning, maxBatch: maxBatch, widenAfter: widenAfter) : nil
    }

    /// Measured on the benchmark (docs/performance.md). Widening after 3 ms rather than 1: on a
    /// loaded 2-core machine a batch of creates takes 1–3 ms end to end, and a second statement
    /// beside it split the batch and paid PostgreSQL's per-statement cost twice ("Session 23").
    public static let standard = RoundTripLimits(maxRunning: 2, maxBatch: 64, widenAfter: .milliseconds(3))
    public static let off = RoundTripLimits(maxRunning: 1, maxBatch: 1, isOn: false)
}
