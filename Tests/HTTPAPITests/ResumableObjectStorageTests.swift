import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import NIOCore
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// Resumable uploads with object storage (`ObjectUploadStaging`): a session's acknowledged bytes
/// are in the bucket (multipart parts, and a tail object below S3's 5 MiB part minimum), so a
/// server with another local staging folder continues it, and ending a session in any way leaves
/// nothing in the bucket. Against the real SeaweedFS of `scripts/with-test-s3.sh`.
@Suite(.enabled(if: TestObjectStorage.configured, "TEST_S3_URL not set: run through scripts/with-test-s3.sh (starts SeaweedFS)"))
struct ResumableObjectStorageTests {
    static let chunk = 5_000_000  // below S3's part minimum (5 MiB), as tus clients often send

    /// A WAV of `dataBytes` sample bytes and its SHA-256, made on a thread of its own (not on
    /// Swift's cooperative pool, which the in-process servers need).
    static func wav(dataBytes: Int) async throws -> (bytes: [UInt8], sha256: String) {
        try await RawSocket.onThread {
            let wav = LargeUploadTests.wav(dataBytes: dataBytes)
            return (wav, Fixture.sha256(wav))
        }
    }

    /// What the bucket holds of resumable uploads: tail objects and open multipart uploads.
    static func inProgress(_ context: ServerContext) async throws -> (tails: [String], multipart: [String]) {
        let tails = try await context.files().filter { $0.hasPrefix("uploads/") }
        return (tails, try await context.openMultipartUploads())
    }

    @Test func aSessionStartedOnOneServerIsFinishedByAnotherWithItsOwnStagingFolder() async throws {
        let (wav, sha256) = try await Self.wav(dataBytes: 17_000_000)
        let seconds = Double(wav.count - 44) / (44_100 * 4)
        let store = try TestObjectStorage.store()
        let url = try await TestDatabase.create(label: "s3resume")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("audio-s3resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await TestServer.run(setup: .live, storageDirectory: root + "/a", databaseURL: url, objectStorage: store) { a, contextA in
            try await TestServer.run(storageDirectory: root + "/b", databaseURL: url, objectStorage: store) { b, contextB in
                let id = try await a.create(#"{"filetype":"song","name":"two servers","duration":\#(Int(seconds))}"#)
                let location = try #require(try await a.tusCreate("song", id, length: wav.count).headers[.location])
                // A's first append is cut: 3,000,000 of an announced 5,000,000 bytes arrive.
                try await RawConnection.cutTusAppend(
                    port: try #require(a.port), location: location, offset: 0, announced: Self.chunk, body: Array(wav[0..<3_000_000]))
                var offset = 0
                for _ in 0..<200 where offset == 0 {
                    try await Task.sleep(for: .milliseconds(25))
                    offset = Int(try await b.tusHead(location).headers[.uploadOffset] ?? "") ?? 0
                }
                #expect(offset == 3_000_000, "what arrived before the hang-up is kept")
                // Below the part minimum: a tail object in the bucket, no multipart upload yet.
                var progress = try await Self.inProgress(contextA)
                #expect(progress.tails.count == 1 && progress.multipart.isEmpty, "\(progress)")
                // Then 5,000,000-byte appends, alternating servers, B first: B has none of the bytes locally.
                var servers: [any TestClientProtocol] = [b, a]
                var appends = 0
                while offset < wav.count {
                    let end = min(offset + Self.chunk, wav.count)
                    let response = try await servers[0].tusPatch(location, offset: offset, Array(wav[offset..<end]))
                    #expect(response.status == .noContent, "\(response.status) \(response.text)")
                    offset = Int(response.headers[.uploadOffset] ?? "") ?? wav.count
                    servers.swapAt(0, 1)
                    appends += 1
                    if appends == 1 {
                        // 8,000,000 bytes: one part, and the tail it absorbed is gone.
                        progress = try await Self.inProgress(contextA)
                        #expect(progress.tails.isEmpty && progress.multipart.count == 1, "\(progress)")
                    }
                }
                #expect(appends == 3)  // 3,000,000 → 8,000,000 → 13,000,000 → the end
                let file = try #require(try await a.get("/api/audio/song/\(id)").json()["file"]?.objectValue)
                #expect(file["sha256"]?.stringValue == sha256)
                #expect(file["size"]?.int64 == Int64(wav.count))
                let duration = try #require(file["duration_seconds"].flatMap { if case .number(let n) = $0 { n.double } else { nil } })
                #expect(abs(duration - seconds) < 0.01)
                // The bucket holds the file (under the format's extension) and nothing of the upload.
                let objects = try await contextA.files()
                #expect(objects.count == 1 && objects[0].hasPrefix("files/song/\(id)/") && objects[0].hasSuffix(".wav"), "\(objects)")
                #expect(try await contextA.openMultipartUploads().isEmpty)
                #expect(Fixture.sha256(try await contextA.fileBytes(objects[0])) == sha256)
                // Neither server kept anything locally.
                #expect(contextA.storedFiles().isEmpty && contextB.storedFiles().isEmpty, "\(contextA.storedFiles()) \(contextB.storedFiles())")
            }
        }
    }

    /// A restart loses nothing acknowledged: the first server is gone (and its staging folder with
    /// it) when the second, with a staging folder of its own, resumes.
    @Test func anAcknowledgedOffsetSurvivesTheServerAndItsStagingFolder() async throws {
        let (wav, sha256) = try await Self.wav(dataBytes: 8_000_000)
        let store = try TestObjectStorage.store()
        let url = try await TestDatabase.create(label: "s3restart")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("audio-s3restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (id, location) = try await TestServer.run(storageDirectory: root + "/a", databaseURL: url, objectStorage: store) { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"restart","duration":45}"#)
            let location = try #require(try await client.tusCreate("song", id, length: wav.count).headers[.location])
            #expect(try await client.tusPatch(location, offset: 0, Array(wav[0..<Self.chunk])).status == .noContent)
            return (id, location)
        }
        try FileManager.default.removeItem(atPath: root + "/a")
        try await TestServer.run(storageDirectory: root + "/b", databaseURL: url, objectStorage: store) { client, context in
            #expect(try await client.tusHead(location).headers[.uploadOffset] == String(Self.chunk))
            let done = try await client.tusPatch(location, offset: Self.chunk, Array(wav[Self.chunk...]))
            #expect(done.status == .noContent, "\(done.text)")
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"]?.objectValue?["sha256"]?.stringValue == sha256)
            #expect(try await Self.inProgress(context) == ([], []))
        }
    }

    @Test func aChecksumMismatchKeepsNothingOfTheChunk() async throws {
        let (wav, sha256) = try await Self.wav(dataBytes: 12_000_000)
        try await TestServer.run(backend: .s3) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":\#(Int(Double(wav.count - 44) / 176_400))}"#)
            let location = try #require(try await client.tusCreate("song", id, length: wav.count).headers[.location])
            let first = Array(wav[0..<Self.chunk])
            #expect(
                try await client.tusPatch(location, offset: 0, first, checksum: "sha256 \(ResumableUploadTests.sha256(first))").status == .noContent)
            let before = try await Self.inProgress(context)
            #expect(before.tails.count == 1 && before.multipart.isEmpty)
            // With the tail, this chunk would make a part: refused, nothing of it reaches the bucket.
            let second = Array(wav[Self.chunk..<(2 * Self.chunk)])
            let bad = try await client.tusPatch(location, offset: Self.chunk, second, checksum: "sha256 \(ResumableUploadTests.sha256([1, 2, 3]))")
            #expect(bad.status.code == 460 && client.slug(bad) == "checksum-mismatch", "\(bad.text)")
            #expect(try await client.tusHead(location).headers[.uploadOffset] == String(Self.chunk))
            let after = try await Self.inProgress(context)
            #expect(after.tails == before.tails && after.multipart.isEmpty, "\(after)")
            #expect(context.storedFiles().isEmpty)
            // Sent again right, then the rest: the file is whole.
            #expect(
                try await client.tusPatch(location, offset: Self.chunk, second, checksum: "sha256 \(ResumableUploadTests.sha256(second))").status
                    == .noContent)
            #expect(try await client.tusPatch(location, offset: 2 * Self.chunk, Array(wav[(2 * Self.chunk)...])).status == .noContent)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"]?.objectValue?["sha256"]?.stringValue == sha256)
            #expect(try await Self.inProgress(context) == ([], []))
        }
    }

    /// Termination, a refused file (415), expiry and a deleted record: each ends the session and
    /// leaves neither a multipart upload nor a tail (nor a file) in the bucket.
    @Test func everyEndLeavesNothingInTheBucket() async throws {
        let (wav, _) = try await Self.wav(dataBytes: 13_000_000)
        try await TestServer.run(backend: .s3) { client, context in
            /// A session with a part (10,000,000 bytes) and a tail (3,000,000 bytes) of `bytes`.
            func started(_ bytes: [UInt8], length: Int? = nil) async throws -> (id: Int64, location: String) {
                let id = try await client.create(#"{"filetype":"song","name":"t","duration":73}"#)
                let location = try #require(try await client.tusCreate("song", id, length: length ?? bytes.count).headers[.location])
                for start in stride(from: 0, to: 13_000_000, by: Self.chunk) {
                    let end = min(start + Self.chunk, 13_000_000)
                    let response = try await client.tusPatch(location, offset: start, Array(bytes[start..<end]))
                    if end == bytes.count { return (id, location) }
                    #expect(response.status == .noContent, "\(response.text)")
                }
                let progress = try await Self.inProgress(context)
                #expect(progress.tails.count == 1 && progress.multipart.count == 1, "\(progress)")
                return (id, location)
            }
            /// `settling`: the sweeper may have taken the session first (it ended it and is still
            /// removing its objects when the request's own removal finds it already ended), so the
            /// bucket empties shortly after the answer rather than before it.
            func expectEmptyBucket(_ what: String, settling: Bool = false) async throws {
                let (left, open) = try await poll(for: settling ? .seconds(15) : .zero) {
                    (try await context.files(), try await context.openMultipartUploads())
                } until: {
                    $0.isEmpty && $1.isEmpty
                }
                #expect(left.isEmpty, "\(what): \(left)")
                #expect(open.isEmpty, "\(what): \(open)")
            }
            // Termination.
            let terminated = try await started(wav, length: wav.count + 1)
            #expect(try await client.execute(uri: terminated.location, method: .delete, headers: ResumableUploadTests.tus()).status == .noContent)
            try await expectEmptyBucket("termination")
            // Expiry: the next request finds it expired and removes it.
            let expiring = try await started(wav, length: wav.count + 1)
            try await context.expire(expiring.location)
            #expect(try await client.tusPatch(expiring.location, offset: 13_000_000, [1]).status == .gone)
            try await expectEmptyBucket("expiry", settling: true)
            // The record deleted.
            let orphaned = try await started(wav, length: wav.count + 1)
            #expect(try await client.execute(uri: "/api/audio/song/\(orphaned.id)", method: .delete).status == .noContent)
            try await expectEmptyBucket("record deleted")
            // Not audio: the completing append is refused (415); the completed object goes too.
            let text = Array(String(repeating: "not audio at all. ", count: 13_000_000 / 18 + 1).utf8.prefix(13_000_000))
            let refused = try await started(text)
            let head = try await client.tusHead(refused.location)
            #expect(head.status == .notFound, "the session ended")
            try await expectEmptyBucket("refused")
            #expect(context.storedFiles().isEmpty)
        }
    }

    /// The sweeper removes an expired session's multipart upload and tail with no request asking.
    @Test func theSweeperEmptiesTheBucketOfExpiredSessions() async throws {
        let (wav, _) = try await Self.wav(dataBytes: 8_000_000)
        try await TestServer.run(uploadSweepInterval: .milliseconds(200), backend: .s3) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":45}"#)
            let location = try #require(try await client.tusCreate("song", id, length: wav.count + 1).headers[.location])
            #expect(try await client.tusPatch(location, offset: 0, Array(wav[0..<6_000_000])).status == .noContent)  // a part
            #expect(try await client.tusPatch(location, offset: 6_000_000, Array(wav[6_000_000...])).status == .noContent)  // a tail
            var progress = try await Self.inProgress(context)
            #expect(progress.tails.count == 1 && progress.multipart.count == 1, "\(progress)")
            try await context.expire(location)
            for _ in 0..<100 where progress != ([], []) {
                try await Task.sleep(for: .milliseconds(50))
                progress = try await Self.inProgress(context)
            }
            #expect(progress == ([], []), "\(progress)")
        }
    }

    /// A session ended while object storage fails (here: terminated through a server whose
    /// object storage is down) is gone for clients at once, and its bytes are not forgotten: its
    /// row stays, ended, and once the retry time has passed a server that reaches the bucket
    /// removes them and the row. (Before, a failed removal was ignored: the bytes stayed in the
    /// bucket for good, an open multipart upload billed and invisible in listings.)
    @Test func aSessionEndedWhileObjectStorageIsDownIsClearedByALaterSweep() async throws {
        let (wav, _) = try await Self.wav(dataBytes: 8_000_000)
        let url = try await TestDatabase.create(label: "s3ended")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("audio-s3ended-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await TestServer.run(
            storageDirectory: root + "/a", databaseURL: url, uploadSweepInterval: .milliseconds(200), objectStorage: try TestObjectStorage.store()
        ) { a, contextA in
            try await TestServer.run(
                storageDirectory: root + "/b", databaseURL: url, uploadSweepInterval: .seconds(3600),
                objectStorage: try ObjectStorageDownTests.unreachable()
            ) { b, _ in
                let id = try await a.create(#"{"filetype":"song","name":"t","duration":45}"#)
                let location = try #require(try await a.tusCreate("song", id, length: wav.count + 1).headers[.location])
                #expect(try await a.tusPatch(location, offset: 0, Array(wav[0..<6_000_000])).status == .noContent)  // a part
                #expect(try await a.tusPatch(location, offset: 6_000_000, Array(wav[6_000_000...])).status == .noContent)  // a tail
                #expect(try await Self.inProgress(contextA).tails.count == 1)
                #expect(try await Self.inProgress(contextA).multipart.count == 1)

                let terminated = try await b.execute(uri: location, method: .delete, headers: ResumableUploadTests.tus())
                #expect(terminated.status == .noContent, "\(terminated.status) \(terminated.text)")
                #expect(try await a.tusHead(location).status == .notFound, "the session ended for clients")
                #expect(try await b.execute(uri: location, method: .delete, headers: ResumableUploadTests.tus()).status == .notFound)
                var progress = try await Self.inProgress(contextA)
                #expect(progress.tails.count == 1 && progress.multipart.count == 1, "the removal failed: \(progress)")
                let token = String(location.split(separator: "/").last!)
                @Sendable func ended() async throws -> Bool? {
                    try await contextA.sql { db in
                        try await db.query(
                            "SELECT ended_at IS NOT NULL FROM audio_server.upload_sessions WHERE id = \(token)", logger: TestDatabase.logger
                        ).collect().first?.decode(Bool.self)
                    }
                }
                #expect(try await ended() == true, "the row stays, ended, until its bytes are gone")
                // Expired too: a server of an earlier version (no `ended_at`) must not take it for live.
                let expired = try await contextA.sql { db in
                    try await db.query(
                        "SELECT expires_at <= now() FROM audio_server.upload_sessions WHERE id = \(token)", logger: TestDatabase.logger
                    ).collect().first?.decode(Bool.self)
                }
                #expect(expired == true)
                // A's sweeps (every 200 ms) leave it alone until the retry time (a minute) has passed.
                try await Task.sleep(for: .seconds(1))
                #expect(try await ended() == true)
                try await contextA.sql { db in
                    _ = try await db.query(
                        "UPDATE audio_server.upload_sessions SET claimed_until = clock_timestamp() - interval '1 second' WHERE id = \(token)",
                        logger: TestDatabase.logger)
                }
                // Up to 30 s on a loaded machine.
                for _ in 0..<150 where progress != ([], []) {
                    try await Task.sleep(for: .milliseconds(200))
                    progress = try await Self.inProgress(contextA)
                }
                #expect(progress == ([], []), "\(progress)")
                for _ in 0..<50 where try await ended() != nil { try await Task.sleep(for: .milliseconds(100)) }
                #expect(try await ended() == nil, "the row went with its bytes")
            }
        }
    }

    /// The refusal's answer itself, apart from the bucket.
    @Test func aRefusedCompletionAnswers415() async throws {
        try await TestServer.run(backend: .s3) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let text = Array(String(repeating: "not audio at all. ", count: 400_000).utf8)  // 7.2 MB: a part, then the rest
            let location = try #require(try await client.tusCreate("song", id, length: text.count).headers[.location])
            #expect(try await client.tusPatch(location, offset: 0, Array(text[0..<6_000_000])).status == .noContent)
            #expect(try await context.openMultipartUploads().count == 1)
            let refused = try await client.tusPatch(location, offset: 6_000_000, Array(text[6_000_000...]))
            #expect(refused.status == .unsupportedMediaType && client.slug(refused) == "not-audio", "\(refused.text)")
            #expect(try await Self.inProgress(context) == ([], []))
            #expect(try await context.files().isEmpty)
        }
    }

    /// `storage verify` leaves a live session's multipart upload and tail alone, and reports (and
    /// repairs) those of a session that is gone.
    @Test func storageVerifyKnowsLiveSessions() async throws {
        let (wav, _) = try await Self.wav(dataBytes: 13_000_000)
        try await TestServer.run(backend: .s3) { client, context in
            let objects = try #require(context.objects)
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":73}"#)
            let location = try #require(try await client.tusCreate("song", id, length: wav.count).headers[.location])
            for start in [0, Self.chunk, 2 * Self.chunk] {
                let end = min(start + Self.chunk, 13_000_000)
                #expect(try await client.tusPatch(location, offset: start, Array(wav[start..<end])).status == .noContent)
            }
            let kinds = context.registry.runtime.catalog.kinds
            @Sendable func verify() async throws -> [StorageMismatch] {
                try await context.sql { db in
                    try await ObjectStorageVerifier(records: RecordStore(client: db, logger: Logger(label: "t")), store: objects)
                        .verify(kinds: kinds, now: Date().addingTimeInterval(5))
                }
            }
            #expect(try await verify().isEmpty)
            // The session's row gone behind the server's back: its multipart upload and tail are left over.
            let token = String(location.split(separator: "/").last!)
            try await context.sql { db in
                _ = try await db.query("DELETE FROM audio_server.upload_sessions WHERE id = \(token)", logger: TestDatabase.logger)
            }
            let problems = try await verify()
            #expect(problems.count == 2, "\(problems)")
            #expect(problems.contains { if case .abandonedMultipartUpload = $0 { true } else { false } })
            #expect(problems.contains { if case .orphan(let key) = $0 { key.hasPrefix("uploads/\(token)/") } else { false } })
            #expect(await ObjectStorageVerifier.repair(problems, in: objects).count == 2)
            #expect(try await Self.inProgress(context) == ([], []))
        }
    }

    @Test func theSplitKeepsEveryPartButTheLastAtTheMinimum() {
        let min = ObjectUploadStaging.minimumPart
        let part: Int64 = 16 << 20
        #expect(ObjectUploadStaging.split(pending: 5_000_000, final: false, partSize: part) == ([], 5_000_000))
        #expect(ObjectUploadStaging.split(pending: 5_000_000, final: true, partSize: part) == ([5_000_000], 0))
        #expect(ObjectUploadStaging.split(pending: min, final: false, partSize: part) == ([min], 0))
        #expect(ObjectUploadStaging.split(pending: 10_000_000, final: false, partSize: part) == ([10_000_000], 0))
        #expect(ObjectUploadStaging.split(pending: part + min - 1, final: false, partSize: part) == ([part + min - 1], 0))
        #expect(ObjectUploadStaging.split(pending: part + min, final: false, partSize: part) == ([part, min], 0))
        #expect(ObjectUploadStaging.split(pending: 3 * part, final: true, partSize: part) == ([part, part, part], 0))
        #expect(ObjectUploadStaging.split(pending: 0, final: true, partSize: part) == ([], 0))
    }
}
