import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import PostgresNIO
import Schema
import Storage
import Synchronization
import TestSupport
import Testing

/// What a test gets besides the HTTP client: where the server's data lives.
struct ServerContext: Sendable {
    let databaseURL: DatabaseURL
    let storageDirectory: String
    let kindsDirectory: String
    /// The secret of the admin key the test client sends by default (`KeyedTestClient`).
    let adminSecret: String
    /// The kinds the server serves (a `KindReloader` on it is what SIGHUP runs).
    let registry: KindRegistry
    /// The object storage committed files go to (`TestBackend.s3`); nil: they live in
    /// `storageDirectory`, which then holds only uploads in progress.
    var objects: ObjectFileStore? = nil
    var migrationsDirectory: String { kindsDirectory + "/../migrations" }

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

    /// PostgreSQL's plan for a statement of the server's (`EXPLAIN (COSTS OFF)`), one line per node.
    func plan(_ sql: String, _ bindings: PostgresBindings) async throws -> String {
        try await self.sql { db in
            var lines: [String] = []
            for try await line in try await db.query(
                PostgresQuery(unsafeSQL: "EXPLAIN (COSTS OFF) " + sql, binds: bindings), logger: TestDatabase.logger
            ).decode(String.self) {
                lines.append(line)
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Runs SQL directly against the server's database (to check what the API cannot show).
    func sql<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await TestDatabase.withClient(databaseURL, body)
    }
}

/// Where a test server keeps committed files: on disk, or in the throwaway SeaweedFS (only when
/// `TEST_S3_URL` is set: run through `scripts/with-test-s3.sh`).
enum TestBackend: String, Sendable, CustomTestStringConvertible {
    case disk, s3
    var testDescription: String { rawValue }
    /// The backends a parameterised test runs on here.
    static var all: [TestBackend] { TestObjectStorage.configured ? [.disk, .s3] : [.disk] }
}

extension ConnectionLimits {
    /// `serve`'s limits, except that a connection may wait 10 minutes (instead of 10 s and 60 s)
    /// for its first request and between requests. HummingbirdTesting's live client opens its one
    /// connection before the test body runs and never reconnects: when the server closes it, the
    /// next request fails with "I/O on closed channel" or "Connection reset by peer". Under the
    /// full suite's load a test's first request can come more than 10 s after that connection
    /// opened (starting a second server first), and one step once took over a minute (a 5 MB
    /// append to a busy SeaweedFS). Real clients reconnect. The limits themselves are tested with
    /// limits of their own (`HostileClientTests`).
    static var forTestClients: ConnectionLimits {
        var limits = ConnectionLimits.standard
        limits.headerTimeout = .minutes(10)
        limits.idleTimeout = .minutes(10)
        return limits
    }
}

/// Starts the real server — real kinds, real migrations, real PostgreSQL — for one test.
enum TestServer {
    static let repoKinds = TestDatabase.repositoryRoot.appendingPathComponent("kinds").path

    /// - Parameter extraKinds: YAML files added beside the shipped kinds (file name → text), as a user would drop them in `kinds/`.
    /// - Parameter statementTimeout: the pool's `statement_timeout` in milliseconds (`STATEMENT_TIMEOUT`; none by default).
    /// - Parameter storageDirectory: where files go instead of a fresh folder under the test's root
    ///   (a small file system, to fill it); `logger`: instead of the default warning-level one.
    static func run<T: Sendable>(
        extraKinds: [String: String] = [:], maxUploadBytes: Int64 = 512 * 1024 * 1024,
        setup: TestingSetup = .router, watch: PostgresConnection.Configuration? = nil,
        connections: ConnectionLimits = .forTestClients, allowedHosts: HostAllowList? = nil,
        benchRoutes: Bool = false, storageDirectory: String? = nil, logger: Logger? = nil,
        databaseURL: DatabaseURL? = nil, keyChanges: Bool = false, secretKey: String? = nil,
        trustedProxies: TrustedProxies = .none, corsOrigins: CORSOrigins? = nil, failedAuthBurst: Int = 20,
        keyReloadInterval: Duration = .seconds(30), statementTimeout: Int? = nil,
        uploadSweepInterval: Duration = .seconds(30), orphanFileAge: Duration = .seconds(3600), drain: ShutdownDrain = ShutdownDrain(),
        backend: TestBackend = .disk, objectStorage: ObjectFileStore? = nil, consoleDirectory: String? = nil, fastPaths: Bool = true,
        _ body: @Sendable (any TestClientProtocol, ServerContext) async throws -> T
    ) async throws -> T {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("audio-test-\(UUID().uuidString)").path
        defer { try? fm.removeItem(atPath: root) }
        let kindsDir = root + "/kinds"
        let migrationsDir = root + "/migrations"
        let storageDir = storageDirectory ?? root + "/storage"
        try fm.createDirectory(atPath: kindsDir, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: repoKinds) where name.hasSuffix(".yaml") {
            try fm.copyItem(atPath: repoKinds + "/" + name, toPath: kindsDir + "/" + name)
        }
        for (name, text) in extraKinds { try text.write(toFile: kindsDir + "/" + name, atomically: true, encoding: .utf8) }

        let catalog = try KindLoader.load(directory: kindsDir)
        let directory = MigrationDirectory(path: migrationsDir)
        _ = try directory.generate(for: catalog)
        let url: DatabaseURL
        if let databaseURL { url = databaseURL } else { url = try await TestDatabase.create(label: "http") }
        let logger =
            logger
            ?? {
                var l = Logger(label: "test-server")
                l.logLevel = .warning
                return l
            }()
        // Every test server has an admin key its client sends unless a test sets its own
        // Authorization (the access tests, through `anonymous`).
        let adminSecret = try await TestDatabase.withClient(url) { client in
            try await MigrationRunner(client: client, directory: directory, logger: logger).apply()
            try await AccessTables.ensure(on: client, logger: logger)
            return try await APIKeyStore(client: client, logger: logger)
                .create(name: "test-admin-\(UInt32.random(in: 0...UInt32.max))", scopes: [.admin], expiresAt: nil, actor: nil).secret
        }
        let database = DatabasePool(
            configuration: try url.connectionConfiguration(statementTimeout: statementTimeout), settings: .onTestCluster(size: 8), logger: logger)
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, storageDirectory: storageDir, maxUploadBytes: maxUploadBytes,
            secretKey: secretKey, connections: connections, allowedHosts: allowedHosts, benchRoutes: benchRoutes,
            trustedProxies: trustedProxies, corsOrigins: corsOrigins)
        configuration.failedAuthBurst = failedAuthBurst
        configuration.keyReloadInterval = keyReloadInterval
        configuration.uploadSweepInterval = uploadSweepInterval
        configuration.orphanFileAge = orphanFileAge
        configuration.consoleDirectory = consoleDirectory
        configuration.fastPaths = fastPaths
        if let objectStorage {
            configuration.objectStorage = objectStorage
        } else if backend == .s3 {
            configuration.objectStorage = try TestObjectStorage.store()
        }
        let registry = KindRegistry(catalog)
        let app = ServerApplication.make(
            configuration: configuration, registry: registry, database: database,
            watch: watch, keyChanges: keyChanges ? try url.connectionConfiguration() : nil, drain: drain, logger: logger)
        let context = ServerContext(
            databaseURL: url, storageDirectory: storageDir, kindsDirectory: kindsDir, adminSecret: adminSecret, registry: registry,
            objects: configuration.objectStorage)
        return try await app.test(setup) { client in
            if let port = client.port { adminSecrets.withLock { $0[port] = adminSecret } }
            defer { if let port = client.port { _ = adminSecrets.withLock { $0.removeValue(forKey: port) } } }
            return try await body(KeyedTestClient(base: client, secret: adminSecret), context)
        }
    }

    /// The admin secret of each live test server, by port, for `RawConnection`.
    static let adminSecrets = Mutex([Int: String]())

    /// `head` with the admin key of the server on `port` after its request line, unless it
    /// already has an Authorization header or the server is unknown.
    static func withAdminKey(_ head: String, port: Int) -> String {
        guard !head.lowercased().contains("\nauthorization:"), !head.contains("X-Test-Anonymous:"), let secret = adminSecrets.withLock({ $0[port] }),
            let lineEnd = head.range(of: "\r\n"), head[..<lineEnd.lowerBound].hasSuffix(" HTTP/1.1")
        else { return head }
        return String(head[..<lineEnd.upperBound]) + "Authorization: Bearer \(secret)\r\n" + String(head[lineEnd.upperBound...])
    }
}

/// The test client every test gets: it sends the server's admin key unless the request has its
/// own `Authorization`, or the header `X-Test-Anonymous` (removed before sending) asks for none.
struct KeyedTestClient: TestClientProtocol {
    let base: any TestClientProtocol
    let secret: String

    static let anonymous = HTTPField.Name("X-Test-Anonymous")!

    var port: Int? { base.port }

    func executeRequest(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> TestResponse {
        var headers = headers
        if headers[Self.anonymous] != nil {
            headers[Self.anonymous] = nil
        } else if headers[.authorization] == nil {
            headers[.authorization] = "Bearer \(secret)"
        }
        return try await base.executeRequest(uri: uri, method: method, headers: headers, body: body)
    }
}

// MARK: request helpers

extension TestClientProtocol {
    func postJSON(_ uri: String, _ json: String, contentType: String = "application/json") async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: json))
    }

    /// `/healthz` until it answers 200 (at most 20 s), for tests that need a ready server before
    /// they test: a fresh server's first check leases its first database connection, which can
    /// outlast /healthz's 2 s deadline while hundreds of tests run at once (503s failed CI runs so).
    func ready() async throws -> HTTPResponse.Status {
        try await poll(for: .seconds(20), every: .milliseconds(200)) {
            try await get("/healthz").status
        } until: {
            $0 == .ok
        }
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
