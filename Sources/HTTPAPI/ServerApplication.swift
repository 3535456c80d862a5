import Hummingbird
import KindModel
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage

/// Server-wide settings that are not kinds.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Folder of stored audio files (and their temporary uploads).
    public var storageDirectory: String
    /// Largest accepted upload unless a kind's `upload.max_size` says otherwise.
    public var maxUploadBytes: Int64
    /// How concurrent record requests share database round trips.
    public var sharedRoundTrips: RoundTripLimits
    /// The server secret (`SECRET_KEY`) that list cursors are signed under; nil: a random one per
    /// process, so cursors stop working after a restart and differ between servers.
    public var secretKey: String?
    /// Timeouts, minimum body rate and the connection cap (`ConnectionGuard`).
    public var connections: ConnectionLimits
    /// The `Host` names answered (`ALLOWED_HOSTS`); nil: `HostAllowList.defaults(listeningOn: host)`.
    public var allowedHosts: HostAllowList?
    /// Whether the benchmark-only `GET /_static` route exists (`BENCH_ROUTES=on`).
    public var benchRoutes: Bool

    public init(host: String = "127.0.0.1", port: Int = 8080, storageDirectory: String = "./storage",
                maxUploadBytes: Int64 = 512 * 1024 * 1024, sharedRoundTrips: RoundTripLimits = .standard, secretKey: String? = nil,
                connections: ConnectionLimits = .standard, allowedHosts: HostAllowList? = nil, benchRoutes: Bool = false) {
        self.host = host
        self.port = port
        self.storageDirectory = storageDirectory
        self.maxUploadBytes = maxUploadBytes
        self.sharedRoundTrips = sharedRoundTrips
        self.secretKey = secretKey
        self.connections = connections
        self.allowedHosts = allowedHosts
        self.benchRoutes = benchRoutes
    }
}

/// Builds the Hummingbird application: the one place where routes, the database pool and the
/// file store meet, used by `audio-server serve` and by the HTTP tests alike.
public enum ServerApplication {
    /// - Parameter watch: the database to probe with connections of its own (`DatabaseHealth`), so
    ///   record routes answer 503 at once while it is unreachable; nil: no watcher (most tests).
    /// - Parameter database: the pool record routes lease connections from; it runs as one of the
    ///   application's services (its warm-up, lease timeouts and shutdown).
    public static func make(configuration: ServerConfiguration, registry: KindRegistry, database: DatabasePool,
                            watch: PostgresConnection.Configuration? = nil, logger: Logger) -> some ApplicationProtocol {
        let health = DatabaseHealth()
        let api = AudioAPI(registry: registry, records: RecordStore(client: database, logger: logger, sharing: configuration.sharedRoundTrips),
                           files: FileStore(root: configuration.storageDirectory), maxUploadBytes: configuration.maxUploadBytes,
                           health: health, cursors: configuration.secretKey.map(CursorSigner.init(secret:)) ?? .ephemeral())
        var services: [any Service] = [database]
        if let watch { services.append(DatabaseWatchService(health: health, configuration: watch, logger: logger)) }
        let router = Router()
        router.add(middleware: RequestGuardMiddleware(hosts: configuration.allowedHosts ?? .defaults(listeningOn: configuration.host)))
        api.register(on: router, benchRoutes: configuration.benchRoutes)
        let limits = configuration.connections
        let counter = ConnectionCounter()
        return Application(router: router,
                           server: .http1(configuration: .init(additionalChannelHandlers: [
                               ConnectionGuard(limits: limits, counter: counter, logger: logger),
                               ContinueHandler(accepts: api.acceptsBody),
                           ])),
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "audio-server"),
                           services: services, logger: logger)
    }
}

/// Runs `DatabaseHealth.watch` for the server's lifetime; a graceful shutdown stops it.
struct DatabaseWatchService: Service {
    let health: DatabaseHealth
    let configuration: PostgresConnection.Configuration
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            await health.watch(configuration, logger: logger)
        }
    }
}
