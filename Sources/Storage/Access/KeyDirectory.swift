public import Foundation
import KindModel
import Logging
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// What a presented secret turned out to be.
public enum KeyLookup: Sendable, Equatable {
    case valid(ActiveKey)
    case expired(ActiveKey)
    /// No working key has this secret: never made, or revoked (one answer, so a guesser learns nothing).
    case unknown
}

/// The working keys, kept in memory so that checking a key costs a hash and a dictionary lookup,
/// not a database round trip.
///
/// Kept current three ways: this server's own revocations apply at once; other servers' arrive
/// through PostgreSQL `LISTEN/NOTIFY` on `APIKeyStore.channel` (a revocation's notice carries the
/// key's id, dropped before anything is reloaded); and a full reload every `reloadInterval` (and
/// on every reconnect) catches up on notices missed while disconnected. A secret not in memory is
/// looked up in the database once before it is refused, so a key made on another server works
/// at once; repeated misses from one address are slowed by `FailedAuthLimiter`.
public final class KeyDirectory: Sendable {
    public let store: APIKeyStore
    private let state = Mutex(State())
    /// The connection `run()` listens on; nil: no LISTEN (periodic reloads only).
    let listenConfiguration: PostgresConnection.Configuration?
    let reloadInterval: Duration

    struct State {
        var byHash: [SecretHash: ActiveKey] = [:]
        /// Keys used whose `last_used_at` could not be written yet (retried at the next flush).
        var unflushed: Set<Int64> = []
    }

    public init(store: APIKeyStore, listen: PostgresConnection.Configuration?, reloadInterval: Duration = .seconds(30)) {
        self.store = store
        self.listenConfiguration = listen
        self.reloadInterval = reloadInterval
    }

    /// Replaces the keys in memory with the database's.
    public func reload() async throws {
        let keys = try await store.allActive()
        var byHash: [SecretHash: ActiveKey] = [:]
        for key in keys { byHash[key.secretHash] = key }
        state.withLock { state in
            // Usage seen on the old objects is kept for the next flush.
            for key in state.byHash.values where key.used.load(ordering: .relaxed) { state.unflushed.insert(key.id) }
            state.byHash = byHash
        }
    }

    /// The key `secret` names (the text after `Bearer `, already checked to be well formed).
    public func lookup(_ secret: Substring, now: Double = Date().timeIntervalSince1970) async -> KeyLookup {
        let hash = APIKeySecret.hash(secret)
        var found = state.withLock { $0.byHash[hash] }
        if found == nil, let fetched = try? await store.active(hash: hash) {
            state.withLock { $0.byHash[hash] = fetched }
            found = fetched
        }
        guard let key = found, key.secretHash == hash else { return .unknown }  // == is constant time
        if key.isExpired(at: now) { return .expired(key) }
        if !key.used.load(ordering: .relaxed) { key.used.store(true, ordering: .relaxed) }
        return .valid(key)
    }

    /// Forgets a revoked key at once (this server's revocation, or another's notice).
    public func forget(id: Int64) {
        state.withLock { state in state.byHash = state.byHash.filter { $0.value.id != id } }
    }

    /// Writes `last_used_at` for the keys used since the last call, in one statement.
    public func flushUsage() async {
        let ids = state.withLock { state -> [Int64] in
            var ids = state.unflushed
            for key in state.byHash.values where key.used.exchange(false, ordering: .relaxed) { ids.insert(key.id) }
            state.unflushed = []
            return Array(ids)
        }
        do { try await store.touch(ids) } catch {
            store.logger.debug("could not record key usage", metadata: ["error": "\(error)"])
            state.withLock { $0.unflushed.formUnion(ids) }
        }
    }

    /// Listens for key changes and reloads periodically until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenLoop() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.reloadInterval)
                    if Task.isCancelled { break }
                    await self.flushUsage()
                    try? await self.reload()
                }
                await self.flushUsage()
            }
            await group.waitForAll()
        }
    }

    private func listenLoop() async {
        guard let configuration = listenConfiguration else { return }
        let listener = NotificationListener(configuration: configuration, channel: APIKeyStore.channel, logger: store.logger)
        await listener.run(
            caughtUp: { try? await self.reload() },
            notified: { payload in
                if payload.hasPrefix("revoke:"), let id = Int64(payload.dropFirst(7)) { self.forget(id: id) }
                try? await self.reload()
            })
    }
}

/// Runs `KeyDirectory.run` for the server's lifetime; a graceful shutdown stops it.
public struct KeyDirectoryService: Service {
    let directory: KeyDirectory

    public init(directory: KeyDirectory) { self.directory = directory }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await directory.run() }
    }
}
