import AudioProbe
import Foundation
import Testing

/// Deterministic mutation fuzzing: damaged headers and tails must produce an ``AudioProbeError``
/// or a sane result — never a crash, a hang or some other error.
@Suite("Mutated fixtures")
struct FuzzTests {
    static let casesPerBase = 250
    static let seed: UInt64 = 0x00A0_D10F_1E55

    @Test("thousands of mutated fixtures probe to a result or an AudioProbeError, in bounded time")
    func mutations() async throws {
        var results = 0
        var errors = 0
        // Yields between batches: a test that holds one of the two cooperative threads for
        // seconds delays every timer of the tests running beside it (their deadlines then fail).
        // Only the probing is timed, as the CPU time of the thread doing it: wall time counted
        // every moment the full suite's other 450 tests and servers had the 2 cores (3.8 s alone
        // became 32 s in the suite on 2026-12-06), which says nothing about a hang in the prober.
        var elapsed: Duration = .zero
        for (fixtureIndex, name) in Fixtures.allNames.enumerated() {
            let original = try Fixtures.bytes(name)
            // Base 0: only the first 4 KiB, as an upload cut short would be. Base 1: the whole
            // file, mutated only in its first and last 4 KiB, where headers, Ogg final pages,
            // moov boxes, FLAC last frames and trailing tags live.
            for base in 0..<2 {
                await Task.yield()
                elapsed += Self.threadCPUTime {
                    for caseIndex in 0..<Self.casesPerBase {
                        let caseSeed = Self.seed ^ UInt64(fixtureIndex << 32 | base << 24 | caseIndex)
                        var generator = SplitMix64(seed: caseSeed)
                        let bytes = Self.mutate(base == 0 ? Array(original.prefix(4096)) : original, using: &generator)
                        do {
                            let result = try AudioProbe.probe(InMemoryByteSource(bytes))
                            Self.checkSane(result, name: name, seed: caseSeed)
                            results += 1
                        } catch is AudioProbeError {
                            errors += 1
                        } catch {
                            Issue.record("\(name), case seed \(caseSeed): unexpected error \(error)")
                        }
                    }
                }
            }
        }
        #expect(results + errors == Fixtures.allNames.count * 2 * Self.casesPerBase)
        // Both outcomes must be common, or the mutations are too weak (or too destructive) to test anything.
        #expect(results > 1000 && errors > 1000, "\(results) results, \(errors) errors")
        #expect(elapsed < .seconds(30), "took \(elapsed)")
    }

    /// The CPU time the current thread spends in `body` (which must not suspend).
    static func threadCPUTime(_ body: () -> Void) -> Duration {
        func now() -> Duration {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
        }
        let start = now()
        body()
        return now() - start
    }

    @Test("huge length values written over each of the first 256 bytes never crash, hang or give an insane result")
    func hugeLengthFields() async throws {
        let huge: [[UInt8]] = [[0xFF, 0xFF, 0xFF, 0xFF], [0x7F, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0], [0, 0, 0, 1]]
        for name in Fixtures.audioNames {
            let original = try Fixtures.bytes(name)
            for offset in stride(from: 0, to: min(256, original.count - 4), by: 1) {
                if offset % 16 == 0 { await Task.yield() }
                for value in huge {
                    var bytes = original
                    bytes.replaceSubrange(offset..<offset + 4, with: value)
                    do {
                        Self.checkSane(try AudioProbe.probe(InMemoryByteSource(bytes)), name: name, seed: UInt64(offset))
                    } catch is AudioProbeError {
                        continue
                    }
                }
            }
        }
    }

    private static func checkSane(_ result: AudioProbeResult, name: String, seed: UInt64) {
        let sane =
            result.durationSeconds.isFinite && result.durationSeconds >= 0
            && (result.sampleRate ?? 1) > 0 && (result.channels ?? 1) > 0 && (result.bitrate ?? 0) >= 0
        #expect(sane, "\(name), case seed \(seed): \(result)")
    }

    /// One to four mutations, each at a random spot in the first or last 4 KiB.
    static func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            guard !bytes.isEmpty else { break }
            let region = Bool.random(using: &generator) ? 0..<min(4096, bytes.count) : max(0, bytes.count - 4096)..<bytes.count
            let position = Int.random(in: region, using: &generator)
            switch Int.random(in: 0..<8, using: &generator) {
            case 0: bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 1: bytes[position] = 0x00
            case 2: bytes[position] = 0xFF
            case 3, 4:  // a length field of a huge value, in either byte order
                let values: [UInt64] = [0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0x0100_0000, 1, 0]
                let value = values.randomElement(using: &generator)!
                let width = [2, 3, 4, 8].randomElement(using: &generator)!
                let field = (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
                let end = min(bytes.count, position + width)
                bytes.replaceSubrange(position..<end, with: Bool.random(using: &generator) ? field : field.reversed())
            case 5: bytes.removeSubrange(position...)  // truncate
            case 6:
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...16, using: &generator)).map { _ in
                        UInt8.random(in: 0...255, using: &generator)
                    }, at: position)  // insert junk
            default: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...64, using: &generator)))
            }
        }
        return bytes
    }
}
