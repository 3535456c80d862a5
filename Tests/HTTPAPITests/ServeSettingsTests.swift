import Foundation
import TestSupport
import Testing

/// `audio-server serve` refuses bad settings with the setting's name, before touching the database.
@Suite struct ServeSettingsTests {
    @Test func badPoolSizeIsRefusedByName() throws {
        try expectRefused(
            setting: "DB_POOL_SIZE", value: "0", argumentSets: [["serve"], ["serve", "--db-pool-size", "1001"]],
            message: "DB_POOL_SIZE must be 1–1000")
    }

    @Test func badSharedRoundTripsIsRefusedByName() throws {
        try expectRefused(
            setting: "SHARED_ROUND_TRIPS", value: "sometimes", argumentSets: [["serve"], ["serve", "--shared-round-trips", "0,4"]],
            message: "SHARED_ROUND_TRIPS must be off or RUNNING[,BATCH[,WIDEN_AFTER_MS]]")
    }

    @Test func badTimeoutsRatesAndCapsAreRefusedByName() throws {
        try expectRefused(
            setting: "REQUEST_HEADER_TIMEOUT", value: "soon", argumentSets: [["serve"], ["serve", "--request-header-timeout=-1s"]],
            message: "REQUEST_HEADER_TIMEOUT must be a duration")
        try expectRefused(setting: "IDLE_TIMEOUT", value: "10 parsecs", argumentSets: [["serve"]], message: "IDLE_TIMEOUT must be a duration")
        try expectRefused(
            setting: "STATEMENT_TIMEOUT", value: "a while", argumentSets: [["serve"], ["serve", "--statement-timeout", "0.1ms"]],
            message: "STATEMENT_TIMEOUT must be a duration")
        try expectRefused(
            setting: "MIN_UPLOAD_RATE", value: "fast", argumentSets: [["serve"], ["serve", "--min-upload-rate", "4KiB/never"]],
            message: "MIN_UPLOAD_RATE must be BYTES/WINDOW")
        try expectRefused(setting: "MAX_CONNECTIONS", value: "0", argumentSets: [["serve"]], message: "MAX_CONNECTIONS must be a whole number")
        // More connections than file descriptors: refused, naming the file limit.
        try expectRefused(
            setting: "MAX_CONNECTIONS", value: "2000000000", argumentSets: [["serve"]],
            message: "MAX_CONNECTIONS must stay 256 below the open-file limit")
        try expectRefused(setting: "ALLOWED_HOSTS", value: ",", argumentSets: [["serve"]], message: "ALLOWED_HOSTS must be comma-separated")
        try expectRefused(setting: "BENCH_ROUTES", value: "maybe", argumentSets: [["serve"]], message: "BENCH_ROUTES must be on or off")
        try expectRefused(setting: "SECRET_KEY", value: "", argumentSets: [["serve"]], message: "SECRET_KEY is not set")
        try expectRefused(setting: "SECRET_KEY", value: "too-short", argumentSets: [["serve"]], message: "SECRET_KEY must be at least 32 characters")
        try expectRefused(
            setting: "TRUSTED_PROXIES", value: "not-an-address", argumentSets: [["serve"]],
            message: "TRUSTED_PROXIES must be comma-separated IP addresses")
        try expectRefused(
            setting: "CORS_ORIGINS", value: "example.com/path", argumentSets: [["serve"]], message: "CORS_ORIGINS must be comma-separated origins")
        try expectRefused(
            setting: "FAILED_AUTH_LIMIT", value: "0", argumentSets: [["serve"]], message: "FAILED_AUTH_LIMIT must be a whole number 1–1000000")
        for value in ["100k", "abc", "-1", "1.5", "1e6", ""] {
            try expectRefused(
                setting: "LIST_SCAN_MAX_ROWS", value: value, argumentSets: [["serve"]], message: "LIST_SCAN_MAX_ROWS must be a whole number of rows")
        }
        try expectRefused(
            setting: "LIST_SCAN_MAX_ROWS", value: "5000", argumentSets: [["serve", "--list-scan-max-rows", "lots"]],
            message: "LIST_SCAN_MAX_ROWS must be a whole number of rows")
        try expectRefused(setting: "DRAIN_DELAY", value: "soon", argumentSets: [["serve"]], message: "DRAIN_DELAY must be a duration")
        try expectRefused(
            setting: "ORPHAN_FILE_AGE", value: "off", argumentSets: [["serve"]], message: "ORPHAN_FILE_AGE must be a duration of 1s or more")
        try expectRefused(
            setting: "ORPHAN_FILE_AGE", value: "500ms", argumentSets: [["serve"]], message: "ORPHAN_FILE_AGE must be a duration of 1s or more")
        try expectRefused(
            setting: "STORAGE_URL", value: "ftp://files.example.com/audio",
            argumentSets: [["serve"], ["serve", "--storage-url", "s3://ab?endpoint=http://127.0.0.1:1"]], message: "is not usable")
    }

    /// Runs `serve` with `setting=value` in the environment, once per argument set, and expects each
    /// run to fail with `message` and without mentioning the database.
    private func expectRefused(setting: String, value: String, argumentSets: [[String]], message expected: String) throws {
        // `swift build --build-tests` / `swift test` build the executable next to the test bundle.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("audio-server").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no audio-server at \(binary)")
        // Nothing listens on port 1: reaching the database would fail with another message.
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none?sslmode=disable"
        environment["SECRET_KEY"] = String(repeating: "s", count: 32)
        environment[setting] = value
        for arguments in argumentSets {
            do {
                try run(binary, arguments, environment: environment)
                Issue.record("serve \(arguments) started with a bad \(setting)")
            } catch {
                let message = "\(error)"
                #expect(message.contains(expected), "\(message)")
                #expect(!message.contains("database"), "\(message)")
            }
        }
    }
}
