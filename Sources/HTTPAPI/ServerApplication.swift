public import Hummingbird
import KindModel
public import Logging
public import PostgresNIO
public import ServiceLifecycle
public import Storage

/// Server-wide settings that are not kinds.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Folder of stored audio files (and their temporary uploads).
    public var storageDirectory: String
    /// Object storage for committed files (`STORAGE_URL=s3://…`); nil: they live in
    /// `storageDirectory`. With it, `storageDirectory` holds only uploads in progress (staging).
    public var objectStorage: ObjectFileStore?
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
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    public var trustedProxies: TrustedProxies
    /// Browser origins allowed to call the API (`CORS_ORIGINS`); nil: none.
    public var corsOrigins: CORSOrigins?
    /// Failed authentications one address may make in a minute before it gets 429 (`FailedAuthLimiter`).
    public var failedAuthBurst: Int = 20
    /// How often keys are reloaded from the database and `last_used_at` written (`KeyDirectory`).
    public var keyReloadInterval: Duration = .seconds(30)
    /// How often expired resumable uploads are removed (`UploadSweeperService`).
    public var uploadSweepInterval: Duration = .seconds(30)
    /// How old a noted file must be before the sweeper removes it when no row names it
    /// (`FileIntents`, `ORPHAN_FILE_AGE`): longer than any upload's commit can take.
    public var orphanFileAge: Duration = .seconds(3600)
    /// Serve the console's files from this folder, read on every request, instead of the copies
    /// compiled into the binary (`CONSOLE_DEV_DIR`: working on the console without rebuilding).
    /// Only the console's own file names are served. nil in production.
    public var consoleDirectory: String?
    /// Refuses list pages whose order no index serves on large tables (`LIST_SCAN_MAX_ROWS`); nil: off.
    public var fullScan: FullScanGuard? = FullScanGuard()
    /// Whether GET by id and create are answered from the connection's channel (`FastPath`,
    /// `FAST_PATHS`); the same answers either way, faster with it.
    public var fastPaths = true

    public init(
        host: String = "127.0.0.1", port: Int = 8080, storageDirectory: String = "./storage",
        maxUploadBytes: Int64 = 512 * 1024 * 1024, sharedRoundTrips: RoundTripLimits = .standard, secretKey: String? = nil,
        connections: ConnectionLimits = .standard, allowedHosts: HostAllowList? = nil, benchRoutes: Bool = false,
        trustedProxies: TrustedProxies = .none, corsOrigins: CORSOrigins? = nil
    ) {
        self.host = host
        self.port = port
        self.storageDirectory = storageDirectory
        self.maxUploadBytes = maxUploadBytes
        self.sharedRoundTrips = sharedRoundTrips
        self.secretKey = secretKey
        self.connections = connections
        self.allowedHosts = allowedHosts
        self.benchRoutes = benchRoutes
        self.trustedProxies = trustedProxies
        self.corsOrigins = corsOrigins
    }
}

/// Builds the Hummingbird application: the one place where routes, the database pool and the
/// file store meet, used by `audio-server serve` and by the HTTP tests alike.
public enum ServerApplication {
    /// - Parameter watch: the database to probe with connections of its own (`DatabaseHealth`), so
    ///   record routes answer 503 at once while it is unreachable; nil: no watcher (most tests).
    /// - Parameter database: the pool record routes lease connections from; it runs as one of the
    ///   application's services (its warm-up, lease timeouts and shutdown).
    /// - Parameter keyChanges: the database to `LISTEN` on for keys revoked by other servers
    ///   (`KeyDirectory`); nil: this server sees only its own revocations at once, others' within
    ///   the periodic reload.
    public static func make(
        configuration: ServerConfiguration, registry: KindRegistry, database: DatabasePool,
        watch: PostgresConnection.Configuration? = nil, keyChanges: PostgresConnection.Configuration? = nil,
        services extra: [any Service] = [], drain: ShutdownDrain = ShutdownDrain(), logger: Logger
    ) -> some ApplicationProtocol {
        let health = DatabaseHealth()
        // Without SECRET_KEY (tests; `serve` refuses to start without one) a random secret per process.
        let secret = configuration.secretKey ?? Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max) })
        let keys = KeyDirectory(
            store: APIKeyStore(client: database, logger: logger), listen: keyChanges, reloadInterval: configuration.keyReloadInterval)
        let gate = AccessGate(
            keys: keys, links: SignedLinkSigner(secret: secret), proxies: configuration.trustedProxies,
            audit: AuditLog(client: database, logger: logger), limiter: FailedAuthLimiter(burst: configuration.failedAuthBurst))
        let api = AudioAPI(
            registry: registry,
            records: RecordStore(
                client: database, logger: logger, sharing: configuration.sharedRoundTrips, fullScan: configuration.fullScan),
            files: FileStore(root: configuration.storageDirectory), maxUploadBytes: configuration.maxUploadBytes,
            health: health, cursors: CursorSigner(secret: secret), access: gate, drain: drain,
            backend: configuration.objectStorage.map(FileBackend.objectStorage), consoleDirectory: configuration.consoleDirectory)
        var services: [any Service] = [database, KeyDirectoryService(directory: keys)]
        services.append(
            UploadSweeperService(
                store: api.uploads, interval: configuration.uploadSweepInterval, logger: logger,
                sweepOrphans: { [orphanAge = configuration.orphanFileAge] in try await api.sweepOrphanFiles(olderThan: orphanAge) }))
        if let watch { services.append(DatabaseWatchService(health: health, configuration: watch, logger: logger)) }
        services += extra
        let hosts = configuration.allowedHosts ?? .defaults(listeningOn: configuration.host)
        let responder = APIResponder(
            middleware: RequestMiddleware(hosts: hosts, cors: configuration.corsOrigins), api: api, benchRoutes: configuration.benchRoutes)
        let limits = configuration.connections
        let counter = ConnectionCounter()
        let fastPath =
            configuration.fastPaths
            ? FastPath(api: api, hosts: hosts, cors: configuration.corsOrigins, serverName: Self.serverName, logger: logger) : nil
        return Application(
            responder: responder,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        ConnectionGuard(limits: limits, counter: counter, logger: logger, fastPath: fastPath),
                        ContinueHandler(accepts: api.acceptsBody, announce: api.announceUpload),
                    ],
                    // Named by the 414 and 431 problems (`ConnectionGuard.problem`).
                    httpDecoderConfiguration: .init(maxHeaderFieldSize: ConnectionGuard.headLimit, maxHeaderListSize: ConnectionGuard.headLimit))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: Self.serverName),
            services: services, logger: logger)
    }
}

extension ServerApplication {
    /// The `Server` header of every answer.
    static let serverName = "audio-server"
}

/// Runs `DatabaseHealth.watch` for the server's lifetime; a graceful shutdown stops it.
struct DatabaseWatchService: Service {
    let health: DatabaseHealth
    let configuration: PostgresConnection.Configuration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await health.watch(configuration, logger: logger)
        }
    }
}

/// Removes expired resumable uploads and their bytes every `interval` (within a minute of expiry
/// at the default 30 s), plain uploads abandoned in `tmp/` by a crash (untouched for ten minutes),
/// and files a crash left without a row. Every server sharing the database may run it: each row
/// goes to one.
///
/// The sessions and the orphan files are swept by two loops of their own, so that one slow step
/// cannot hold up the other: with object storage unreachable (a black-holed endpoint), each
/// expired session's clean-up waits out the S3 client's request timeout, and the orphan sweep,
/// which must keep noting back the keys it could not remove, used to wait behind all of them.
struct UploadSweeperService: Service {
    let store: UploadSessionStore
    let interval: Duration
    let logger: Logger
    /// Files a crash left without a row (`AudioAPI.sweepOrphanFiles`); returns how many were removed.
    let sweepOrphans: @Sendable () async throws -> Int

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await every(interval) { await sweepSessions() } }
                group.addTask {
                    await every(interval) {
                        do {
                            let orphans = try await sweepOrphans()
                            if orphans > 0 { logger.notice("removed files a crash left without a record", metadata: ["count": "\(orphans)"]) }
                        } catch {
                            logger.debug("orphan file sweep failed", metadata: ["error": "\(String(reflecting: error))"])
                        }
                    }
                }
            }
        }
    }

    /// Expired resumable sessions and completed uploads, and plain uploads a crashed server left in `tmp/` (any server
    /// sharing STORAGE_DIR may remove them).
    private func sweepSessions() async {
        let abandoned = store.files.removeUnfinishedUploads()
        if abandoned > 0 { logger.notice("removed abandoned unfinished uploads", metadata: ["count": "\(abandoned)"]) }
        do {
            // One at a time, so that a shutdown is not held up by more than one clean-up. A
            // session kept for a retry is not taken again for `removalRetry`, so the round goes on
            // to the others (on disk ones among them) and ends when none is left to try.
            var removed = 0
            loop: while !Task.isCancelled {
                switch try await store.sweepOne() {
                case .nothingToDo: break loop
                case .removed: removed += 1
                case .keptForRetry: continue
                }
            }
            if removed > 0 { logger.info("removed expired resumable uploads", metadata: ["count": "\(removed)"]) }
            // Completed uploads answer HEAD until their expiry; then they are forgotten.
            try await store.forgetExpiredCompletions()
        } catch {
            logger.debug("resumable upload sweep failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Runs `step` after every `interval` until cancelled; a step's own time is not counted.
    private func every(_ interval: Duration, _ step: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            await step()
        }
    }
}
