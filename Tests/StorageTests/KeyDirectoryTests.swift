import Foundation
import KindModel
import PostgresNIO
import Schema
import TestSupport
import Testing

@testable import Storage

/// `KeyDirectory` keeps only keys that were presented, and never lets a read that started before a
/// revocation put the revoked key back.
@Suite struct KeyDirectoryTests {
    /// With a real database and no LISTEN (so no notice can help): a key made and revoked
    /// elsewhere is refused here even when a reload ran while it was still working. Before, the
    /// reload loaded every working key, and this key then worked until a notice or the next reload
    /// (the access matrix saw a revoked key answered 200 under load).
    @Test func aKeyRevokedElsewhereIsRefusedEvenAfterAReloadSawItWorking() async throws {
        let url = try await TestDatabase.create(label: "keys")
        try await TestDatabase.withClient(url) { client in
            try await AccessTables.ensure(on: client, logger: TestDatabase.logger)
            let store = APIKeyStore(client: client, logger: TestDatabase.logger)
            let directory = KeyDirectory(store: store, listen: nil)
            let used = try await store.create(name: "used", scopes: [.admin], expiresAt: nil, actor: nil).secret
            let other = try await store.create(name: "other", scopes: [.admin], expiresAt: nil, actor: nil).secret
            func lookup(_ secret: String) async -> Bool { await Self.isValid(secret, in: directory) }
            #expect(await lookup(used))
            try await directory.reload()
            #expect(directory.keysInMemory == 1, "a reload refreshes the keys in memory, it does not load others")
            _ = try await store.revoke("other", actor: nil)
            #expect(await !lookup(other), "never presented, so looked up: the database says revoked")

            // A key in memory revoked elsewhere works until the notice or the next reload, which drops it.
            _ = try await store.revoke("used", actor: nil)
            #expect(await lookup(used))
            try await directory.reload()
            #expect(await !lookup(used))
            #expect(directory.keysInMemory == 0)
        }
    }

    /// With LISTEN on: a revocation's notice forgets its key at once, and any other notice (one a
    /// newer server might send) re-reads the keys in memory, here dropping one revoked without a notice.
    @Test func noticesForgetOrReRead() async throws {
        let url = try await TestDatabase.create(label: "keys")
        try await TestDatabase.withClient(url) { client in
            try await AccessTables.ensure(on: client, logger: TestDatabase.logger)
            let store = APIKeyStore(client: client, logger: TestDatabase.logger)
            let directory = KeyDirectory(store: store, listen: try url.connectionConfiguration(), reloadInterval: .seconds(3600))
            let listening = Task { await directory.run() }
            defer { listening.cancel() }
            let first = try await store.create(name: "first", scopes: [.admin], expiresAt: nil, actor: nil).secret
            let second = try await store.create(name: "second", scopes: [.admin], expiresAt: nil, actor: nil).secret
            func valid(_ secret: String) async -> Bool { await Self.isValid(secret, in: directory) }
            /// Whether `secret` stops working once memory holds `left` keys (waited for up to 10 s on a
            /// loaded machine; a notice takes milliseconds).
            func forgotten(_ secret: String, leaving left: Int) async throws -> Bool {
                for _ in 0..<200 {
                    if directory.keysInMemory == left { return await !valid(secret) }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return false
            }
            #expect(await valid(first))
            #expect(await valid(second))
            #expect(directory.keysInMemory == 2)

            // `revoke` sends `revoke:<id>`; the directory forgets that key and keeps the other.
            _ = try await store.revoke("first", actor: nil)
            #expect(try await forgotten(first, leaving: 1))
            #expect(await valid(second))

            // Revoked behind the server's back, then a notice it does not know: it re-reads.
            _ = try await client.query(
                PostgresQuery(unsafeSQL: "UPDATE \(ServerSchema.apiKeys) SET revoked_at = now() WHERE name = 'second'"),
                logger: TestDatabase.logger)
            #expect(await valid(second), "no notice yet: still in memory")
            _ = try await client.query("SELECT pg_notify(\(APIKeyStore.channel), 'something-newer')", logger: TestDatabase.logger)
            #expect(try await forgotten(second, leaving: 0))
        }
    }

    /// `last_used_at` is when a key was last used, not when the batch was written, and a key used
    /// and then revoked (here or by another server's notice) before the write still shows its use.
    /// Before, the flush wrote `now()` (up to 30 s late) and a revocation dropped the unwritten use.
    @Test func lastUsedIsTheTimeOfUseAndSurvivesARevocation() async throws {
        let url = try await TestDatabase.create(label: "keys")
        try await TestDatabase.withClient(url) { client in
            try await AccessTables.ensure(on: client, logger: TestDatabase.logger)
            let store = APIKeyStore(client: client, logger: TestDatabase.logger)
            let directory = KeyDirectory(store: store, listen: nil)
            let kept = try await store.create(name: "kept", scopes: [.admin], expiresAt: nil, actor: nil).secret
            let gone = try await store.create(name: "gone", scopes: [.admin], expiresAt: nil, actor: nil).secret
            // Used an hour ago (as the clock is passed in): that is the time written.
            let anHourAgo = (Date().timeIntervalSince1970 - 3600).rounded(.down)
            for secret in [kept, gone] {
                guard case .valid = try await directory.lookup(Substring(secret), now: anHourAgo) else {
                    Issue.record("a working key was refused")
                    return
                }
            }
            let revoked = try await store.revoke("gone", actor: nil)
            directory.forget(id: revoked.id)
            await directory.flushUsage()
            let used = Dictionary(uniqueKeysWithValues: try await store.list().map { ($0.name, $0.lastUsedAt) })
            let expected = RFC3339.format(Date(timeIntervalSince1970: anHourAgo)).prefix(19)
            #expect(used["kept"]??.prefix(19) == expected)
            #expect(used["gone"]??.prefix(19) == expected)
            // An older use (another server's late flush) does not move it back.
            try await store.touch([revoked.id: Int64(anHourAgo - 60) * 1000])
            #expect(try await store.list().first { $0.name == "gone" }?.lastUsedAt?.prefix(19) == expected)
        }
    }

    /// Whether `directory` takes `secret` as a working key (a failed lookup counts as no).
    static func isValid(_ secret: String, in directory: KeyDirectory) async -> Bool {
        if case .valid? = try? await directory.lookup(Substring(secret)) { return true }
        return false
    }

    static func key(_ id: Int64) -> ActiveKey {
        ActiveKey(id: id, name: "k\(id)", scopes: ScopeSet([.admin]), expiresAt: nil, secretHash: SecretHash(Array(repeating: UInt8(id), count: 32)))
    }

    /// A read (reload or lookup) that started before a revocation was heard cannot install the key.
    @Test func aReadStartedBeforeARevocationDoesNotBringTheKeyBack() {
        var state = KeyDirectory.State()
        let (a, b) = (Self.key(1), Self.key(2))
        let installed1 = state.install(a, readAfter: state.revocations)
        #expect(installed1)
        let installed2 = state.install(b, readAfter: state.revocations)
        #expect(installed2)

        // A reload starts, then key 1's revocation is heard, then the reload's (older) snapshot arrives.
        let started = state.revocations
        state.forget(id: 1)
        state.install([a, b], readAfter: started)
        #expect(state.byHash.values.map(\.id) == [2])
        // A lookup that read key 1 before the revocation cannot install it either.
        let installed3 = state.install(a, readAfter: started)
        #expect(!installed3)
        #expect(state.byHash.count == 1)

        // A reload that started after the revocation saw it: the revocation need not be remembered.
        #expect(state.revokedAfter.keys.sorted() == [1])
        state.install([b], readAfter: state.revocations)
        #expect(state.revokedAfter.isEmpty)
        #expect(state.byHash.values.map(\.id) == [2])
        // And a lookup reading after the revocation (the database said working: a new key) installs it.
        let installed4 = state.install(a, readAfter: state.revocations)
        #expect(installed4)
    }
}
