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
        do {
            try await withClient(admin) { client in
                try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
            }
        } catch let error as PSQLError {
            // PSQLError's description hides everything; a failure in CI must say what happened.
            throw ScriptError(description: "CREATE DATABASE \(name) failed: \(ErrorLogText.describe(error))")
        }
        return admin.with(database: name)
    }

    public static let logger = Logger(label: "test-db")

    /// Runs `body` with a running `PostgresClient` for `url`, shutting it down afterwards.
    public static func withClient<T: Sendable>(
        _ url: DatabaseURL, maximumConnections: Int = 8,
        _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: url.configuration(maximumConnections: maximumConnections))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
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
            // `system`, not Foundation's `Process`: during exit `Process.waitUntilExit` never sees
            // its child end (the zombie stays unreaped), which hung plain `swift test` at its end.
            _ = system("'\(script)' stop '\(dir)' >/dev/null 2>&1")
            try? FileManager.default.removeItem(atPath: dir)
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

nonisolated(unsafe) private var ownClusterDir: String?
nonisolated(unsafe) private var ownClusterScript: String?

public struct ScriptError: Error, CustomStringConvertible { public let description: String }

/// Runs a program and returns its standard output; throws with its stderr when it fails.
///
/// `posix_spawn` + `waitpid` rather than Foundation's `Process`: `Process.waitUntilExit` never
/// saw `scripts/pgtmp.sh start` end (the child stayed an unreaped zombie), which hung plain
/// `swift test` — the path without `TEST_DATABASE_URL`. Output goes to temporary files, so a
/// server the script leaves running cannot hold a pipe open either.
@discardableResult
public func run(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
    let outPath = scratch + ".out"
    let errPath = scratch + ".err"
    defer {
        unlink(outPath)
        unlink(errPath)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid = pid_t()
    let spawned = posix_spawn(&pid, program, &actions, nil, argv, envp)
    guard spawned == 0 else {
        throw ScriptError(description: "\(program) could not be started: \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let out = FileManager.default.contents(atPath: outPath) ?? Data()
    let err = FileManager.default.contents(atPath: errPath) ?? Data()
    let exited = status & 0x7f == 0
    let code = (status >> 8) & 0xff
    guard exited && code == 0 else {
        let how = exited ? "exited \(code)" : "was killed by signal \(status & 0x7f)"
        throw ScriptError(description: "\(program) \(arguments.joined(separator: " ")) \(how): \(String(decoding: err, as: UTF8.self))")
    }
    return String(decoding: out, as: UTF8.self)
}
