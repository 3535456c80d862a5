import Foundation
import KindModel
import PostgresNIO
import TestSupport
import Testing

@testable import Schema

/// The runner's guarantees: each file once, in order, under a lock; edited or missing files refused.
@Suite struct RunnerTests {
    /// Writes three migrations (song; + jingle; + song.isrc) into the fixture.
    func threeMigrations(_ f: Fixture) throws {
        try f.generate(try kinds(YAML.song))
        try f.generate(try kinds(YAML.song, "name: jingle\nfields:\n  label: {type: text}\n"))
        try f.generate(try kinds(YAML.song("isrc: {type: string, max_length: 12}"), "name: jingle\nfields:\n  label: {type: text}\n"))
    }

    @Test func appliesInOrderOnceAndRecordsChecksums() async throws {
        try await withFixture { f in
            try threeMigrations(f)
            let files = try f.directory.files()
            #expect(try await f.runner { try await $0.pending() } == files.map(\.name))
            #expect(try await f.apply() == files.map(\.name))
            #expect(try await f.apply() == [], "a second run applies nothing")
            #expect(try await f.rows("SELECT name, checksum FROM audio_server.migrations ORDER BY name") == files.map { [$0.name, $0.checksum] })
            let status = try await f.runner { try await $0.status() }
            #expect(status.map(\.name) == files.map(\.name) && status.allSatisfy { $0.appliedAt != nil })
        }
    }

    @Test func editedAppliedFileIsRefused() async throws {
        try await withFixture { f in
            try f.generate(try kinds(YAML.song))
            try await f.apply()
            let file = try #require(try f.directory.files().first)
            try (file.text.replacingOccurrences(of: "\"duration\" bigint NOT NULL", with: "\"duration\" integer NOT NULL"))
                .write(toFile: file.path, atomically: true, encoding: .utf8)
            try f.generate(try kinds(YAML.song("isrc: {type: text}")))
            let error = await migrationError { try await f.apply() }
            guard case .edited(let name, let applied, let now)? = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(name == file.name && applied == file.checksum && now != applied)
            #expect(error?.description.contains("was edited after it was applied") == true)
            #expect(try await f.ledger() == [file.name], "the pending file was not applied either")
            let statusError = await migrationError { _ = try await f.runner { try await $0.status() } }
            if case .edited? = statusError {} else { Issue.record("status accepted the edit: \(String(describing: statusError))") }
        }
    }

    @Test func missingFilesAreRefused() async throws {
        try await withFixture { f in
            try threeMigrations(f)
            try await f.apply()
            let files = try f.directory.files()
            // An applied file deleted from the end of the sequence.
            try FileManager.default.removeItem(atPath: files[2].path)
            let error = await migrationError { try await f.apply() }
            guard case .missing(let name)? = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(name == files[2].name)
            // A gap in the middle of the sequence.
            try FileManager.default.removeItem(atPath: files[1].path)
            try files[2].text.write(toFile: files[2].path, atomically: true, encoding: .utf8)
            let gap = await migrationError { try await f.apply() }
            guard case .directory(let e)? = gap else {
                Issue.record("\(String(describing: gap))")
                return
            }
            #expect(e.description.contains("expected migration number 0002"))
        }
    }

    @Test func pendingFileBeforeAnAppliedOneIsRefused() async throws {
        try await withFixture { f in
            try threeMigrations(f)
            let files = try f.directory.files()
            // Apply 0001 and 0003 by hand-editing the ledger as if 0002 had arrived later from another branch.
            try await f.apply()
            try await f.execute("DELETE FROM audio_server.migrations WHERE name = '\(files[1].name)'")
            let error = await migrationError { try await f.apply() }
            guard case .outOfOrder(let file, let later)? = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(file == files[1].name && later == files[2].name)
        }
    }

    @Test func concurrentRunnersApplyEachFileOnce() async throws {
        try await withFixture { f in
            try threeMigrations(f)
            let directory = f.directory
            let url = f.url
            // Several independent clients (like several servers starting at once).
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await TestDatabase.withClient(url) { client in
                            try await MigrationRunner(client: client, directory: directory, logger: quietLogger).apply()
                        }
                    }
                }
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }
            let names = try directory.files().map(\.name)
            #expect(results.flatMap { $0 }.sorted() == names, "every file applied by exactly one runner: \(results)")
            #expect(try await f.ledger() == names)
            #expect(try await f.column("SELECT count(*)::text FROM pg_class WHERE relname IN ('song', 'jingle')") == ["2"])
        }
    }

    /// Two `audio-server migrate apply` processes at once, when the binary is built
    /// (`swift build --build-tests` builds it next to the test bundle).
    @Test(.enabled(if: AudioServerBinary.path != nil, "audio-server binary not built"))
    func concurrentProcessesApplyEachFileOnce() async throws {
        let binary = try #require(AudioServerBinary.path)
        try await withFixture { f in
            try threeMigrations(f)
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = "postgres://\(f.url.user)@\(f.url.host):\(f.url.port)/\(f.url.database)?sslmode=disable"
            environment["MIGRATIONS_DIR"] = f.path
            environment["LOG_LEVEL"] = "error"
            let env = environment
            let outputs = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<2 {
                    group.addTask { try run(binary, ["migrate", "apply"], environment: env) }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let names = try f.directory.files().map(\.name)
            let applied = outputs.flatMap { out in names.filter { out.contains($0) } }
            #expect(applied.sorted() == names, "\(outputs)")
            #expect(outputs.contains { $0.contains("Database is up to date.") } || outputs.allSatisfy { $0.contains("Applied:") })
            #expect(try await f.ledger() == names)
        }
    }

    @Test func dryRunCountsWithoutChangingAnything() async throws {
        try await withFixture { f in
            try await f.migrate(try kinds(YAML.song))
            try await f.execute(MigrationDataTests.threeSongs)
            let file = try f.generate(
                try kinds(
                    YAML.song(
                        "isrc: {type: string, max_length: 12, unique: true}",
                        name: "title: {type: string, required: true, min_length: 2, max_length: 10, renamed_from: name}")))
            let before = try await f.catalog()
            let report = try await f.runner { try await $0.dryRun() }
            #expect(report.files == [file.name])
            #expect(!report.wouldSucceed)
            let failing = report.checks.filter { !$0.passes }
            #expect(
                failing.map(\.violations) == [
                    RuleViolations(table: "song", rule: "song_title_min_length", count: 1, sampleIDs: [3]),
                    RuleViolations(table: "song", rule: "song_title_max_length", count: 1, sampleIDs: [2]),
                ], "a failing step is skipped so that later steps are still checked")
            #expect(failing[1].step.contains("add constraint song_title_max_length on 'song'"))
            #expect(report.checks.contains { $0.passes && $0.violations.rule == "song_isrc_unique" })
            #expect(try await f.catalog() == before, "nothing changed")
            #expect(try await f.ledger() == ["0001_initial"])
            // A migration not written yet can be checked too.
            try FileManager.default.removeItem(atPath: file.path)
            try FileManager.default.removeItem(atPath: f.path + "/" + file.name + ".kinds.json")
            let next = try f.directory.pendingPlan(
                for: try kinds(YAML.song(duration: "duration: {type: integer, required: true, min: 100, max: 2147483647}")))
            let extra = try await f.runner { try await $0.dryRun(extra: [(name: "next", text: next.fileText(name: "next"))]) }
            #expect(extra.checks.map(\.violations) == [RuleViolations(table: "song", rule: "song_duration_min", count: 1, sampleIDs: [3])])
        }
    }
}
