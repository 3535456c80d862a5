import Foundation
import KindModel
import Logging
import TestSupport
import Testing

@testable import Schema

/// Patterns are compiled by PostgreSQL too: what ICU accepts but PostgreSQL does not would make the
/// CHECK constraint refuse every write (it is accepted on an empty table).
@Suite struct PatternCheckTests {
    @Test func postgreSQLRefusesWhatOnlyICUCompiles() async throws {
        let catalog = try kinds(
            YAML.song(
                """
                tag: {type: string, pattern: "^\\\\p{L}+$"}
                code: {type: string, pattern: "^(?<letters>[A-Z]{2})[0-9]{3}$"}
                plain: {type: string, pattern: "^[a-z]+\\\\d{2}$"}
                names: {type: list, items: {type: string, pattern: "^a*+$"}}
                """))
        try await withFixture { f in
            let problems = try await TestDatabase.withClient(f.url) { client in
                try await PatternCheck.problems(in: catalog.kinds, on: client, logger: Logger(label: "test"))
            }
            #expect(problems.count == 3, "\(problems)")
            #expect(problems.contains { $0.hasPrefix("song.tag: pattern '^\\p{L}+$' is not a PostgreSQL regular expression") }, "\(problems)")
            #expect(problems.contains { $0.hasPrefix("song.code:") })
            #expect(problems.contains { $0.hasPrefix("song.names (items):") })
            #expect(!problems.contains { $0.hasPrefix("song.plain") })
        }
    }

    /// `migrate check` with a database reports them and exits 1.
    @Test(.enabled(if: AudioServerBinary.path != nil, "audio-server binary not built"))
    func migrateCheckReportsThem() async throws {
        let binary = try #require(AudioServerBinary.path)
        try await withFixture { f in
            let kindsDir = f.path + "/kinds"
            try FileManager.default.createDirectory(atPath: kindsDir, withIntermediateDirectories: true)
            try "name: tagged\nfields:\n  tag: {type: string, pattern: \"^\\\\p{L}+$\"}\n".write(
                toFile: kindsDir + "/tagged.yaml", atomically: true, encoding: .utf8)
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = "postgres://\(f.url.user)@\(f.url.host):\(f.url.port)/\(f.url.database)?sslmode=disable"
            environment["MIGRATIONS_DIR"] = f.path + "/migrations"
            environment["KINDS_DIR"] = kindsDir
            environment["LOG_LEVEL"] = "error"
            for command in ["generate", "check"] {
                do {
                    let output = try run(binary, ["migrate", command], environment: environment)
                    Issue.record("migrate \(command) succeeded: \(output)")
                } catch let error as ScriptError {
                    #expect(error.description.contains("exited 1"), "\(error)")
                    #expect(error.description.contains("tagged.tag: pattern '^\\p{L}+$' is not a PostgreSQL regular expression"), "\(error)")
                }
            }
            #expect(!FileManager.default.fileExists(atPath: f.path + "/migrations/0001_create_tagged.sql"), "generate wrote nothing")
        }
    }
}
