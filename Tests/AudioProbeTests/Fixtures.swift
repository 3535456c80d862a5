import Foundation

/// The files scripts/make-audio-fixtures.sh generated, and its manifest of what each good one is.
enum Fixtures {
    struct Expectation: Decodable, Sendable {
        let format: String
        let codec: String
        let duration: Double
        let sampleRate: Int
        let channels: Int
        let bitrate: Int?
    }

    static let directory: URL = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures resource directory is missing from the test bundle")
        }
        return url
    }()

    /// durations.json: file name → expectation, for every well-formed audio fixture.
    static let manifest: [String: Expectation] = {
        do {
            let data = try Data(contentsOf: directory.appendingPathComponent("durations.json"))
            return try JSONDecoder().decode([String: Expectation].self, from: data)
        } catch {
            fatalError("cannot read durations.json: \(error)")
        }
    }()

    /// Every fixture file except the manifest and the directory placeholder.
    static let allNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0 != "durations.json" && !$0.hasPrefix(".") }.sorted()
    }()

    static var audioNames: [String] { manifest.keys.sorted() }

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
    }
}
