import Foundation
import Logging
import PostgresNIO
import Storage

/// A real PostgreSQL for tests: the cluster `make test` started (`TEST_DATABASE_URL`), or one this
/// process starts itself with `scripts/pgtmp.sh` when run by plain `swift test`.
/// Each test gets a fresh database, so tests running in parallel never see each other's rows.
public enum TestDatabase {
    private static let cluster = ClusterBox()

    /// A new empty database on the shared throwaway cluster.
    public static func create(label: String = "t") async throws -> DatabaseURL {
        let admin = try await cluster.url()
        let name = "\(label)_\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
        try await withClient(admin) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
        }
        return admin.with(database: name)
    }

    public static let logger = Logger(label: "test-db")

    /// Runs `body` with a running `PostgresClient` for `url`, shutting it down afterwards.
    public static func withClient<T: Sendable>(_ url: DatabaseURL, maximumConnections: Int = 8,
                                               _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: url.configuration(maximumConnections: maximumConnections))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await client.run(); return nil }
            do {
                let result = try await body(client)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// The repository root (for `kinds/`, `scripts/`), found from this source file's path.
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

private actor ClusterBox {
    private var started: DatabaseURL?

    func url() throws -> DatabaseURL {
        if let started { return started }
        let url: DatabaseURL
        if let env = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !env.isEmpty {
            url = try DatabaseURL(env)
        } else {
            url = try DatabaseURL(try startOwnCluster())
        }
        started = url
        return url
    }

    /// Starts a cluster for this test process; it is stopped when the process exits (atexit).
    private func startOwnCluster() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("audio-test-pg-\(getpid())").path
        let script = TestDatabase.repositoryRoot.appendingPathComponent("scripts/pgtmp.sh").path
        let output = try run(script, ["start", dir])
        ownClusterDir = dir
        ownClusterScript = script
        atexit {
            guard let dir = ownClusterDir, let script = ownClusterScript else { return }
            _ = try? run(script, ["stop", dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

nonisolated(unsafe) private var ownClusterDir: String?
nonisolated(unsafe) private var ownClusterScript: String?

struct ScriptError: Error, CustomStringConvertible { let description: String }

/// Runs a program and returns its standard output; throws with its stderr when it fails.
@discardableResult
public func run(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ScriptError(description: "\(program) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errData, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}
