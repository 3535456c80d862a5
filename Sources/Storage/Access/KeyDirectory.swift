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

/// The keys this server has been shown, kept in memory so that checking a key costs a hash and a
/// dictionary lookup, not a database round trip.
///
/// A key enters memory only when a request presents it: a secret not in memory is looked up in
/// the database once before it is refused (so a key made on another server works at once;
/// repeated misses from one address are slowed by `FailedAuthLimiter`). Kept current three ways:
/// this server's own revocations apply at once; other servers' and the CLI's arrive through
/// PostgreSQL `LISTEN/NOTIFY` on `APIKeyStore.channel` (the notice carries the key's id); and a
/// reload every `reloadInterval` (and on every reconnect) re-reads the keys in memory, catching up
/// on notices missed while disconnected.
///
/// Two rules keep a revoked key from working again:
/// - A reload refreshes only the keys already in memory. It once loaded every working key, so a
///   key made elsewhere, loaded by a reload and revoked a moment later was accepted here until
///   the revocation's notice arrived (a test saw it under load); now such a key is looked up on
///   use, and the database says it is revoked.
/// - A database read that started before a revocation was heard (a reload, a lookup) may still
///   see the key working; what it read is not installed for a key revoked since it started
///   (`State.revokedAfter`), or it would work until the next reload.
public final class KeyDirectory: Sendable {
    public let store: APIKeyStore
    private let state = Mutex(State())
    /// Counts revocations and reloads (`changeCount`).
    private let changes = Atomic<Int>(0)
    /// The connection `run()` listens on; nil: no LISTEN (periodic reloads only).
    let listenConfiguration: PostgresConnection.Configuration?
    let reloadInterval: Duration

    struct State {
        var byHash: [SecretHash: ActiveKey] = [:]
        /// Keys used whose `last_used_at` is not written yet, with when (milliseconds since 1970):
        /// usage seen on key objects that were replaced or forgotten, and writes that failed.
        var unflushed: [Int64: Int64] = [:]
        /// Revocations heard so far; a database read notes the count when it starts.
        var revocations = 0
        /// The ids of keys revoked lately, with the count after each: kept until a reload that
        /// started after it has installed its snapshot (which then saw the revocation).
        var revokedAfter: [Int64: Int] = [:]

        /// Whether key `id` was revoked after a read that started at `revocations == started`.
        func isRevoked(_ id: Int64, since started: Int) -> Bool { (revokedAfter[id] ?? 0) > started }

        mutating func forget(id: Int64) {
            revocations += 1
            revokedAfter[id] = revocations
            // A key used and then revoked before the next flush still shows when it was used.
            for key in byHash.values where key.id == id { keepUsage(of: key) }
            byHash = byHash.filter { $0.value.id != id }
        }

        /// Moves a key object's unwritten usage to `unflushed` (the object is about to be dropped).
        mutating func keepUsage(of key: ActiveKey) {
            let at = key.lastUse.exchange(0, ordering: .relaxed)
            if at > 0 { unflushed[key.id] = max(unflushed[key.id] ?? 0, at) }
        }

        /// Installs a reload's snapshot of working keys (read after `started` revocations): keys
        /// in memory are replaced by their fresh rows or dropped; keys not in memory stay out.
        mutating func install(_ keys: [ActiveKey], readAfter started: Int) {
            var fresh: [SecretHash: ActiveKey] = [:]
            for key in keys where byHash[key.secretHash] != nil && !isRevoked(key.id, since: started) { fresh[key.secretHash] = key }
            // Usage seen on the old objects is kept for the next flush.
            for key in byHash.values { keepUsage(of: key) }
            byHash = fresh
            // Revocations heard before the read started are in its snapshot: no need to remember them.
            revokedAfter = revokedAfter.filter { $0.value > started }
        }

        /// Installs a key one lookup read (after `started` revocations), unless it was revoked since.
        mutating func install(_ key: ActiveKey, readAfter started: Int) -> Bool {
            guard !isRevoked(key.id, since: started) else { return false }
            byHash[key.secretHash] = key
            return true
        }
    }

    public init(store: APIKeyStore, listen: PostgresConnection.Configuration?, reloadInterval: Duration = .seconds(30)) {
        self.store = store
        self.listenConfiguration = listen
        self.reloadInterval = reloadInterval
    }

    /// Re-reads the keys in memory from the database: revoked ones are dropped.
    public func reload() async throws {
        let started = state.withLock { $0.revocations }
        let keys = try await store.allActive()
        state.withLock { $0.install(keys, readAfter: started) }
        changes.add(1, ordering: .releasing)
    }

    /// How many keys are in memory (for tests).
    var keysInMemory: Int { state.withLock { $0.byHash.count } }

    /// The key `secret` names (the text after `Bearer `, already checked to be well formed).
    ///
    /// Throws when a secret not in memory cannot be looked up (the database is unreachable or too
    /// slow): the caller answers 503, not "unknown or revoked". A working key is not refused, nor
    /// counted as a failed attempt, because the database did not answer; under the full suite's
    /// load a fresh key once got that 401.
    public func lookup(_ secret: Substring, now: Double = Date().timeIntervalSince1970) async throws -> KeyLookup {
        let hash = APIKeySecret.hash(secret)
        let (cached, started) = state.withLock { ($0.byHash[hash], $0.revocations) }
        var found = cached
        if found == nil, let fetched = try await store.active(hash: hash) {
            found = state.withLock { $0.install(fetched, readAfter: started) } ? fetched : nil
        }
        guard let key = found, key.secretHash == hash else { return .unknown }  // == is constant time
        if key.isExpired(at: now) { return .expired(key) }
        Self.noteUse(of: key, at: now)
        return .valid(key)
    }

    /// Remembers that `key` was used at `now` (written to `last_used_at` by `flushUsage`).
    public static func noteUse(of key: ActiveKey, at now: Double) {
        let millis = Int64(now * 1000)
        if key.lastUse.load(ordering: .relaxed) < millis { key.lastUse.store(millis, ordering: .relaxed) }
    }

    /// The working key `secret` names when it is in memory, without asking the database (nil:
    /// not in memory, or expired). For decisions made on the event loop before a handler runs,
    /// such as whether to send `100 Continue`; the handler's own `lookup` stays the check.
    public func inMemory(_ secret: Substring, now: Double = Date().timeIntervalSince1970) -> ActiveKey? {
        let hash = APIKeySecret.hash(secret)
        guard let key = state.withLock({ $0.byHash[hash] }), key.secretHash == hash, !key.isExpired(at: now) else { return nil }
        return key
    }

    /// How many times the keys in memory were revoked or reloaded so far: a caller that keeps the
    /// key of a lookup (`FastPathHandler`, per connection, to skip hashing the same secret on
    /// every request) reuses it only while this count is unchanged.
    public var changeCount: Int { changes.load(ordering: .acquiring) }

    /// Forgets a revoked key at once (this server's revocation, or another's notice).
    public func forget(id: Int64) {
        state.withLock { $0.forget(id: id) }
        changes.add(1, ordering: .releasing)
    }

    /// Writes `last_used_at` (the time of each key's latest use, not of this write) for the keys
    /// used since the last call, in one statement.
    public func flushUsage() async {
        let usage = state.withLock { state -> [Int64: Int64] in
            for key in state.byHash.values { state.keepUsage(of: key) }
            defer { state.unflushed = [:] }
            return state.unflushed
        }
        do { try await store.touch(usage) } catch {
            store.logger.debug("could not record key usage", metadata: ["error": "\(error)"])
            state.withLock { $0.unflushed.merge(usage, uniquingKeysWith: max) }
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
                // A revocation names its key; anything else (a notice this version does not know)
                // re-reads every key in memory.
                if payload.hasPrefix("revoke:"), let id = Int64(payload.dropFirst(7)) {
                    self.forget(id: id)
                } else {
                    try? await self.reload()
                }
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
