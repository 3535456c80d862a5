import ArgumentParser
import Foundation
import KindModel
import Storage

/// `audio-server storage verify [--repair]`.
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Check stored audio files against their rows.",
        subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report missing, orphaned and corrupted files; exit non-zero on any. --repair removes orphans.")
        @OptionGroup var settings: Settings
        @Option(name: .customLong("storage-dir"), help: "Where audio files are stored (env STORAGE_DIR, default ./storage).")
        var storageDir: String?
        @Flag(help: "Remove orphaned files and unfinished uploads (stop the server first, or pass --grace so uploads in progress are kept).")
        var repair = false
        @Option(help: "Leave unfinished uploads younger than this many seconds alone (default 0: report and repair them all).")
        var grace: Double = 0

        func run() async throws {
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            let kinds = try settings.loadKinds().kinds
            let root = storageDir ?? ProcessInfo.processInfo.environment["STORAGE_DIR"] ?? "./storage"
            let problems = try await withDatabase(url, logger: logger) { client in
                try await StorageVerifier(records: RecordStore(client: client, logger: logger), files: FileStore(root: root)).verify(
                    kinds: kinds, temporaryGrace: grace)
            }
            var remaining = problems
            if repair {
                let removed = StorageVerifier.repair(problems, in: FileStore(root: root))
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
}
