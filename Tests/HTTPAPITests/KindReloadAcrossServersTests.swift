import Foundation
import KindModel
import Logging
import PostgresNIO
import Schema
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// A reload on one server reaches every server on the database (`LISTEN/NOTIFY`), a server that was
/// not listening catches up when it connects, and `audio-server kinds reload` asks them all.
@Suite struct KindReloadAcrossServersTests {
    static let kinds = ["privclip.yaml": "name: privclip\nfields:\n  title:\n    type: string\n"]

    /// Opens privclip to public reads in `kinds/` (an access change: no migration needed).
    static func openPrivclip(_ kindsDirectory: String) throws {
        let path = kindsDirectory + "/privclip.yaml"
        try (try String(contentsOfFile: path, encoding: .utf8)).replacingOccurrences(of: "fields:", with: "access:\n  read: public\nfields:")
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func isOpen(_ registry: KindRegistry) -> Bool {
        registry.runtime.catalog.kind(named: "privclip")?.access.read == .public
    }

    /// Waits up to 10 s for `condition`.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<100 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }

    /// A second server's registry, reloader and listener on the same database and folders.
    static func withSecondServer<T: Sendable>(_ context: ServerContext, _ body: @Sendable (KindRegistry) async throws -> T) async throws -> T {
        let registry = KindRegistry(try KindLoader.load(directory: context.kindsDirectory))
        let configuration = try context.databaseURL.connectionConfiguration()
        return try await context.sql { client in
            let reloader = KindReloader(
                registry: registry, kindsDirectory: context.kindsDirectory,
                migrations: MigrationDirectory(path: context.migrationsDirectory), client: client, logger: Logger(label: "second"))
            let service = KindChangeService(reloader: reloader, listen: configuration)
            let listening = Task { try await service.run() }
            defer { listening.cancel() }
            return try await body(registry)
        }
    }

    @Test func aReloadOnOneServerReachesTheOthers() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { _, context in
            try await Self.withSecondServer(context) { second in
                try await Task.sleep(for: .milliseconds(300))  // its LISTEN in place
                #expect(!Self.isOpen(second) && !Self.isOpen(context.registry))
                try Self.openPrivclip(context.kindsDirectory)
                let outcome = try await context.sql { client in
                    await KindReloader(
                        registry: context.registry, kindsDirectory: context.kindsDirectory,
                        migrations: MigrationDirectory(path: context.migrationsDirectory), client: client,
                        logger: Logger(label: "first")
                    ).reloadEverywhere()
                }
                #expect(outcome == .reloaded(["audio_book", "podcast", "privclip", "song"]))
                #expect(Self.isOpen(context.registry))
                #expect(try await Self.eventually { Self.isOpen(second) }, "the second server reloaded on the notice")
            }
        }
    }

    /// A server that was not listening when the notice went out reloads once it connects.
    @Test func aServerThatMissedTheNoticeCatchesUpWhenItConnects() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { _, context in
            let stale = KindRegistry(try KindLoader.load(directory: context.kindsDirectory))
            try Self.openPrivclip(context.kindsDirectory)
            let configuration = try context.databaseURL.connectionConfiguration()
            try await context.sql { client async throws -> Void in
                let reloader = KindReloader(
                    registry: stale, kindsDirectory: context.kindsDirectory,
                    migrations: MigrationDirectory(path: context.migrationsDirectory), client: client, logger: Logger(label: "late"))
                let listening = Task { try await KindChangeService(reloader: reloader, listen: configuration).run() }
                defer { listening.cancel() }
                #expect(try await Self.eventually { Self.isOpen(stale) })
            }
        }
    }

    /// `audio-server kinds reload` (with the binary built next to the tests) notifies every server.
    @Test(.enabled(if: AudioServerBinary.path != nil, "audio-server binary not built"))
    func theCLIAsksEveryServer() async throws {
        let binary = try #require(AudioServerBinary.path)
        try await TestServer.run(extraKinds: Self.kinds) { _, context in
            try await Self.withSecondServer(context) { second in
                try await Task.sleep(for: .milliseconds(300))
                try Self.openPrivclip(context.kindsDirectory)
                var environment = ProcessInfo.processInfo.environment
                let url = context.databaseURL
                environment["DATABASE_URL"] = "postgres://\(url.user)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
                environment["KINDS_DIR"] = context.kindsDirectory
                environment["LOG_LEVEL"] = "error"
                let output = try run(binary, ["kinds", "reload"], environment: environment)
                #expect(output.contains("Asked every server"), "\(output)")
                #expect(try await Self.eventually { Self.isOpen(second) })
            }
        }
    }
}
