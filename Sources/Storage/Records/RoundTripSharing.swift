import Synchronization

/// Lets concurrent requests of one shape share a database round trip: while `maxRunning`
/// statements of a lane (one SQL shape, e.g. "song by id") are running, further requests of that
/// lane wait, and when one finishes, all that waited go to PostgreSQL together as one statement
/// (`WHERE id = ANY($1)`, a multi-row `INSERT`).
///
/// Why: on this 2-core machine a GET by id spent most of its CPU per round trip, not per row —
/// PostgreSQL's per-statement work (bind, executor start/stop, the network write) and
/// PostgresNIO's per-query path in the server (pool lease, state machine, async row stream).
/// Sharing the round trip divides that cost by the batch size. See docs/performance.md.
///
/// What it keeps:
/// - **No added latency when idle.** A request to a lane with nothing running runs at once,
///   alone; the others wait at most until a running statement of their lane finishes.
/// - **Read-your-writes.** A request never joins a statement that was already sent: every
///   statement starts after all its requests arrived, so it sees every write that committed
///   before any of them.
/// - **No shared failure from one request's cancellation.** A batch with other requests in it
///   runs in a task of its own, so a client that hangs up does not cancel its neighbours' query.
/// - **A second statement only for slow shapes** (`widenAfter`). A lane whose statements have
///   lately taken less than `widenAfter` (a GET by id, a create, a small page: well under a
///   millisecond) runs one statement at a time, and every request that arrives meanwhile shares
///   the next: fewer, fuller statements, which costs PostgreSQL and the server less per request.
///   A lane whose statements take longer (a page that reads many rows) gets its `maxRunning`
///   slots at once, as sharing one statement saves little there and the cores would sit idle.
///   And a statement that runs past `widenAfter` (one waiting on a lock) no longer holds up its
///   lane: the next request starts beside it and takes the waiting ones along.
///
/// The waiting request that is first in line runs the next batch itself (`Turn.lead`), so no
/// background task is needed and nothing outlives the requests.
final class RoundTripSharing<Input: Sendable, Output: Sendable>: Sendable {
    private struct Waiter: Sendable {
        let input: Input
        let continuation: UnsafeContinuation<Turn, any Error>
    }

    private enum Turn: Sendable {
        /// Another request's batch carried this one: here is its output.
        case done(Output)
        /// Run a batch of this request and `others` (they are waiting for it).
        case lead(others: [Waiter])
    }

    /// One statement shape's state. Changed in place in `lanes` (one lookup, no copy of its queue).
    private struct Lane {
        var running = 0
        var waiting: [Waiter] = []
        /// When the lane's newest statement started (nil when `widenAfter` is zero: never read).
        var lastStart: ContinuousClock.Instant?
        /// How long the lane's statements took lately (a moving average; nil before the first).
        var recent: Duration?

        var isIdle: Bool { running == 0 && waiting.isEmpty }

        /// Starts a statement for `waiter` and returns the waiting requests it takes along, or
        /// queues `waiter` and returns nil. `now` is nil when `widenAfter` is zero.
        mutating func admit(
            _ waiter: Waiter, at now: ContinuousClock.Instant?, maxRunning: Int, maxBatch: Int, widenAfter: Duration
        ) -> [Waiter]? {
            guard running == 0 || running < maxRunning && widens(at: now, after: widenAfter) else {
                waiting.append(waiter)
                return nil
            }
            running += 1
            lastStart = now
            return take(maxBatch - 1)
        }

        /// A statement that started at `started` ended at `now`: the next batch, its leader first,
        /// or nil when nobody waits (the lane has one statement fewer running).
        mutating func finish(started: ContinuousClock.Instant?, at now: ContinuousClock.Instant?, maxBatch: Int) -> [Waiter]? {
            if let started, let now {
                let took = now - started
                recent = recent.map { ($0 * 3 + took) / 4 } ?? took
            }
            guard !waiting.isEmpty else {
                running -= 1
                return nil
            }
            lastStart = now  // the next statement starts now
            return take(maxBatch)
        }

        /// Whether a further statement may start beside the running ones: always without a delay;
        /// with one, when the lane is slow or its newest statement has run that long.
        private func widens(at now: ContinuousClock.Instant?, after widenAfter: Duration) -> Bool {
            guard let now else { return true }
            return (recent ?? .zero) >= widenAfter || now - (lastStart ?? now) >= widenAfter
        }

        /// Up to `count` waiting requests, first come first, off the queue.
        private mutating func take(_ count: Int) -> [Waiter] {
            let taken = Array(waiting.prefix(count))
            waiting.removeFirst(taken.count)
            return taken
        }
    }

    enum Failure: Error, CustomStringConvertible {
        case outputCount(expected: Int, got: Int)
        var description: String {
            switch self {
            case .outputCount(let expected, let got): "a shared statement returned \(got) results for \(expected) requests"
            }
        }
    }

    private let lanes = Mutex<[String: Lane]>([:])
    private let statements = Atomic<Int>(0)
    /// Statements of one lane running at once; more requests wait for the next batch.
    let maxRunning: Int
    /// Requests one statement carries at most.
    let maxBatch: Int
    /// How long a lane's newest statement runs before another may start beside it.
    let widenAfter: Duration

    /// Statements run so far, of all lanes (fewer than requests when requests shared them).
    var statementsRun: Int { statements.load(ordering: .relaxed) }

    /// Requests of `lane` waiting for its next statement (for tests).
    func waitingCount(lane: String) -> Int { lanes.withLock { $0[lane]?.waiting.count ?? 0 } }

    init(maxRunning: Int, maxBatch: Int, widenAfter: Duration = .zero) {
        precondition(maxRunning >= 1 && maxBatch >= 1 && widenAfter >= .zero)
        self.maxRunning = maxRunning
        self.maxBatch = maxBatch
        self.widenAfter = widenAfter
    }

    /// Runs `input` through `run`, alone or in a batch with other requests of `lane`. `run` gets the
    /// inputs of a batch and returns one output per input, in the same order; every request of a
    /// lane must pass an equivalent `run` (the lane names the statement).
    func submit(_ input: Input, lane: String, run: @escaping @Sendable ([Input]) async throws -> [Output]) async throws -> Output {
        let turn: Turn = try await withUnsafeThrowingContinuation { continuation in
            let others: [Waiter]? = lanes.withLock { lanes in
                lanes[lane, default: Lane()].admit(
                    Waiter(input: input, continuation: continuation), at: clockReading(), maxRunning: maxRunning, maxBatch: maxBatch,
                    widenAfter: widenAfter)
            }
            if let others { continuation.resume(returning: .lead(others: others)) }
        }
        switch turn {
        case .done(let output):
            return output
        case .lead(let others):
            return try await lead(input, others: others, lane: lane, run: run)
        }
    }

    private func lead(
        _ input: Input, others: [Waiter], lane: String, run: @escaping @Sendable ([Input]) async throws -> [Output]
    ) async throws -> Output {
        let inputs = [input] + others.map(\.input)
        statements.add(1, ordering: .relaxed)
        let outputs: [Output]
        let started = clockReading()
        do {
            // Alone, the statement is this request's own; with others, it must not inherit this
            // request's cancellation.
            outputs = others.isEmpty ? try await run(inputs) : try await Task { try await run(inputs) }.value
            guard outputs.count == inputs.count else { throw Failure.outputCount(expected: inputs.count, got: outputs.count) }
        } catch {
            handOff(lane, started: started)
            for waiter in others { waiter.continuation.resume(throwing: error) }
            throw error
        }
        handOff(lane, started: started)
        for (waiter, output) in zip(others, outputs.dropFirst()) { waiter.continuation.resume(returning: .done(output)) }
        return outputs[0]
    }

    /// A statement of `lane` (started at `started`) finished: the first waiting request leads the
    /// next batch with up to `maxBatch - 1` more, or the lane has one statement fewer running.
    private func handOff(_ lane: String, started: ContinuousClock.Instant?) {
        let next: [Waiter]? = lanes.withLock { lanes in
            let next = lanes[lane]?.finish(started: started, at: clockReading(), maxBatch: maxBatch)
            if next == nil, lanes[lane]?.isIdle == true { lanes[lane] = nil }
            return next
        }
        if let next { next[0].continuation.resume(returning: .lead(others: Array(next.dropFirst()))) }
    }

    /// The time now, read only when `widenAfter` needs it.
    private func clockReading() -> ContinuousClock.Instant? { widenAfter > .zero ? .now : nil }
}

/// Each input through `body` on its own, one after another, each with its own outcome: a batch of
/// one, or what a batch falls back to when PostgreSQL rejects the shared statement for one
/// request's value, so that only that request gets the error.
func eachAlone<Input, Output>(_ inputs: [Input], _ body: (Input) async throws -> Output) async -> [Result<Output, any Error>] {
    var results: [Result<Output, any Error>] = []
    for input in inputs {
        do { results.append(.success(try await body(input))) } catch { results.append(.failure(error)) }
    }
    return results
}
