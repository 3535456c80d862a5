import ArgumentParser
import Foundation
import HTTPAPI
import Hummingbird
import KindModel
import Logging
import PostgresNIO
import Schema
import ServiceLifecycle
import Storage
import UnixSignals

/// `audio-server serve`: checks kinds and migrations, then serves the API until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the HTTP API.")

    @OptionGroup var settings: Settings
    @Option(help: "Address to listen on (env HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (env PORT, default 8080).") var port: Int?
    @OptionGroup var storage: StorageOptions
    @Option(name: .customLong("max-upload-bytes"), help: "Largest accepted upload, e.g. 536870912 or 512MiB (env MAX_UPLOAD_BYTES, default 512MiB).")
    var maxUploadBytes: String?
    @Option(name: .customLong("db-pool-size"), help: "PostgreSQL connections the server keeps open (env DB_POOL_SIZE, default 32).")
    var dbPoolSize: Int?
    @Option(
        name: .customLong("statement-timeout"),
        help:
            "PostgreSQL stops a request's statement that runs longer, e.g. 5s, 30s, off; a list then gets a 400 query-too-slow, a write a 503 (env STATEMENT_TIMEOUT, default 5s)."
    )
    var statementTimeout: String?
    @Option(
        name: .customLong("shared-round-trips"),
        help:
            "How concurrent GETs, creates and list pages share PostgreSQL round trips: RUNNING[,BATCH[,WIDEN_AFTER_MS]] statements of one shape at once, requests per statement, and how long a shape's statement runs before another starts beside it; or off (env SHARED_ROUND_TRIPS, default 2,64,3)."
    )
    var sharedRoundTrips: String?
    @Option(
        name: .customLong("request-header-timeout"),
        help:
            "A request head must be complete this long after the connection opens or its first byte, e.g. 10s, 500ms, off (env REQUEST_HEADER_TIMEOUT, default 10s)."
    )
    var requestHeaderTimeout: String?
    @Option(name: .customLong("idle-timeout"), help: "Close a kept-alive connection idle this long, e.g. 60s, off (env IDLE_TIMEOUT, default 60s).")
    var idleTimeout: String?
    @Option(
        name: .customLong("min-upload-rate"),
        help:
            "Abort a request body when fewer than BYTES arrive in a WINDOW the server waited for them, BYTES/WINDOW e.g. 4KiB/10s, or off (env MIN_UPLOAD_RATE, default 4KiB/10s)."
    )
    var minUploadRate: String?
    @Option(
        name: .customLong("max-connections"),
        help: "Connections served at once; more get a 503 and are closed (env MAX_CONNECTIONS, default: the open-file limit minus 256).")
    var maxConnections: String?
    @Option(
        name: .customLong("allowed-hosts"),
        help: "Host header values answered, comma-separated, or * (env ALLOWED_HOSTS, default: localhost, 127.0.0.1, [::1] and the listen address).")
    var allowedHosts: String?
    @Option(
        name: .customLong("trusted-proxies"),
        help: "Proxy addresses whose X-Forwarded-For names the client, comma-separated (env TRUSTED_PROXIES, default none).")
    var trustedProxies: String?
    @Option(
        name: .customLong("cors-origins"), help: "Browser origins allowed to call the API, comma-separated, or * (env CORS_ORIGINS, default none).")
    var corsOrigins: String?
    @Option(
        name: .customLong("failed-auth-limit"),
        help: "Failed authentications one client address may make within 60 s before it gets 429, 1–1000000 (env FAILED_AUTH_LIMIT, default 20).")
    var failedAuthLimit: String?
    @Option(
        name: .customLong("drain-delay"),
        help:
            "After SIGTERM, answer /healthz 503 and keep serving this long before shutting down, so a load balancer stops sending requests first, e.g. 3s (env DRAIN_DELAY, default off)."
    )
    var drainDelay: String?
    @Option(
        name: .customLong("orphan-file-age"),
        help:
            "Remove a stored file that a crash left without its record once it is this old, e.g. 1h; longer than any upload takes to store (env ORPHAN_FILE_AGE, default 1h)."
    )
    var orphanFileAge: String?
    @Option(
        name: .customLong("list-scan-max-rows"),
        help:
            "Refuse a list page whose sort no index serves (400 sort-needs-index) on a kind of more than this many rows, or off (env LIST_SCAN_MAX_ROWS, default 100000)."
    )
    var listScanMaxRows: String?
    @Option(name: .customLong("bench-routes"), help: "on: serve the benchmark-only GET /_static (env BENCH_ROUTES, default off).")
    var benchRoutes: String?
    @Option(
        name: .customLong("fast-paths"),
        help: "off: answer GET by id and create through the general request path too (env FAST_PATHS, default on; the answers are the same).")
    var fastPaths: String?
    @Flag(name: .customLong("auto-migrate"), help: "Generate and apply a non-destructive migration for kinds/ changes before serving (development).")
    var autoMigrate = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let logger = settings.makeLogger()
        let url = try settings.requireDatabaseURL()
        let host = self.host ?? env["HOST"] ?? "127.0.0.1"
        let portText = port.map(String.init) ?? env["PORT"] ?? "8080"
        guard let port = Int(portText), (0...65535).contains(port) else { throw ValidationError("PORT must be 0–65535, got '\(portText)'") }
        let uploadText = maxUploadBytes ?? env["MAX_UPLOAD_BYTES"] ?? "512MiB"
        guard let uploadLimit = ByteSize.parse(uploadText), uploadLimit > 0 else {
            throw ValidationError("MAX_UPLOAD_BYTES must be a size like 536870912 or 512MiB, got '\(uploadText)'")
        }
        let poolText = dbPoolSize.map(String.init) ?? env["DB_POOL_SIZE"] ?? "32"
        guard let poolSize = Int(poolText), (1...1000).contains(poolSize) else {
            throw ValidationError("DB_POOL_SIZE must be 1–1000, got '\(poolText)'")
        }
        let timeoutText = statementTimeout ?? env["STATEMENT_TIMEOUT"] ?? "5s"
        guard case .some(let timeout) = ConnectionLimits.parseDuration(timeoutText), timeout.map({ $0 >= .milliseconds(1) }) ?? true else {
            throw ValidationError("STATEMENT_TIMEOUT must be a duration like 5s or 500ms (at least 1ms), or off; got '\(timeoutText)'")
        }
        var sharing = RoundTripLimits.standard
        if let text = sharedRoundTrips ?? env["SHARED_ROUND_TRIPS"] {
            guard let limits = RoundTripLimits(setting: text) else {
                throw ValidationError(
                    "SHARED_ROUND_TRIPS must be off or RUNNING[,BATCH[,WIDEN_AFTER_MS]] with RUNNING and BATCH 1–1000"
                        + " and WIDEN_AFTER_MS 0–10000, e.g. 2,64,3; got '\(text)'")
            }
            sharing = limits
        }
        let fullScan: FullScanGuard?
        do {
            fullScan = try FullScanGuard.configured(listScanMaxRows ?? env["LIST_SCAN_MAX_ROWS"])
        } catch {
            throw ValidationError(error.description)
        }
        // Signed links and list cursors are signed under it: a random one per process would break
        // every link at a restart and differ between servers, so it is required.
        guard let secret = env["SECRET_KEY"], !secret.isEmpty else {
            throw ValidationError(
                "SECRET_KEY is not set; export SECRET_KEY=\"$(openssl rand -base64 32)\" (at least 32 characters, the same on every server; make run keeps one in .data/secret-key)"
            )
        }
        guard secret.count >= 32 else {
            throw ValidationError("SECRET_KEY must be at least 32 characters (e.g. the output of: openssl rand -base64 32); got \(secret.count)")
        }
        let connections = try connectionLimits(env)
        var hosts: HostAllowList?
        if let text = allowedHosts ?? env["ALLOWED_HOSTS"] {
            guard let list = HostAllowList(setting: text) else {
                throw ValidationError("ALLOWED_HOSTS must be comma-separated host names or *, e.g. api.example.com,localhost; got '\(text)'")
            }
            hosts = list
        }
        var proxies = TrustedProxies.none
        if let text = trustedProxies ?? env["TRUSTED_PROXIES"], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let list = TrustedProxies(setting: text) else {
                throw ValidationError("TRUSTED_PROXIES must be comma-separated IP addresses, e.g. 127.0.0.1,::1; got '\(text)'")
            }
            proxies = list
        }
        var cors: CORSOrigins?
        if let text = corsOrigins ?? env["CORS_ORIGINS"], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let origins = CORSOrigins(setting: text) else {
                throw ValidationError(
                    "CORS_ORIGINS must be comma-separated origins like https://app.example.com (scheme, host, optional port; no path), or *; got '\(text)'"
                )
            }
            cors = origins
        }
        let failedText = failedAuthLimit ?? env["FAILED_AUTH_LIMIT"] ?? "20"
        guard let failedAuthBurst = Int(failedText.trimmingCharacters(in: .whitespaces)), (1...1_000_000).contains(failedAuthBurst) else {
            throw ValidationError(
                "FAILED_AUTH_LIMIT must be a whole number 1–1000000 (failed authentications per client address within 60 s), got '\(failedText)'")
        }
        let drainText = drainDelay ?? env["DRAIN_DELAY"] ?? "off"
        guard let drainSetting = ConnectionLimits.parseDuration(drainText) else {
            throw ValidationError("DRAIN_DELAY must be a duration like 3s or 500ms, or off; got '\(drainText)'")
        }
        let orphanText = orphanFileAge ?? env["ORPHAN_FILE_AGE"] ?? "1h"
        guard let orphanSetting = ConnectionLimits.parseDuration(orphanText), let orphanAge = orphanSetting, orphanAge >= .seconds(1) else {
            throw ValidationError("ORPHAN_FILE_AGE must be a duration of 1s or more like 1h or 30m; got '\(orphanText)'")
        }
        let benchText = (benchRoutes ?? env["BENCH_ROUTES"] ?? "off").lowercased()
        guard ["on", "off", "true", "false", "1", "0"].contains(benchText) else {
            throw ValidationError("BENCH_ROUTES must be on or off, got '\(benchText)'")
        }
        let fastText = (fastPaths ?? env["FAST_PATHS"] ?? "on").lowercased()
        guard ["on", "off", "true", "false", "1", "0"].contains(fastText) else {
            throw ValidationError("FAST_PATHS must be on or off, got '\(fastText)'")
        }
        // Before the database: a wrong bucket, endpoint or credential is named at once.
        let files = try await storage.resolve()
        if let objects = files.objects {
            logger.info("files in object storage", metadata: ["storage_url": "\(objects.description)", "staging_dir": "\(files.localRoot)"])
        }
        var configuration = ServerConfiguration(
            host: host, port: port, storageDirectory: files.localRoot,
            maxUploadBytes: uploadLimit, sharedRoundTrips: sharing, secretKey: secret,
            connections: connections,
            allowedHosts: hosts, benchRoutes: ["on", "true", "1"].contains(benchText),
            trustedProxies: proxies, corsOrigins: cors)
        configuration.failedAuthBurst = failedAuthBurst
        configuration.orphanFileAge = .nanoseconds(orphanAge.nanoseconds)
        configuration.objectStorage = files.objects
        configuration.fullScan = fullScan
        configuration.fastPaths = ["on", "true", "1"].contains(fastText)
        configuration.consoleDirectory = env["CONSOLE_DEV_DIR"].flatMap { $0.isEmpty ? nil : $0 }

        let unfinished = FileStore(root: configuration.storageDirectory).removeUnfinishedUploads()
        if unfinished > 0 { logger.notice("removed unfinished uploads left by an earlier run", metadata: ["count": "\(unfinished)"]) }
        let catalog = try settings.loadKinds()
        let directory = MigrationDirectory(path: settings.migrationsDirectory)
        try await withDatabase(url, logger: logger) { client in
            try await ensureSchema(catalog: catalog, directory: directory, client: client, logger: logger)
            let patterns = try await PatternCheck.problems(in: catalog.kinds, on: client, logger: logger)
            if !patterns.isEmpty {
                throw ValidationError(
                    "PostgreSQL cannot compile these patterns, so every write of their kind would fail:\n  - "
                        + patterns.joined(separator: "\n  - "))
            }
            try await AccessTables.ensure(on: client, logger: logger)
        }

        let database = DatabasePool(
            configuration: try url.connectionConfiguration(statementTimeout: timeout.map { Int($0.nanoseconds / 1_000_000) }),
            settings: .init(size: poolSize, warm: true), logger: poolLogger(logger))
        let registry = KindRegistry(catalog)
        let reloader = KindReloader(
            registry: registry, kindsDirectory: settings.kindsDirectory, migrations: directory,
            client: database, logger: logger)
        // Reloads reach every server on this database: SIGHUP here tells the others, and their
        // SIGHUPs (or `audio-server kinds reload`) reach this one.
        let drain = ShutdownDrain()
        let app = ServerApplication.make(
            configuration: configuration, registry: registry, database: database,
            watch: try url.connectionConfiguration(), keyChanges: try url.connectionConfiguration(),
            services: [KindChangeService(reloader: reloader, listen: try url.connectionConfiguration())],
            drain: drain, logger: logger)
        let hangups = SignalWatcher.watch(SIGHUP)
        let reloads = Task {
            for await _ in hangups { await reloader.reloadEverywhere() }
        }
        defer { reloads.cancel() }
        logger.info(
            "serving",
            metadata: [
                "kinds": "\(catalog.names.joined(separator: ","))", "address": "\(host):\(port)",
                "max_connections": "\(connections.maxConnections ?? 0)",
            ])
        guard let delay = drainSetting else {
            try await app.runService()
            return
        }
        // SIGTERM with DRAIN_DELAY: /healthz answers 503 for the delay while every other route is
        // served, so the balancer stops routing here first; then the graceful shutdown (in-flight
        // requests finish). SIGINT (Ctrl-C) still stops at once.
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigint], logger: logger))
        let terms = SignalWatcher.watch(SIGTERM)
        let draining = Task {
            for await _ in terms {
                drain.begin()
                logger.notice("SIGTERM: draining before shutting down", metadata: ["drain_delay_ms": "\(delay.nanoseconds / 1_000_000)"])
                try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
                await group.triggerGracefulShutdown()
                break
            }
        }
        defer { draining.cancel() }
        try await group.run()
    }

    /// Timeouts, body rate and connection cap from flags and environment; bad values refused by name.
    func connectionLimits(_ env: [String: String]) throws -> ConnectionLimits {
        var limits = ConnectionLimits.standard
        if let text = requestHeaderTimeout ?? env["REQUEST_HEADER_TIMEOUT"] {
            guard let value = ConnectionLimits.parseDuration(text) else {
                throw ValidationError("REQUEST_HEADER_TIMEOUT must be a duration like 10s or 500ms, or off; got '\(text)'")
            }
            limits.headerTimeout = value
        }
        if let text = idleTimeout ?? env["IDLE_TIMEOUT"] {
            guard let value = ConnectionLimits.parseDuration(text) else {
                throw ValidationError("IDLE_TIMEOUT must be a duration like 60s or 2m, or off; got '\(text)'")
            }
            limits.idleTimeout = value
        }
        if let text = minUploadRate ?? env["MIN_UPLOAD_RATE"] {
            guard let value = ConnectionLimits.parseRate(text) else {
                throw ValidationError("MIN_UPLOAD_RATE must be BYTES/WINDOW like 4KiB/10s, BYTES (per second), or off; got '\(text)'")
            }
            limits.minBodyRate = value
        }
        let fileLimit = ConnectionLimits.fileLimit()
        let largest = ConnectionLimits.largestMaxConnections(fileLimit: fileLimit)
        if let text = maxConnections ?? env["MAX_CONNECTIONS"] {
            guard let value = Int(text), value >= 1 else {
                throw ValidationError("MAX_CONNECTIONS must be a whole number of at least 1; got '\(text)'")
            }
            guard value <= largest else {
                throw ValidationError(
                    "MAX_CONNECTIONS must stay \(ConnectionLimits.reservedDescriptors) below the open-file limit (ulimit -n = \(fileLimit)), so at most \(largest); got \(value). Raise ulimit -n or lower MAX_CONNECTIONS."
                )
            }
            limits.maxConnections = value
        } else {
            guard largest >= 16 else {
                throw ValidationError(
                    "the open-file limit (ulimit -n = \(fileLimit)) leaves room for fewer than 16 connections (MAX_CONNECTIONS); raise it to at least \(ConnectionLimits.reservedDescriptors + 16)"
                )
            }
            limits.maxConnections = largest
        }
        return limits
    }

    /// Refuses to serve a database that does not match `kinds/`, or (with --auto-migrate) makes it match.
    func ensureSchema(catalog: KindCatalog, directory: MigrationDirectory, client: PostgresClient, logger: Logger) async throws {
        let runner = MigrationRunner(client: client, directory: directory, logger: logger)
        if autoMigrate {
            if let file = try directory.generate(for: catalog) { logger.notice("generated migration", metadata: ["file": "\(file.path)"]) }
            let applied = try await runner.apply()
            if !applied.isEmpty { logger.notice("applied migrations", metadata: ["files": "\(applied.joined(separator: ","))"]) }
            return
        }
        // A layout upgrade alone does not stop a server: tables an older engine made serve the same records.
        if let layout = try directory.outdatedLayout() { logger.warning("\(layout.upgradeAdvice)") }
        let ahead = try directory.pendingKindChanges(for: catalog)
        if !ahead.isEmpty {
            printError(
                "kinds/ has changes that no migration creates yet (\(ahead.steps.map(\.summary).joined(separator: "; "))).\nRun `audio-server migrate generate`, then `audio-server migrate apply` (or start with --auto-migrate in development)."
            )
            throw ExitCode(1)
        }
        let pending = try await runner.pending()
        if !pending.isEmpty {
            printError(
                "\(pending.count) migration\(pending.count == 1 ? " is" : "s are") not applied yet: \(pending.joined(separator: ", ")).\nRun `audio-server migrate apply` (make run does this for you)."
            )
            throw ExitCode(1)
        }
    }
}
