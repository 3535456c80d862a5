import Foundation
import Testing
import TestSupport

/// `audio-server serve` refuses bad settings with the setting's name, before touching the database.
@Suite struct ServeSettingsTests {
    @Test func badPoolSizeIsRefusedByName() throws {
        // `swift build --build-tests` / `swift test` build the executable next to the test bundle.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("audio-server").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no audio-server at \(binary)")
        // Nothing listens on port 1: reaching the database would fail with another message.
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none?sslmode=disable"
        environment["DB_POOL_SIZE"] = "0"
        for arguments in [["serve"], ["serve", "--db-pool-size", "1001"]] {
            do {
                try run(binary, arguments, environment: environment)
                Issue.record("serve \(arguments) started with a bad pool size")
            } catch {
                let message = "\(error)"
                #expect(message.contains("DB_POOL_SIZE must be 1–1000"), "\(message)")
                #expect(!message.contains("database"), "\(message)")
            }
        }
    }

    @Test func badSharedRoundTripsIsRefusedByName() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("audio-server").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no audio-server at \(binary)")
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none?sslmode=disable"
        environment["SHARED_ROUND_TRIPS"] = "sometimes"
        for arguments in [["serve"], ["serve", "--shared-round-trips", "0,4"]] {
            do {
                try run(binary, arguments, environment: environment)
                Issue.record("serve \(arguments) started with a bad SHARED_ROUND_TRIPS")
            } catch {
                let message = "\(error)"
                #expect(message.contains("SHARED_ROUND_TRIPS must be off or RUNNING[,BATCH]"), "\(message)")
                #expect(!message.contains("database"), "\(message)")
            }
        }
    }
}
