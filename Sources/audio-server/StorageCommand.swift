import ArgumentParser
import Foundation
import KindModel
import Storage

/// `audio-server storage verify [--repair]`.
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Check stored audio files against their rows, or copy them to another backend.",
        subcommands: [Verify.self, Migrate.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report missing, orphaned and corrupted files (on disk or in object storage); exit non-zero on any. --repair removes orphans.")
        @OptionGroup var settings: Settings
        @OptionGroup var storage: StorageOptions
        @Flag(help: "Remove orphaned files and unfinished uploads (stop the server first, or pass --grace so uploads in progress are kept).")
        var repair = false
        @Flag(
            help:
                "Object storage: read every object back and compare its SHA-256 with the row (without it, sizes only). On disk files are always re-hashed."
        )
        var deep = false
        @Option(
            help:
                "Leave unfinished uploads (and objects, multipart uploads) younger than this many seconds alone (default 0: report and repair them all)."
        )
        var grace: Double = 0

        func run() async throws {
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            let kinds = try settings.loadKinds().kinds
            let resolved = try await storage.resolve()
            let root = resolved.localRoot
            let problems = try await withDatabase(url, logger: logger) { client in
                let records = RecordStore(client: client, logger: logger)
                if let objects = resolved.objects {
                    return try await ObjectStorageVerifier(records: records, store: objects).verify(kinds: kinds, deep: deep, grace: grace)
                }
                return try await StorageVerifier(records: records, files: FileStore(root: root)).verify(kinds: kinds, temporaryGrace: grace)
            }
            var remaining = problems
            if repair {
                let removed: [StorageMismatch]
                if let objects = resolved.objects {
                    removed = await ObjectStorageVerifier.repair(problems, in: objects)
                } else {
                    removed = StorageVerifier.repair(problems, in: FileStore(root: root))
                }
                for item in removed { print("removed \(item)") }
                remaining = problems.filter { !$0.isRepairable }
            }
            for problem in remaining { print(problem) }
            if remaining.isEmpty {
                print(problems.isEmpty ? "storage OK: every row's file is present and intact, no orphans" : "storage repaired")
            } else {
                printError(
                    "\(remaining.count) problem\(remaining.count == 1 ? "" : "s") found\(repair ? "" : "; --repair removes orphans, missing or corrupted files need re-uploading")"
                )
                throw ExitCode(1)
            }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Copy every record's file from the current STORAGE_URL to another, checking each copy's SHA-256; rerun to continue after an interruption."
        )
        @OptionGroup var settings: Settings
        @OptionGroup var storage: StorageOptions
        @Option(name: .customLong("to"), help: "The destination: file:///PATH or s3://BUCKET/PREFIX?… (credentials as for STORAGE_URL).")
        var destination: String
        @Option(help: "The journal of files already copied (default: .storage-migrate-<hash of --to>.journal in the current folder).")
        var journal: String?

        func run() async throws {
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            let kinds = try settings.loadKinds().kinds
            let source = try await storage.resolve()
            let resolvedTarget = try await StorageOptions.resolve(url: destination, directory: nil, staging: source.localRoot)
            let sourceBackend = source.backend
            let targetBackend = resolvedTarget.backend
            guard sourceBackend.description != targetBackend.description else {
                throw ValidationError("--to names the storage files are already in (\(sourceBackend.description))")
            }
            let journalPath = journal ?? ".storage-migrate-\(StorageOptions.shortHash(destination)).journal"
            print("copying files from \(sourceBackend.description) to \(targetBackend.description) (journal \(journalPath))")
            let final = try await withDatabase(url, logger: logger) { client in
                try await StorageMigrator(
                    records: RecordStore(client: client, logger: logger), source: sourceBackend, destination: targetBackend,
                    journalPath: journalPath, scratchDirectory: source.localRoot + "/tmp"
                ).run(kinds: kinds) { progress in print(progress.line) }
            }
            print(
                "done: \(final.filesTotal) files at \(targetBackend.description) with their SHA-256 checked (\(final.skipped) copied by an earlier run); start the servers with STORAGE_URL=\(destination)"
            )
        }
    }
}
