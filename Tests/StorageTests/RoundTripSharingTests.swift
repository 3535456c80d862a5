import Synchronization
import Testing

@testable import Storage

/// The batching rules of `RoundTripSharing`, with a fake statement whose timing the test controls.
@Suite struct RoundTripSharingTests {
    /// Records each batch the fake statement gets; the first batch waits until `release` is called.
    final class FakeStatement: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let firstStarted = Mutex<CheckedContinuation<Void, Never>?>(nil)

        func run(_ inputs: [Int]) async throws -> [Int] {
            let isFirst = batches.withLock {
                $0.append(inputs)
                return $0.count == 1
            }
            if isFirst {
                await withCheckedContinuation { c in
                    gate.withLock { $0 = c }
                    firstStarted.withLock {
                        $0?.resume()
                        $0 = nil
                    }
                }
            }
            if inputs.contains(-1) { throw FakeFailure() }
            return inputs.map { $0 * 10 }
        }

        func waitUntilFirstStarted() async {
            await withCheckedContinuation { c in
                let started = gate.withLock { $0 != nil }
                if started { c.resume() } else { firstStarted.withLock { $0 = c } }
            }
        }

        func release() {
            gate.withLock {
                $0?.resume()
                $0 = nil
            }
        }
    }

    struct FakeFailure: Error {}

    /// Submits `n` to `lane` and expects the fake statements' answer for it, `n × 10`.
    func expectOutput(
        of n: Int, from sharing: RoundTripSharing<Int, Int>, lane: String = "x", run: @escaping @Sendable ([Int]) async throws -> [Int],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let output = try await sharing.submit(n, lane: lane, run: run)
        #expect(output == n * 10, sourceLocation: sourceLocation)
    }

    /// Requests that arrive while the only slot is busy wait, and go together in the next statement:
    /// none joins the statement already running (it may have read before they were sent).
    @Test func waitingRequestsShareTheNextStatementNotTheRunningOne() async throws {
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 1, maxBatch: 64)
        let fake = FakeStatement()
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask { (0, try await sharing.submit(0, lane: "x", run: fake.run)) }
            await fake.waitUntilFirstStarted()
            for n in 1...20 { group.addTask { (n, try await sharing.submit(n, lane: "x", run: fake.run)) } }
            // Let the 20 requests queue behind the running statement before it finishes.
            try await Task.sleep(for: .milliseconds(200))
            fake.release()
            for try await (n, output) in group { #expect(output == n * 10) }
        }
        let batches = fake.batches.withLock { $0 }
        #expect(batches.first == [0])
        #expect(batches.count == 2)
        #expect(Set(batches.dropFirst().flatMap { $0 }) == Set(1...20))
    }

    /// A request with a free slot runs at once and alone; requests of another lane never wait for it.
    @Test func freeSlotsAndOtherLanesDoNotWait() async throws {
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 1, maxBatch: 64)
        let fake = FakeStatement()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await expectOutput(of: 1, from: sharing, lane: "a", run: fake.run) }
            await fake.waitUntilFirstStarted()
            // Lane "a" is busy; lane "b" is not.
            #expect(try await sharing.submit(2, lane: "b", run: fake.run) == 20)
            fake.release()
            try await group.waitForAll()
        }
        #expect(fake.batches.withLock { $0 } == [[1], [2]])
    }

    /// `maxBatch` caps a statement's requests; the rest go in the statement after.
    @Test func batchesAreCapped() async throws {
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 1, maxBatch: 4)
        let fake = FakeStatement()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await sharing.submit(0, lane: "x", run: fake.run) }
            await fake.waitUntilFirstStarted()
            for n in 1...10 {
                group.addTask { try await expectOutput(of: n, from: sharing, run: fake.run) }
            }
            try await Task.sleep(for: .milliseconds(200))
            fake.release()
            try await group.waitForAll()
        }
        let batches = fake.batches.withLock { $0 }
        #expect(batches.allSatisfy { $0.count <= 4 })
        #expect(Set(batches.flatMap { $0 }) == Set(0...10))
        #expect(batches.count == 4)  // [0], then 10 waiting in batches of 4, 4, 2
    }

    /// A failed statement fails exactly the requests it carried, and the lane keeps working.
    @Test func aFailureFailsItsBatchOnlyAndFreesTheSlot() async throws {
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 1, maxBatch: 64)
        let fake = FakeStatement()
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                let output = try await sharing.submit(0, lane: "x", run: fake.run)
                return output != 0
            }
            await fake.waitUntilFirstStarted()
            for n in [-1, 5, 6] {
                group.addTask {
                    do {
                        _ = try await sharing.submit(n, lane: "x", run: fake.run)
                        return false
                    } catch is FakeFailure { return true }
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            fake.release()
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 3)
        // Not stuck: the slot was given back.
        #expect(try await sharing.submit(7, lane: "x", run: fake.run) == 70)
    }

    /// `SHARED_ROUND_TRIPS` / `--shared-round-trips`.
    @Test func limitsSetting() {
        let standard = RoundTripLimits.standard
        #expect(RoundTripLimits(setting: "off") == .off)
        #expect(RoundTripLimits(setting: " OFF ") == .off)
        #expect(RoundTripLimits(setting: "3") == RoundTripLimits(maxRunning: 3, maxBatch: standard.maxBatch, widenAfter: standard.widenAfter))
        #expect(RoundTripLimits(setting: "1, 16") == RoundTripLimits(maxRunning: 1, maxBatch: 16, widenAfter: standard.widenAfter))
        #expect(RoundTripLimits(setting: "2,64,0") == RoundTripLimits(maxRunning: 2, maxBatch: 64, widenAfter: .zero))
        #expect(RoundTripLimits(setting: "2, 64, 0.5") == RoundTripLimits(maxRunning: 2, maxBatch: 64, widenAfter: .microseconds(500)))
        #expect(RoundTripLimits(setting: "4,8,25") == RoundTripLimits(maxRunning: 4, maxBatch: 8, widenAfter: .milliseconds(25)))
        for bad in ["", "0", "2,0", "1001", "2,1001", "2,", ",2", "on", "-1", "2,64,", "2,64,-1", "2,64,x", "2,64,10001", "2,64,nan", "1,2,3,4"] {
            #expect(RoundTripLimits(setting: bad) == nil, "\(bad)")
        }
    }

    /// Waits up to 5 s until `count` requests of `lane` are waiting; a test failure if they do not.
    func waitUntilWaiting(
        _ count: Int, in sharing: RoundTripSharing<Int, Int>, lane: String = "x", sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while sharing.waitingCount(lane: lane) < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(sharing.waitingCount(lane: lane) == count, "waiting", sourceLocation: sourceLocation)
    }

    /// A fast statement runs alone: a request arriving before the lane's statement has run
    /// `widenAfter` waits for the next one even though a second slot is free.
    @Test func aSecondStatementWaitsUntilTheFirstHasRunWidenAfter() async throws {
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 2, maxBatch: 64, widenAfter: .seconds(30))
        let fake = FakeStatement()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await expectOutput(of: 0, from: sharing, run: fake.run) }
            await fake.waitUntilFirstStarted()
            for n in 1...3 {
                group.addTask { try await expectOutput(of: n, from: sharing, run: fake.run) }
            }
            // All three queued (rather than one starting a second statement beside the first).
            try await waitUntilWaiting(3, in: sharing)
            #expect(fake.batches.withLock { $0 } == [[0]], "a second statement started beside a fresh one")
            fake.release()
            try await group.waitForAll()
        }
        let batches = fake.batches.withLock { $0 }
        #expect(batches.count == 2)
        #expect(Set(batches[1]) == [1, 2, 3])
    }

    /// A statement per batch that runs until the test releases it, batch by batch (by first input).
    final class HeldStatements: Sendable {
        let started = Mutex<Set<Int>>([])
        /// Batches waiting, by first input; and inputs released before their batch started.
        let gates = Mutex<(waiting: [Int: CheckedContinuation<Void, Never>], released: Set<Int>)>(([:], []))

        func run(_ inputs: [Int]) async throws -> [Int] {
            await withCheckedContinuation { c in
                started.withLock { $0.formUnion(inputs) }
                let goNow = gates.withLock {
                    if $0.released.contains(inputs[0]) { return true }
                    $0.waiting[inputs[0]] = c
                    return false
                }
                if goNow { c.resume() }
            }
            return inputs.map { $0 * 10 }
        }

        func hasStarted(_ n: Int) -> Bool { started.withLock { $0.contains(n) } }

        /// Waits up to 5 s for `n`'s statement to start; a test failure if it does not.
        func waitUntilStarted(_ n: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let deadline = ContinuousClock.now + .seconds(5)
            while !hasStarted(n), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
            #expect(hasStarted(n), "\(n) did not start", sourceLocation: sourceLocation)
        }

        func release(_ n: Int) {
            gates.withLock {
                $0.released.insert(n)
                return $0.waiting.removeValue(forKey: n)
            }?.resume()
        }
    }

    /// A lane whose statements take longer than `widenAfter` gets its further slots at once: sharing
    /// saves little there, and another statement keeps another core busy.
    @Test func aSlowShapeGetsItsFurtherSlotsAtOnce() async throws {
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 3, maxBatch: 64, widenAfter: .milliseconds(50))
        let held = HeldStatements()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await sharing.submit(0, lane: "x", run: held.run) }
            try await held.waitUntilStarted(0)
            try await Task.sleep(for: .milliseconds(80))
            // 0 has run past widenAfter, so 1 starts beside it and keeps the lane open.
            group.addTask { _ = try await sharing.submit(1, lane: "x", run: held.run) }
            try await held.waitUntilStarted(1)
            held.release(0)  // took 80 ms or more: the lane is slow now
            try await Task.sleep(for: .milliseconds(20))
            group.addTask { _ = try await sharing.submit(2, lane: "x", run: held.run) }
            try await held.waitUntilStarted(2)
            // 2 has just started; in a fast lane 3 would wait for the next statement.
            group.addTask { _ = try await sharing.submit(3, lane: "x", run: held.run) }
            try await held.waitUntilStarted(3)  // a request of a slow lane must not wait while a slot is free
            for n in 0...3 { held.release(n) }
            try await group.waitForAll()
        }
    }

    /// A slow statement does not hold up its lane: once it has run `widenAfter`, the next request
    /// starts a second statement at once and takes those that were waiting along, while the slow
    /// one is still running (as a statement stuck on a lock would be).
    @Test func aRequestAfterWidenAfterStartsBesideASlowStatementWithTheWaitingOnes() async throws {
        // Long enough that 1 queues well within it even on a loaded machine.
        let widenAfter = Duration.seconds(1)
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 2, maxBatch: 64, widenAfter: widenAfter)
        let fake = FakeStatement()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await expectOutput(of: 0, from: sharing, run: fake.run) }
            await fake.waitUntilFirstStarted()
            let started = ContinuousClock.now
            group.addTask { try await expectOutput(of: 1, from: sharing, run: fake.run) }
            try await waitUntilWaiting(1, in: sharing)
            #expect(ContinuousClock.now - started < widenAfter, "1 queued too late for this test to mean anything")
            try await Task.sleep(until: started + widenAfter + .milliseconds(100))
            // The slow statement is still running; this request and the waiting one go now.
            #expect(try await sharing.submit(2, lane: "x", run: fake.run) == 20)
            #expect(fake.batches.withLock { $0 } == [[0], [2, 1]])
            fake.release()
            try await group.waitForAll()
        }
    }

    /// A statement that answers for fewer requests than it carried fails every request it carried
    /// (none gets another's answer), and the slot is given back.
    @Test func aShortAnswerFailsTheWholeBatch() async throws {
        let sharing = RoundTripSharing<Int, Int>(maxRunning: 1, maxBatch: 64)
        let fake = FakeStatement()
        let short: @Sendable ([Int]) async throws -> [Int] = { inputs in Array(try await fake.run(inputs).dropLast()) }
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try? await sharing.submit(0, lane: "x", run: short)
                return false
            }
            await fake.waitUntilFirstStarted()
            for n in 1...5 {
                group.addTask {
                    do {
                        _ = try await sharing.submit(n, lane: "x", run: short)
                        return false
                    } catch { return "\(error)".contains("returned 4 results for 5 requests") }
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            fake.release()
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 5)
        #expect(try await sharing.submit(7, lane: "x", run: fake.run) == 70)
    }
}
