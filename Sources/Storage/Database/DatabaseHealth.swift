public import Logging
public import PostgresNIO
import Synchronization

/// Whether PostgreSQL is known to be unreachable right now, as seen by a watcher that opens a
/// fresh connection for each probe.
///
/// Why: when the database goes away, PostgresNIO's pool keeps requests waiting while it retries
/// connecting, for up to 60 s before its circuit breaker fails them (not configurable through
/// `PostgresClient` 1.33). With this flag, record routes answer `503 database-unavailable` at once.
///
/// Built to fail open, because a flag stuck at "down" would turn a healthy server away:
/// - only the watcher sets it, and a verdict older than `staleAfter` counts for nothing, so a
///   stalled watcher leaves the server as it would be without one;
/// - each probe is a new connection (no state that a dead socket can wedge), awaited through a
///   continuation with its own deadline, so a connect or query that never returns cannot stall
///   the watcher;
/// - it uses no pooled connection, so a busy pool never makes a healthy database look down.
public final class DatabaseHealth: Sendable {
    private let reachable = Atomic<Bool>(true)
    /// When the last verdict was made, in nanoseconds of `ContinuousClock` since `start`.
    private let verdictAt = Atomic<Int64>(0)
    private let lastProblem = Mutex<String?>(nil)
    private let start = ContinuousClock.now
    /// How long a verdict counts.
    public let staleAfter: Duration

    public init(staleAfter: Duration = .seconds(5)) {
        self.staleAfter = staleAfter
    }

    /// True only while a recent probe failed; false when the last probe succeeded or is too old.
    public var isKnownDown: Bool {
        guard !reachable.load(ordering: .relaxed) else { return false }
        return nanos(start.duration(to: .now)) - verdictAt.load(ordering: .relaxed) < nanos(staleAfter)
    }

    /// Why the last failed probe failed.
    public var problem: String? { lastProblem.withLock { $0 } }

    /// Records a probe's verdict.
    public func record(reachable now: Bool, problem: String? = nil) {
        if !now { lastProblem.withLock { $0 = problem } }
        reachable.store(now, ordering: .relaxed)
        verdictAt.store(nanos(start.duration(to: .now)), ordering: .relaxed)
    }

    private func nanos(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    /// Probes every `interval` until the calling task is cancelled; each probe connects, runs
    /// `SELECT 1` and closes, within `timeout`.
    public func watch(
        _ configuration: PostgresConnection.Configuration, interval: Duration = .seconds(1),
        timeout: Duration = .seconds(2), logger: Logger
    ) async {
        var configuration = configuration
        configuration.options.connectTimeout = .seconds(timeout.components.seconds)
        var id = 0
        while !Task.isCancelled {
            id += 1
            let problem = await Self.probe(configuration, id: id, timeout: timeout, logger: logger)
            let wasReachable = reachable.load(ordering: .relaxed)
            if let problem, wasReachable { logger.warning("database unreachable", metadata: ["problem": "\(problem)"]) }
            if problem == nil, !wasReachable { logger.info("database reachable again") }
            record(reachable: problem == nil, problem: problem)
            try? await Task.sleep(for: interval)
        }
    }

    /// One probe: nil when the database answered within `timeout`, else why not. Never waits past
    /// `timeout`, whatever the connection does: the work runs in a task of its own, and whichever
    /// of it and the deadline comes first answers.
    public static func probe(_ configuration: PostgresConnection.Configuration, id: Int, timeout: Duration, logger: Logger) async -> String? {
        await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            let verdict = FirstVerdict(continuation)
            let work = Task {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
                    do {
                        try await connection.query("SELECT 1", logger: logger)
                        verdict.give(nil)
                    } catch {
                        verdict.give("SELECT 1 failed: " + ConnectFailure.explain(error))
                    }
                    try? await connection.close()
                } catch {
                    verdict.give(ConnectFailure.explain(error))
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                verdict.give("no answer within \(timeout): the host may be wrong, or PostgreSQL is overloaded or stopped")
                work.cancel()
            }
        }
    }
}

/// Resumes a probe's continuation with the first verdict given and ignores the later one.
private final class FirstVerdict: Sendable {
    private let continuation: Mutex<CheckedContinuation<String?, Never>?>

    init(_ continuation: CheckedContinuation<String?, Never>) {
        self.continuation = Mutex(continuation)
    }

    func give(_ verdict: String?) {
        let pending = continuation.withLock { stored in
            defer { stored = nil }
            return stored
        }
        pending?.resume(returning: verdict)
    }
}
