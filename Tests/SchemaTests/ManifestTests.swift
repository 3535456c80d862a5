import Foundation
import KindModel
import TestSupport
import Testing

@testable import Schema

/// Generated migrations are applied from their manifest (steps as data); the SQL reader is kept for
/// files written or edited by hand. Both must agree on a generated file.
@Suite struct ManifestTests {
    /// A change with every data-dependent statement shape: a new rule (NOT VALID + VALIDATE), a
    /// unique field, a field made required (guard + SET NOT NULL), and a guarded type change.
    static let before = YAML.song("isrc: {type: string, max_length: 20}\nmood: {type: text}\nplays: {type: integer}")
    static let after = YAML.song(
        "isrc: {type: string, max_length: 20, unique: true}\nmood: {type: text, required: true, max_length: 10}\nplays: {type: number, min: 0}")

    @Test func aGeneratedFileHasAManifestThatAgreesWithItsSQL() async throws {
        try await withFixture { f in
            try await f.migrate(try kinds(Self.before))
            let file = try f.generate(try kinds(Self.after))
            let manifest = try #require(f.directory.manifest(named: file.name, matching: file.text), "manifest written beside \(file.name).sql")
            let fromManifest = manifest.steps.flatMap(\.statements)
            let fromSQL = MigrationRunner.stepGroups(MigrationRunner.statements(of: file.text)).flatMap(\.statements)
            #expect(fromManifest == fromSQL, "the SQL reader and the manifest see the same statements and probes")
            #expect(manifest.steps.map(\.summary) == MigrationRunner.stepGroups(MigrationRunner.statements(of: file.text)).compactMap(\.summary))
            let probes = fromManifest.compactMap(\.probe)
            #expect(probes.contains { if case .unique = $0 { true } else { false } })
            #expect(probes.contains { if case .notNull(_, "mood") = $0 { true } else { false } })
            #expect(probes.contains { if case .validate = $0 { true } else { false } })
            // Applied from the manifest: it succeeds on good rows, and counts the bad ones otherwise.
            try await f.execute("INSERT INTO song (name, duration, isrc, mood, plays) VALUES ('a', 1, 'x', 'calm', 3), ('b', 2, 'x', NULL, -1)")
            await #expect(throws: MigrationError.self) { try await f.apply() }
            let report = try await f.runner { try await $0.dryRun() }
            #expect(report.checks.filter { !$0.passes }.count >= 2, "\(report.checks)")
        }
    }

    /// A file edited after it was generated no longer matches its manifest: it is read from its SQL.
    @Test func anEditedFileIsReadFromItsSQL() async throws {
        try await withFixture { f in
            try await f.migrate(try kinds(Self.before))
            let file = try f.generate(try kinds(Self.after))
            let edited = file.text.replacingOccurrences(of: "COMMIT;", with: "ALTER TABLE \"song\" ALTER COLUMN \"plays\" SET NOT NULL;\nCOMMIT;")
            try edited.write(toFile: file.path, atomically: true, encoding: .utf8)
            #expect(f.directory.manifest(named: file.name, matching: edited) == nil)
            try await f.execute("INSERT INTO song (name, duration, isrc, mood, plays) VALUES ('a', 1, 'x', 'calm', NULL)")
            do {
                try await f.apply()
                Issue.record("the hand-added SET NOT NULL must fail on the NULL plays")
            } catch let error as MigrationError {
                #expect("\(error)".contains("plays"), "\(error)")
            }
        }
    }
}
