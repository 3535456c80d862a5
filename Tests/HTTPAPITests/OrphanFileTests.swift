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

    /// A plain upload of a large file killed mid-way leaves its key noted and a multipart upload
    /// open under it (billed, and never listed as an object). The sweeper aborts that upload when it
    /// removes the orphan. Against the real SeaweedFS of `scripts/with-test-s3.sh`.
    @Test(.enabled(if: TestObjectStorage.configured, "TEST_S3_URL not set: run through scripts/with-test-s3.sh"))
    func aMultipartUploadACrashLeftOpenIsAborted() async throws {
        try await TestServer.run(uploadSweepInterval: .milliseconds(200), orphanFileAge: .seconds(60), backend: .s3) { _, context in
            let objects = try #require(context.objects)
            let key = FileBackend.newKey(kind: "song", id: 999_999_995, fileExtension: "wav")
            // Another upload under a key that starts the same way, and is not noted: left alone.
            let sibling = key + ".other"
            _ = try await objects.client.createMultipartUpload(key: key, contentType: "audio/wav")
            _ = try await objects.client.createMultipartUpload(key: sibling, contentType: "audio/wav")
            try await context.sql { db in try await Self.noteAnHourAgo(key, db) }
            var open = try await context.openMultipartUploads()
            // Up to 30 s on a loaded machine.
            for _ in 0..<150 where open.contains(key) {
                try await Task.sleep(for: .milliseconds(200))
                open = try await context.openMultipartUploads()
            }
            #expect(open == [sibling], "the orphan's open upload was aborted, the other kept: \(open)")
            for _ in 0..<50 where try await !Self.noted(context).isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await Self.noted(context).isEmpty, "the key was dealt with")
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
            try await context.sql { db in try await Self.noteAnHourAgo(key, db) }
            // Up to 60 s: a sweep every 200 ms, each refused at once by the closed port, on a loaded machine.
            #expect(try await Self.isNotedAgain(key, context, within: .seconds(60)), "the key is noted again after a failed removal")
            // And it stays noted: the new note is not stale again for another ORPHAN_FILE_AGE.
            try await Task.sleep(for: .seconds(1))
            let stillNoted = try await context.sql { db in
                try await db.query("SELECT 1 FROM audio_server.file_intents WHERE key = \(key)", logger: TestDatabase.logger).collect()
            }
            #expect(stillNoted.count == 1)
        }
    }

    /// A stale key whose records cannot be checked (here a kind's table renamed behind the
    /// server's back, so the check throws) is neither removed nor forgotten: a row might name it,
    /// so the file stays, and the key is noted again for a later sweep.
    @Test func aFileWhoseRecordsCannotBeCheckedIsKeptAndNotedAgain() async throws {
        try await TestServer.run(uploadSweepInterval: .milliseconds(200), orphanFileAge: .seconds(60)) { _, context in
            let key = FileBackend.newKey(kind: "song", id: 999_999_997, fileExtension: "wav")
            let path = context.storageDirectory + "/" + key
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(try Fixture.bytes("wav_mono_s16.wav")).write(to: URL(fileURLWithPath: path))
            try await context.sql { db in
                _ = try await db.query(#"ALTER TABLE "podcast" RENAME TO "podcast_away""#, logger: TestDatabase.logger)
                try await Self.noteAnHourAgo(key, db)
            }
            #expect(try await Self.isNotedAgain(key, context, within: .seconds(60)), "the key is noted again after a failed check")
            #expect(FileManager.default.fileExists(atPath: path), "a file no check could clear was kept")
        }
    }

    /// With object storage that accepts connections and never answers (a black-holed endpoint),
    /// each expired resumable session's clean-up waits out the S3 client's request timeout twice
    /// (abort, list). The orphan sweep runs in a loop of its own and keeps noting back the key it
    /// cannot remove meanwhile; when both were one loop, it waited behind every session (here
    /// about 16 s: 8 sessions, two 1 s timeouts each), and so did the server's shutdown.
    @Test func theOrphanSweepDoesNotWaitForSessionCleanUpsStuckOnObjectStorage() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let store = try silent.objectStore(timeout: .seconds(1))
        let bodyEnded = try await TestServer.run(uploadSweepInterval: .milliseconds(200), orphanFileAge: .seconds(60), objectStorage: store) {
            _, context in
            let key = FileBackend.newKey(kind: "song", id: 999_999_998, fileExtension: "wav")
            try await context.sql { db in
                for n in 0..<8 { try await Self.insertExpiredObjectSession("expired-session-\(n)-0000000000", db) }
                try await Self.noteAnHourAgo(key, db)
            }
            // The sessions alone hold their loop for ~16 s; the orphan sweep needs ~1 s (its own
            // removal times out once). 10 s is room for a loaded machine, and less than the 16.
            #expect(
                try await Self.isNotedAgain(key, context, within: .seconds(10)),
                "the orphan sweep claimed and noted the key again while the session clean-ups were stuck")
            return ContinuousClock.now
        }
        // The sweeper takes expired sessions one at a time, so the shutdown waited for one clean-up
        // (~2 s here), not for all eight (~16 s, as when one DELETE took them all).
        let shutdown = ContinuousClock.now - bodyEnded
        #expect(shutdown < .seconds(20), "the shutdown took \(shutdown)")
    }

    /// A shutdown does not wait out object storage's request timeouts (30 s here, as by default,
    /// twice: abort, list) for a session clean-up stuck on an endpoint that never answers: the
    /// sweep stops at once, and the session stays ended for the next sweep, here or on another
    /// server. (Before, the clean-up ran apart from the sweep and the shutdown waited ~60 s.)
    @Test func aShutdownDoesNotWaitForASessionCleanUpStuckOnObjectStorage() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let store = try silent.objectStore(timeout: .seconds(30))
        let url = try await TestDatabase.create(label: "sweepstop")
        let id = "expired-session-stuck-0000000000"
        @Sendable func ended() async throws -> Bool? {
            try await TestDatabase.withClient(url) { db in
                try await db.query("SELECT ended_at IS NOT NULL FROM audio_server.upload_sessions WHERE id = \(id)", logger: TestDatabase.logger)
                    .collect().first?.decode(Bool.self)
            }
        }
        let shutdown = try await Self.shutdownWhileStuck(
            url, store, setup: { try await Self.insertExpiredObjectSession(id, $0) }, stuck: { try await ended() == true })
        #expect(shutdown < .seconds(20), "the shutdown took \(shutdown)")
        #expect(try await ended() == true, "the session stays, ended, for the next sweep")
    }

    /// Nor for an orphan file's removal stuck on it: the sweep stops at once and the key it had
    /// claimed (its note deleted) is noted again, so the file is not left with nothing naming or
    /// noting it. (Before, the shutdown waited out the 30 s request timeout.)
    @Test func aShutdownDoesNotWaitForAnOrphanRemovalStuckOnObjectStorage() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let store = try silent.objectStore(timeout: .seconds(30))
        let url = try await TestDatabase.create(label: "orphanstop")
        let key = FileBackend.newKey(kind: "song", id: 999_999_996, fileExtension: "wav")
        @Sendable func notedRecently() async throws -> Bool? {
            try await TestDatabase.withClient(url) { db in
                try await db.query(
                    "SELECT noted_at > now() - interval '10 minutes' FROM audio_server.file_intents WHERE key = \(key)", logger: TestDatabase.logger
                ).collect().first?.decode(Bool.self)
            }
        }
        // Stuck once the sweep has claimed the key (its note is gone).
        let shutdown = try await Self.shutdownWhileStuck(
            url, store, setup: { try await Self.noteAnHourAgo(key, $0) }, stuck: { try await notedRecently() == nil })
        #expect(shutdown < .seconds(20), "the shutdown took \(shutdown)")
        #expect(try await notedRecently() == true, "the claimed key is noted again for a later sweep")
    }

    /// Starts a server on `url` whose object storage is `store` (sweeps every 200 ms, orphans after
    /// 60 s), runs `setup`, waits until `stuck` says a sweep is waiting on the object store (up to
    /// 150 s: with the whole suite sharing 2 cores and one process's cooperative threads, the first
    /// claim once came ~100 s after the server started, where alone it takes well under a second),
    /// then stops the server: returns how long the stop took.
    static func shutdownWhileStuck(
        _ url: DatabaseURL, _ store: ObjectFileStore, setup: @escaping @Sendable (PostgresClient) async throws -> Void,
        stuck: @escaping @Sendable () async throws -> Bool
    ) async throws -> Duration {
        let bodyEnded = try await TestServer.run(
            databaseURL: url, uploadSweepInterval: .milliseconds(200), orphanFileAge: .seconds(60), objectStorage: store
        ) { _, context in
            try await context.sql { db in try await setup(db) }
            let deadline = ContinuousClock.now + .seconds(150)
            while ContinuousClock.now < deadline, try await !stuck() { try await Task.sleep(for: .milliseconds(200)) }
            #expect(try await stuck(), "a sweep is waiting on the object store")
            try await Task.sleep(for: .milliseconds(500))
            return ContinuousClock.now
        }
        return ContinuousClock.now - bodyEnded
    }

    /// A session in object storage that expired an hour ago (its upload id names nothing).
    static func insertExpiredObjectSession(_ id: String, _ db: PostgresClient) async throws {
        _ = try await db.query(
            """
            INSERT INTO audio_server.upload_sessions (id, kind, record_id, upload_length, expires_at, object_key, object_upload_id, object_part_etags)
            VALUES (\(id), 'song', 1, 10, now() - interval '1 hour', 'files/song/1/x.wav', 'upload-id', '{}')
            """, logger: TestDatabase.logger)
    }

    /// Notes `key` as if an hour ago: stale for the sweeper at once.
    static func noteAnHourAgo(_ key: String, _ db: PostgresClient) async throws {
        _ = try await db.query(FileIntents.noteQuery(key), logger: TestDatabase.logger)
        _ = try await db.query(
            "UPDATE audio_server.file_intents SET noted_at = now() - interval '1 hour' WHERE key = \(key)", logger: TestDatabase.logger)
    }

    /// Whether `key` is noted within the last 10 minutes (so: claimed, and noted again) before
    /// `limit` has passed. Between the claim and the new note the key is not noted at all.
    static func isNotedAgain(_ key: String, _ context: ServerContext, within limit: Duration) async throws -> Bool {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < limit {
            try await Task.sleep(for: .milliseconds(200))
            let recent = try await context.sql { db in
                try await db.query(
                    "SELECT noted_at > now() - interval '10 minutes' FROM audio_server.file_intents WHERE key = \(key)", logger: TestDatabase.logger
                ).collect().first?.decode(Bool.self)
            }
            if recent == true { return true }
        }
        return false
    }

    static func noted(_ context: ServerContext) async throws -> [String] {
        try await context.sql { db in
            try await db.query("SELECT key FROM audio_server.file_intents", logger: TestDatabase.logger).collect().map { try $0.decode(String.self) }
        }
    }
}

/// A TCP port that accepts connections (the kernel completes them from its backlog) and never
/// answers: an object store behind a black hole.
final class SilentListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        // A deep backlog: every connection attempt completes (and then hears nothing), so requests
        // wait out their timeout rather than a connect timeout, however many the test makes.
        guard bound == 0, listen(fd, 4096) == 0 else {
            _ = Glibc.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }

    /// An object store whose endpoint is this listener: every request waits out `timeout`.
    func objectStore(timeout: TimeAmount) throws -> ObjectFileStore {
        let location = try S3Location(bucket: "audio-silent", endpoint: "http://127.0.0.1:\(port)", pathStyle: true)
        return ObjectFileStore(
            client: ObjectStorageClient(
                location: location, credentials: ObjectStorageCredentials(accessKeyID: "k", secretAccessKey: "s"),
                configuration: .init(requestTimeout: timeout, transferTimeout: timeout)))
    }
}
