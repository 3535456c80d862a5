import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import PostgresNIO
import Schema
import Storage
import TestSupport

/// What a test gets besides the HTTP client: where the server's data lives.
struct ServerContext: Sendable {
    let databaseURL: DatabaseURL
    let storageDirectory: String
    let kindsDirectory: String

    /// The stored and temporary files once the server had up to 5 s to remove what a dropped
    /// upload left (it notices the drop asynchronously).
    func storedFilesAfterCleanup() async throws -> [String] {
        var leftovers = storedFiles()
        for _ in 0..<100 where !leftovers.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            leftovers = storedFiles()
        }
        return leftovers
    }

    /// Runs SQL directly against the server's database (to check what the API cannot show).
    func sql<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await TestDatabase.withClient(databaseURL, body)
    }
}

/// Starts the real server — real kinds, real migrations, real PostgreSQL — for one test.
enum TestServer {
    static let repoKinds = TestDatabase.repositoryRoot.appendingPathComponent("kinds").path

    /// - Parameter extraKinds: YAML files added beside the shipped kinds (file name → text), as a user would drop them in `kinds/`.
    /// - Parameter storageDirectory: where files go instead of a fresh folder under the test's root
    ///   (a small file system, to fill it); `logger`: instead of the default warning-level one.
    static func run<T: Sendable>(extraKinds: [String: String] = [:], maxUploadBytes: Int64 = 512 * 1024 * 1024,
                                 setup: TestingSetup = .router, watch: PostgresConnection.Configuration? = nil,
                                 connections: ConnectionLimits = .standard, allowedHosts: HostAllowList? = nil,
                                 benchRoutes: Bool = false, storageDirectory: String? = nil, logger: Logger? = nil,
                                 _ body: @Sendable (any TestClientProtocol, ServerContext) async throws -> T) async throws -> T {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("audio-test-\(UUID().uuidString)").path
        defer { try? fm.removeItem(atPath: root) }
        let kindsDir = root + "/kinds", migrationsDir = root + "/migrations", storageDir = storageDirectory ?? root + "/storage"
        try fm.createDirectory(atPath: kindsDir, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: repoKinds) where name.hasSuffix(".yaml") {
            try fm.copyItem(atPath: repoKinds + "/" + name, toPath: kindsDir + "/" + name)
        }
        for (name, text) in extraKinds { try text.write(toFile: kindsDir + "/" + name, atomically: true, encoding: .utf8) }

        let catalog = try KindLoader.load(directory: kindsDir)
        let directory = MigrationDirectory(path: migrationsDir)
        _ = try directory.generate(for: catalog)
        let url = try await TestDatabase.create(label: "http")
        let logger = logger ?? { var l = Logger(label: "test-server"); l.logLevel = .warning; return l }()
        try await TestDatabase.withClient(url) { client in
            try await MigrationRunner(client: client, directory: directory, logger: logger).apply()
        }
        let database = DatabasePool(configuration: try url.connectionConfiguration(), settings: .init(size: 8), logger: logger)
        let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, storageDirectory: storageDir, maxUploadBytes: maxUploadBytes,
                                                connections: connections, allowedHosts: allowedHosts, benchRoutes: benchRoutes)
        let app = ServerApplication.make(configuration: configuration, registry: KindRegistry(catalog), database: database,
                                         watch: watch, logger: logger)
        let context = ServerContext(databaseURL: url, storageDirectory: storageDir, kindsDirectory: kindsDir)
        return try await app.test(setup) { client in try await body(client, context) }
    }
}

// MARK: request helpers

extension TestClientProtocol {
    func postJSON(_ uri: String, _ json: String, contentType: String = "application/json") async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: json))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }

    /// Creates a record and returns its id.
    func create(_ json: String) async throws -> Int64 {
        let response = try await postJSON("/api/audio/create", json)
        guard response.status == .created, let id = try response.json()["id"]?.int64 else {
            throw TestFailure("create failed: \(response.status) \(String(buffer: response.body))")
        }
        return id
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object.
    func json() throws -> JSONObject {
        guard case .object(let o) = try JSONParser.parse(Array(body.readableBytesView)) else { throw TestFailure("not an object: \(text)") }
        return o
    }

    var isProblem: Bool { headers[.contentType] == "application/problem+json" }

    /// `field:code` pairs of a validation problem.
    func errorCodes() throws -> [String] {
        (try json()["errors"]?.arrayValue ?? []).compactMap {
            guard let o = $0.objectValue, let f = o["field"]?.stringValue, let c = o["code"]?.stringValue else { return nil }
            return "\(f):\(c)"
        }
    }
}

extension JSONValue {
    var int64: Int64? { if case .number(let n) = self { n.int64 } else { nil } }
}
