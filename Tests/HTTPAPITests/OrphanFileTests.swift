import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// A server killed between committing a file and committing the row that names it leaves a file
/// no row names. Every such key is noted first (`FileIntents`); the sweeper removes a noted file
/// no record names once it is older than `ORPHAN_FILE_AGE`, and only forgets one a record names.
@Suite struct OrphanFileTests {
    @Test(arguments: TestBackend.all)
    func aFileACrashLeftWithoutItsRowIsRemovedAndNamedOnesAreKept(_ backend: TestBackend) async throws {
        try await TestServer.run(uploadSweepInterval: .milliseconds(200), orphanFileAge: .seconds(2), backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            // With a 2 s orphan age, a loaded machine can take longer than that to store the file: the
            // upload is then refused with 503 (the sweeper claimed its key) and sent again, as the
            // answer says. Before the claim, the file was removed and the upload still answered 200.
            var upload = try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav")
            for _ in 0..<5 where upload.status == .serviceUnavailable {
                upload = try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav")
            }
            #expect(upload.status == .ok, "\(upload.status) \(upload.text.prefix(300))")
            let named = try #require(
                try await context.sql { db in
                    try await db.query("SELECT file_key FROM song WHERE id = \(id)", logger: TestDatabase.logger).collect().first?.decode(String.self)
                })
            // A successful upload leaves nothing noted: its row names its file.
            #expect(try await Self.noted(context).isEmpty)

            // What a SIGKILL between the two commits leaves: a file under a new key, noted, and no row.
            let orphan = FileBackend.newKey(kind: "song", id: id, fileExtension: "wav")
            let bytes = try Fixture.bytes("wav_mono_s16.wav")
            // And a noted key this server never makes (not files/<kind>/<id>/<name>): left alone.
            let foreign = "files/kept-by-hand.wav"
            for key in [orphan, foreign] {
                if let objects = context.objects {
                    _ = try await objects.client.putObject(key: key, bytes: ByteBuffer(bytes: bytes))
                } else {
                    try Data(bytes).write(to: URL(fileURLWithPath: context.storageDirectory + "/" + key))
                }
            }
            // And a noted key whose row did commit (the crash came after it, before the note was cleared).
            try await context.sql { db in
                _ = try await db.query(FileIntents.noteQuery(orphan), logger: TestDatabase.logger)
                _ = try await db.query(FileIntents.noteQuery(named), logger: TestDatabase.logger)
                _ = try await db.query(FileIntents.noteQuery(foreign), logger: TestDatabase.logger)
            }
            #expect(try await context.files().contains(orphan))

            var files = try await context.files()
            var noted = try await Self.noted(context)
            // Up to 30 s: the age is 2 s and the sweep runs every 200 ms, but a loaded machine (the
            // whole suite at once) delays both.
            for _ in 0..<600 where files.contains(orphan) || !noted.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                files = try await context.files()
                noted = try await Self.noted(context)
            }
            #expect(!files.contains(orphan), "the orphan was removed")
            #expect(files.contains(named), "the file a record names was kept")
            #expect(files.contains(foreign), "a file under a key the server never makes was not touched")
            #expect(try await Self.noted(context).isEmpty, "every noted key was dealt with")
            let download = try await client.get("/api/audio/song/\(id)/file")
            #expect(download.status == .ok, "\(download.status) \(download.text.prefix(500))")

            // A record's DELETE notes its file in the same statement and clears the note once the
            // file is removed: nothing is left noted, and the file is gone.
            #expect(try await client.execute(uri: "/api/audio/song/\(id)", method: .delete).status == .noContent)
            #expect(try await !context.files().contains(named), "the deleted record's file was removed")
            #expect(try await Self.noted(context).isEmpty, "the delete's note was cleared")
        }
    }

    /// A stale key whose file cannot be removed (object storage down) is noted again after the
    /// sweeper claimed it, for a later sweep to try: its claim deleted the note, and without the
    /// new note the file would be left for good. The note is set an hour back; a fresh `noted_at`
    /// shows the sweeper claimed it, failed to remove it, and noted it again.
    @Test func aFileTheSweeperCannotRemoveIsNotedAgain() async throws {
        try await TestServer.run(
            uploadSweepInterval: .milliseconds(200), orphanFileAge: .seconds(60), objectStorage: try ObjectStorageDownTests.unreachable()
        ) { _, context in
            let key = FileBackend.newKey(kind: "song", id: 999_999_999, fileExtension: "wav")
            try await context.sql { db in
                _ = try await db.query(FileIntents.noteQuery(key), logger: TestDatabase.logger)
                _ = try await db.query(
                    "UPDATE audio_server.file_intents SET noted_at = now() - interval '1 hour' WHERE key = \(key)", logger: TestDatabase.logger)
            }
            // true: noted within the last 10 minutes (again); false: still the old note; nil: not
            // noted (between the claim and the new note, or dropped for good).
            var recent: Bool? = false
            // Up to 60 s: a sweep every 200 ms, each refused at once by the closed port, on a loaded machine.
            for _ in 0..<300 where recent != true {
                try await Task.sleep(for: .milliseconds(200))
                recent = try await context.sql { db in
                    try await db.query(
                        "SELECT noted_at > now() - interval '10 minutes' FROM audio_server.file_intents WHERE key = \(key)",
                        logger: TestDatabase.logger
                    ).collect().first?.decode(Bool.self)
                }
            }
            #expect(recent == true, "the key is noted again after a failed removal (nil: its note was dropped)")
            // And it stays noted: the new note is not stale again for another ORPHAN_FILE_AGE.
            try await Task.sleep(for: .seconds(1))
            let stillNoted = try await context.sql { db in
                try await db.query("SELECT 1 FROM audio_server.file_intents WHERE key = \(key)", logger: TestDatabase.logger).collect()
            }
            #expect(stillNoted.count == 1)
        }
    }

    static func noted(_ context: ServerContext) async throws -> [String] {
        try await context.sql { db in
            try await db.query("SELECT key FROM audio_server.file_intents", logger: TestDatabase.logger).collect().map { try $0.decode(String.self) }
        }
    }
}
