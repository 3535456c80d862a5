import AudioProbe
import Benchmark
import Foundation
import KindModel

// The repository root: this file is <root>/Benchmarks/Benchmarks/CoreBenchmarks/CoreBenchmarks.swift.
private let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url
}()

private func loadKinds() -> KindCatalog {
    do {
        return try KindLoader.load(directory: repositoryRoot.appendingPathComponent("kinds").path)
    } catch {
        fatalError("kinds/ does not load: \(error)")
    }
}

private func object(_ text: String) -> JSONObject {
    guard case .object(let o)? = try? JSONParser.parse(text) else { fatalError("not a JSON object: \(text)") }
    return o
}

/// A valid podcast with the maximum 10 participants.
private let validPodcastJSON = #"""
{"filetype":"podcast","name":"The Swift Server Show, episode 142","duration":3725,"host":"Ada Lovelace",
 "participants":["Grace Hopper","Alan Turing","Edsger Dijkstra","Barbara Liskov","Donald Knuth",
                 "Margaret Hamilton","Ken Thompson","Dennis Ritchie","John McCarthy","Frances Allen"]}
"""#

/// An invalid podcast: every field wrong, so every problem is collected (the 400 path).
private let invalidPodcastJSON = #"""
{"filetype":"podcast","name":"","duration":0,"host":12,"unknown":true,
 "participants":["a","b","c","d","e","f","g","h","i","j",""]}
"""#

/// Every fixture of Tests/AudioProbeTests/Fixtures that is meant to probe successfully.
private func audioFixtures() -> [(name: String, bytes: [UInt8])] {
    let folder = repositoryRoot.appendingPathComponent("Tests/AudioProbeTests/Fixtures")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.sorted()
        .filter { !$0.hasPrefix("bad_") && !$0.hasPrefix("not_audio") && !$0.hasSuffix(".json") }
        .compactMap { name in
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { return nil }
            return (name, [UInt8](data))
        }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    let catalog = loadKinds()
    guard let podcast = catalog.kind(named: "podcast") else { fatalError("kinds/ has no podcast kind") }
    let valid = object(validPodcastJSON)
    let invalid = object(invalidPodcastJSON)
    let now = Date()

    Benchmark("validate podcast (valid, 10 participants)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RecordValidator.validate(valid, kind: podcast, mode: .create, ignoring: ["filetype"], now: now))
        }
    }

    Benchmark("validate podcast (invalid, every field wrong)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RecordValidator.validate(invalid, kind: podcast, mode: .create, ignoring: ["filetype"], now: now))
        }
    }

    let validBytes = Array(validPodcastJSON.utf8)
    Benchmark("parse JSON + validate podcast (the create request body)") { benchmark in
        for _ in benchmark.scaledIterations {
            guard case .object(let o)? = try? JSONParser.parse(validBytes) else { fatalError("parse failed") }
            blackHole(RecordValidator.validate(o, kind: podcast, mode: .create, ignoring: ["filetype"], now: now))
        }
    }

    for fixture in audioFixtures() {
        let source = InMemoryByteSource(fixture.bytes)
        Benchmark("probe \(fixture.name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try AudioProbe.probe(source))
            }
        }
    }
}
