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
            group.addTask {
                let output = try await sharing.submit(1, lane: "a", run: fake.run)
                #expect(output == 10)
            }
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
                group.addTask {
                    let output = try await sharing.submit(n, lane: "x", run: fake.run)
                    #expect(output == n * 10)
                }
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
        #expect(RoundTripLimits(setting: "off") == .off)
        #expect(RoundTripLimits(setting: " OFF ") == .off)
        #expect(RoundTripLimits(setting: "3") == RoundTripLimits(maxRunning: 3, maxBatch: RoundTripLimits.standard.maxBatch))
        #expect(RoundTripLimits(setting: "1, 16") == RoundTripLimits(maxRunning: 1, maxBatch: 16))
        for bad in ["", "0", "2,0", "1001", "2,1001", "2,", ",2", "on", "2,3,4", "-1"] {
            #expect(RoundTripLimits(setting: bad) == nil, "\(bad)")
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
