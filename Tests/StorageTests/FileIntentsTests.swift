import Foundation
import KindModel
import PostgresNIO
import TestSupport
import Testing

@testable import Storage

/// The orphan sweeper and an upload's attach are serialised by the file's note (`FileIntents`):
/// whichever deletes the note first wins, so a file is never both removed as an orphan and named
/// by its record. Before the claim, an upload whose commit outlasted the orphan age (2 s in a test
/// under the full suite's load) had its file removed just before its record named it: the client
/// got 200 and the file was gone (SeaweedFS's log showed the server's own DELETE of that key).
@Suite struct FileIntentsTests {
    static let file = StoredFile(
        size: 4, sha256: String(repeating: "0", count: 64), contentType: "audio/wav", originalName: nil, format: "wav", codec: "pcm_s16le",
        durationSeconds: 1, sampleRate: 8000, channels: 1, bitrate: nil)

    @Test func aClaimedKeyIsNeverNamedAndANamedKeyIsNeverClaimed() async throws {
        try await SharedRoundTripDatabaseTests.withTrackTable { client, queries in
            try await AccessTables.ensure(on: client, logger: TestDatabase.logger)
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: .off)
            let intents = FileIntents(client: client, logger: TestDatabase.logger)
            let id = try #require(
                try await client.query("INSERT INTO track (title) VALUES ('t') RETURNING id", logger: TestDatabase.logger)
                    .collect().first?.decode(Int64.self))
            let slow = FileBackend.newKey(kind: "track", id: id, fileExtension: "wav")
            let quick = FileBackend.newKey(kind: "track", id: id, fileExtension: "wav")

            // The sweeper claims a key whose commit is still under way: the attach that follows fails
            // and the record is unchanged.
            try await intents.note(slow)
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await intents.claim(slow, olderThan: .milliseconds(1)))
            await #expect(throws: FileIntents.Reclaimed.self) { _ = try await store.attachFile(id, file: Self.file, key: slow, in: queries) }
            #expect(try await store.fileInfo(id, in: queries) == .noFile)

            // A commit that finishes first: the record names the key, and the sweeper cannot claim it.
            try await intents.note(quick)
            try await Task.sleep(for: .milliseconds(20))
            guard case .attached = try await store.attachFile(id, file: Self.file, key: quick, in: queries) else {
                Issue.record("the attach of a still-noted key did not attach")
                return
            }
            #expect(try await !intents.claim(quick, olderThan: .milliseconds(1)))
            #expect(try await store.fileInfo(id, in: queries).key == quick)

            // A note younger than the age is not claimed (a key noted again after the sweeper listed it).
            let fresh = FileBackend.newKey(kind: "track", id: id, fileExtension: "wav")
            try await intents.note(fresh)
            #expect(try await !intents.claim(fresh, olderThan: .seconds(3600)))
            #expect(try await intents.stale(olderThan: .seconds(3600)).isEmpty)
        }
    }

    /// A record's DELETE notes its file in the statement that deletes the row, with or without an
    /// audit row: a server killed before the file is removed (or a removal that fails) leaves a
    /// noted key the sweeper removes. Before, it left a file no row named and nothing noted, which
    /// only `storage verify --repair` found.
    @Test func aDeletedRecordsFileIsNotedByTheDeleteItself() async throws {
        try await SharedRoundTripDatabaseTests.withTrackTable { client, queries in
            try await AccessTables.ensure(on: client, logger: TestDatabase.logger)
            let store = RecordStore(client: client, logger: TestDatabase.logger, sharing: .off)
            let intents = FileIntents(client: client, logger: TestDatabase.logger)
            let actor = AuditActor(keyID: nil, keyName: nil, requestID: "delete-test", client: "127.0.0.1")
            for audit in [nil, actor] {
                let id = try #require(
                    try await client.query("INSERT INTO track (title) VALUES ('t') RETURNING id", logger: TestDatabase.logger)
                        .collect().first?.decode(Int64.self))
                let key = FileBackend.newKey(kind: "track", id: id, fileExtension: "wav")
                try await intents.note(key)
                guard case .attached = try await store.attachFile(id, file: Self.file, key: key, in: queries) else {
                    Issue.record("the file was not attached")
                    return
                }
                #expect(try await !Self.isNoted(key, client), "the attach cleared the note")
                #expect(try await store.delete(id, in: queries, audit: audit) == .deleted(fileKey: key))
                #expect(try await Self.isNoted(key, client), "the delete noted its file (audited: \(audit != nil))")
                // A record without a file notes nothing.
                let bare = try #require(
                    try await client.query("INSERT INTO track (title) VALUES ('u') RETURNING id", logger: TestDatabase.logger)
                        .collect().first?.decode(Int64.self))
                #expect(try await store.delete(bare, in: queries, audit: audit) == .deleted(fileKey: nil))
                let count = try await client.query("SELECT count(*) FROM audio_server.file_intents", logger: TestDatabase.logger)
                    .collect().first?.decode(Int64.self)
                #expect(count == 1)
                try await intents.forget(key)
            }
            let audited = try await client.query(
                "SELECT count(*) FROM audio_server.audit WHERE request_id = 'delete-test' AND action = 'delete'", logger: TestDatabase.logger
            ).collect().first?.decode(Int64.self)
            #expect(audited == 2, "the audited deletes still wrote their audit rows")
        }
    }

    static func isNoted(_ key: String, _ client: PostgresClient) async throws -> Bool {
        try await !client.query("SELECT 1 FROM audio_server.file_intents WHERE key = \(key)", logger: TestDatabase.logger).collect().isEmpty
    }
}

extension FileLookup {
    fileprivate var key: String? { if case .file(let info) = self { info.key } else { nil } }
}
