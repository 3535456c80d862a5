public import Logging
public import PostgresNIO
public import Schema
public import ServiceLifecycle
import Synchronization

/// The server's PostgreSQL connections: at most `size` open, reused newest first, each leased to
/// one request at a time.
///
/// Why our own and not `PostgresClient`'s pool (PostgresNIO 1.33):
/// - **It crashed the server when PostgreSQL restarted under load.** With `minimumConnections`
///   set (we kept every connection warm), failed reconnects leave fewer live connections than the
///   minimum, and the next lease that has to wait reaches
///   `precondition(minimumConcurrentConnections <= stats.active)` in
///   `PoolStateMachine+ConnectionGroup.swift` (`createNewDemandConnectionIfPossible`): a trap, not
///   an error (docs/operations.md names the upstream issue). With a minimum of 0 that trap cannot
///   fire, but then every returned connection arms an idle timer that stays allocated until its
///   deadline — the memory growth the warm setting was there to avoid.
/// - **Its outage behaviour cannot be bounded.** Requests that wait for a connection while the
///   database is away wait until its circuit breaker trips (60 s, fixed), and after the database
///   returns its backed-off reconnects kept answering 503 for ~9 s.
///
/// Here a waiting request gives up after `leaseTimeout`; a connection that failed is dropped and
/// the next request connects afresh, so the pool works again as soon as PostgreSQL answers; and a
/// connect that fails fails every request waiting behind it at once (the database is gone: they
/// get their 503 now, not one connect timeout after another).
public final class DatabasePool: ConnectionSource, Service {
    public struct Settings: Sendable {
        /// Most connections open at once.
        public var size: Int
        /// How long a request waits for a connection when all are busy.
        public var leaseTimeout: Duration
        /// How long one connection attempt may take.
        public var connectTimeout: Duration
        /// Whether `run()` opens all `size` connections at once (`serve`), or they open on demand
        /// (tests, where dozens of servers share one PostgreSQL's connection slots).
        public var warm: Bool

        public init(size: Int, leaseTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(3), warm: Bool = false) {
            self.size = size
            self.leaseTimeout = leaseTimeout
            self.connectTimeout = connectTimeout
            self.warm = warm
        }
    }

    /// What a waiting request is given.
    private enum Grant: Sendable {
        case connection(PostgresConnection)
        /// A free slot: the waiter opens the connection itself.
        case slot
    }

    private struct Waiter {
        let id: Int
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State: ~Copyable {
        /// Open connections not leased, newest last.
        var idle: [PostgresConnection] = []
        /// Idle + leased + being opened.
        var open = 0
        /// Requests waiting for a connection, oldest first.
        var waiters: [Waiter] = []
        var nextWaiter = 0
        var shutDown = false

        /// An idle connection that is still open; closed ones (the server went away) are dropped.
        mutating func takeIdle() -> PostgresConnection? {
            while let connection = idle.popLast() {
                if !connection.isClosed { return connection }
                open -= 1
            }
            return nil
        }
    }

    public let settings: Settings
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let state = Mutex(State())
    private let connectionIDs = Atomic<Int>(0)

    public init(configuration: PostgresConnection.Configuration, settings: Settings, logger: Logger) {
        var configuration = configuration
        configuration.options.connectTimeout = .nanoseconds(
            settings.connectTimeout.components.seconds * 1_000_000_000
                + settings.connectTimeout.components.attoseconds / 1_000_000_000)
        self.configuration = configuration
        self.settings = settings
        self.logger = logger
    }

    // MARK: leasing

    public func lease<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    private func acquire() async throws -> PostgresConnection {
        enum Step { case use(PostgresConnection), connect, wait, shutDown }
        let step: Step = state.withLock { state in
            if state.shutDown { return .shutDown }
            if let connection = state.takeIdle() { return .use(connection) }
            if state.open < settings.size {
                state.open += 1
                return .connect
            }
            return .wait
        }
        switch step {
        case .use(let connection): return connection
        case .connect: return try await connect()
        case .shutDown: throw DatabaseUnavailable(reason: "the server is shutting down")
        case .wait:
            switch try await waitForGrant() {
            case .connection(let connection): return connection
            case .slot: return try await connect()
            }
        }
    }

    /// Waits in line; the check for a free connection is repeated under the same lock that queues
    /// the waiter, so a release between the first look and the queueing cannot be missed.
    private func waitForGrant() async throws -> Grant {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let now: Swift.Result<Grant, any Error>? = state.withLock { state in
                    if state.shutDown { return .failure(DatabaseUnavailable(reason: "the server is shutting down")) }
                    if let connection = state.takeIdle() { return .success(.connection(connection)) }
                    if state.open < settings.size {
                        state.open += 1
                        return .success(.slot)
                    }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append(Waiter(id: id, deadline: .now + settings.leaseTimeout, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Opens a connection in a slot already counted in `open`.
    private func connect() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                configuration: configuration,
                id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
        } catch {
            // The database cannot be reached now: give the slot back, and fail everyone waiting
            // rather than let each of them try (and time out) in turn.
            let waiting: [Waiter] = state.withLock { state in
                state.open -= 1
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            let unavailable = DatabaseUnavailable(reason: StorageError.unavailability(of: error) ?? "no connection to PostgreSQL could be made")
            for waiter in waiting { waiter.continuation.resume(throwing: unavailable) }
            throw error
        }
    }

    /// Returns a connection: to the oldest waiter, or to the idle list. A closed one frees its slot,
    /// which the oldest waiter gets to connect with.
    private func release(_ connection: PostgresConnection) {
        enum Next { case give(Waiter, Grant), keep, close }
        let next: Next = state.withLock { state in
            if connection.isClosed {
                guard !state.waiters.isEmpty, !state.shutDown else {
                    state.open -= 1
                    return .keep
                }
                return .give(state.waiters.removeFirst(), .slot)
            }
            if state.shutDown {
                state.open -= 1
                return .close
            }
            if !state.waiters.isEmpty { return .give(state.waiters.removeFirst(), .connection(connection)) }
            state.idle.append(connection)
            return .keep
        }
        switch next {
        case .give(let waiter, let grant): waiter.continuation.resume(returning: grant)
        case .keep: break
        case .close: Self.close(connection)
        }
    }

    // MARK: lifetime

    /// Opens `size` connections up front when `settings.warm` (best effort: requests connect on
    /// demand when these fail) while, until shutdown, failing waiters whose `leaseTimeout` passed; at shutdown closes
    /// every idle connection and refuses new leases (leased ones close when returned).
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                if self.settings.warm { group.addTask { await self.warmUp() } }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .milliseconds(100))
                        self.expireWaiters()
                    }
                }
            }
        }
        shutDown()
    }

    /// Fills the free slots; never waits in line (a request may hold every connection already).
    private func warmUp() async {
        await withDiscardingTaskGroup { group in
            for _ in 0..<settings.size {
                let reserved = state.withLock { state in
                    guard !state.shutDown, state.open < settings.size else { return false }
                    state.open += 1
                    return true
                }
                guard reserved else { break }
                group.addTask { if let connection = try? await self.connect() { self.release(connection) } }
            }
        }
    }

    private func expireWaiters() {
        let now = ContinuousClock.now
        let expired: [Waiter] = state.withLock { state in
            guard let first = state.waiters.first, first.deadline <= now else { return [] }
            let expired = state.waiters.filter { $0.deadline <= now }
            state.waiters.removeAll { $0.deadline <= now }
            return expired
        }
        let timeout = DatabaseUnavailable(reason: "no database connection became free within \(settings.leaseTimeout)")
        for waiter in expired { waiter.continuation.resume(throwing: timeout) }
    }

    /// Refuses new leases, fails waiters and closes idle connections.
    public func shutDown() {
        let (idle, waiting): ([PostgresConnection], [Waiter]) = state.withLock { state in
            state.shutDown = true
            defer {
                state.open -= state.idle.count
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiting { waiter.continuation.resume(throwing: DatabaseUnavailable(reason: "the server is shutting down")) }
        for connection in idle { Self.close(connection) }
    }

    /// Closes without waiting. The callback holds the connection until its channel is closed:
    /// PostgresNIO asserts (in debug builds) that a connection is closed before it is freed.
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// Open connections and waiting requests, for tests and diagnostics.
    public var counts: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.open, $0.idle.count, $0.waiters.count) }
    }
}

/// No connection to PostgreSQL could be had in time: the HTTP layer answers 503 with `Retry-After`.
public struct DatabaseUnavailable: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
