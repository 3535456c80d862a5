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
}

extension FileLookup {
    fileprivate var key: String? { if case .file(let info) = self { info.key } else { nil } }
}
