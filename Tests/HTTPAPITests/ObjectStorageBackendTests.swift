import AsyncHTTPClient
import Crypto
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import NIOCore
import Storage
import Synchronization
import TestSupport
import Testing

/// Files in S3-compatible object storage (`STORAGE_URL=s3://…`), against the real SeaweedFS that
/// `scripts/with-test-s3.sh` starts. The disk path's upload and download tests run on this backend
/// too (`UploadTests`, `DownloadTests`, parameterised by `TestBackend`); these cover what only
/// object storage has: multipart uploads, their abort, redirect downloads, `storage verify` on S3,
/// and `serve` refusing a wrong bucket, endpoint or credential.
@Suite(.enabled(if: TestObjectStorage.configured, "TEST_S3_URL not set: run through scripts/with-test-s3.sh (starts SeaweedFS)"))
struct ObjectStorageBackendTests {
    /// A kind without duration rules, so any WAV fits; `download` as given.
    static func tapeKind(download: String) -> String {
        """
        name: tape
        access:
          read: public
          download: signed
        fields:
          name: {type: string}
        upload:
          download: \(download)
        """
    }

    @Test func largeUploadGoesUpInPartsAndReadsBackWhole() async throws {
        let store = try TestObjectStorage.store(multipartThreshold: 5 << 20, partSize: 5 << 20)
        try await TestServer.run(extraKinds: ["tape.yaml": Self.tapeKind(download: "proxy")], objectStorage: store) { client, context in
            let id = try await client.create(#"{"filetype":"tape","name":"long"}"#)
            let wav = SyntheticWAV.bytes(dataBytes: 12 << 20)  // three parts: 5 + 5 + 2 MiB
            let response = try await client.uploadRaw("/api/audio/tape/\(id)", bytes: wav, contentType: "audio/wav")
            #expect(response.status == .ok, "\(response.text)")
            #expect(try response.json()["file"]?.objectValue?["sha256"]?.stringValue == Fixture.sha256(wav))
            let stored = try await context.files()
            #expect(stored.count == 1 && stored[0].hasPrefix("files/tape/\(id)/"), "\(stored)")
            #expect(try await context.openMultipartUploads().isEmpty)
            let full = try await client.get("/api/audio/tape/\(id)/file")
            #expect(full.status == .ok && full.body.readableBytes == wav.count)
            #expect(Fixture.sha256(Array(full.body.readableBytesView)) == Fixture.sha256(wav))
            // A range across the first part boundary.
            let from = (5 << 20) - 10
            let across = try await client.get("/api/audio/tape/\(id)/file", headers: [.range: "bytes=\(from)-\(from + 19)"])
            #expect(across.status == .partialContent)
            #expect(Array(across.body.readableBytesView) == Array(wav[from...(from + 19)]))
        }
    }

    /// The client sends a whole 30 MiB body and hangs up at once, while the server is probing it or
    /// sending it on in parts: whatever the server then does, it ends consistent — either the
    /// record names one complete object, or there is no object — and no multipart upload is left.
    /// (Hummingbird does not cancel the handler here: in the runs so far the upload completed.)
    @Test func aClientHangingUpAfterItsBodyLeavesNoTornStateNorMultipartUpload() async throws {
        let store = try TestObjectStorage.store(multipartThreshold: 5 << 20, partSize: 5 << 20)
        try await TestServer.run(extraKinds: ["tape.yaml": Self.tapeKind(download: "proxy")], setup: .live, objectStorage: store) { client, context in
            let id = try await client.create(#"{"filetype":"tape","name":"gone"}"#)
            let port = try #require(client.port)
            let wav = SyntheticWAV.bytes(dataBytes: 30 << 20)
            try await RawConnection.sendThenClose(
                port: port,
                head: "PUT /api/audio/tape/\(id) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: \(wav.count)\r\n\r\n",
                body: wav)
            // Settled: no multipart upload open, no staging file, objects agree with the row.
            var settled = false
            for _ in 0..<200 {
                try await Task.sleep(for: .milliseconds(100))
                let open = try await context.openMultipartUploads()
                let files = try await context.files()
                let file = try await client.get("/api/audio/tape/\(id)").json()["file"]
                let named = file?.objectValue?["sha256"]?.stringValue
                if open.isEmpty, files.allSatisfy({ $0.hasPrefix("files/") }),
                    (named == nil && files.isEmpty) || (named == Fixture.sha256(wav) && files.count == 1)
                {
                    settled = true
                    break
                }
            }
            let files = try await context.files()
            let open = try await context.openMultipartUploads()
            #expect(settled, "\(files) \(open)")
        }
    }

    /// Parts go up several at a time (never more than `partsInFlight`) and complete in any order;
    /// the object is still the file's bytes in order, and nothing is left open.
    @Test func aMultipartUploadSendsPartsAtOnceAndKeepsTheirOrder() async throws {
        var store = try TestObjectStorage.store(multipartThreshold: 5 << 20, partSize: 5 << 20)
        store.partsInFlight = 3
        let size = (5 << 20) * 4 + 12_345  // five parts, the last one short
        // Every byte depends on its offset, so a part stored at the wrong place changes the hash.
        let byte: @Sendable (Int64) -> UInt8 = { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        var expected = SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while offset < Int64(size) {
            let n = min(chunk.count, size - Int(offset))
            for i in 0..<n { chunk[i] = byte(offset + Int64(i)) }
            expected.update(data: chunk[0..<n])
            offset += Int64(n)
        }
        // Parts being read: a part's first read opens it, its last read closes it.
        let partSize: Int64 = 5 << 20
        let reading = Mutex<(open: Set<Int64>, most: Int)>(([], 0))
        try await store.upload(size: Int64(size), key: "files/x/1/parts.wav", contentType: "audio/wav") { offset, buffer in
            for i in 0..<buffer.count { buffer[i] = byte(offset + Int64(i)) }
            let part = offset / partSize
            let end = offset + Int64(buffer.count)
            reading.withLock { state in
                state.open.insert(part)
                state.most = max(state.most, state.open.count)
                if end == min((part + 1) * partSize, Int64(size)) { state.open.remove(part) }
            }
            return buffer.count
        }
        let most = reading.withLock { $0.most }
        #expect((2...3).contains(most), "parts read at once: \(most)")
        let (stored, bytes) = try await store.read(key: "files/x/1/parts.wav", range: 0...Int64(size - 1))
        var actual = SHA256()
        for try await buffer in bytes { buffer.withUnsafeReadableBytes { actual.update(bufferPointer: $0) } }
        #expect(stored == Int64(size))
        #expect(Array(actual.finalize()) == Array(expected.finalize()))
        #expect(try await store.client.listMultipartUploads().isEmpty)
        _ = await store.remove(key: "files/x/1/parts.wav")
    }

    @Test func anUploadFailingMidwayLeavesNoObjectAndNoMultipartUpload() async throws {
        let store = try TestObjectStorage.store(multipartThreshold: 5 << 20, partSize: 5 << 20)
        struct ReadFailed: Error {}
        // Multipart: the second part's source fails after its first MiB.
        await #expect(throws: ReadFailed.self) {
            try await store.upload(size: 12 << 20, key: "files/x/1/a.wav", contentType: "audio/wav") { offset, buffer in
                if offset >= 6 << 20 { throw ReadFailed() }
                buffer.initializeMemory(as: UInt8.self, repeating: 7)
                return buffer.count
            }
        }
        // One PutObject: the source fails half-way.
        await #expect(throws: ReadFailed.self) {
            try await store.upload(size: 2 << 20, key: "files/x/1/b.wav", contentType: "audio/wav") { offset, buffer in
                if offset >= 1 << 20 { throw ReadFailed() }
                buffer.initializeMemory(as: UInt8.self, repeating: 7)
                return buffer.count
            }
        }
        #expect(try await store.client.listAllObjects().isEmpty)
        #expect(try await store.client.listMultipartUploads().isEmpty)
    }

    @Test func redirectDownloadsPlayWithRangeThroughThePresignedURL() async throws {
        try await TestServer.run(extraKinds: ["tape.yaml": Self.tapeKind(download: "redirect")], backend: .s3) { client, _ in
            let id = try await client.create(#"{"filetype":"tape","name":"r"}"#)
            let bytes = try Fixture.bytes("wav_stereo_s16.wav")
            #expect(try await client.upload("/api/audio/tape/\(id)", file: "wav_stereo_s16.wav").status == .ok)
            let uri = "/api/audio/tape/\(id)/file"
            // Access is checked before any redirect: no key, no signature → 401, no Location.
            let anonymous = try await client.get(uri, headers: [KeyedTestClient.anonymous: "1"])
            #expect(anonymous.status == .unauthorized && anonymous.headers[.location] == nil)
            let redirect = try await client.get(uri)
            #expect(redirect.status == .temporaryRedirect)
            #expect(redirect.headers[.cacheControl] == "private, no-store")
            let location = try #require(redirect.headers[.location])
            #expect(location.contains("X-Amz-Signature=") && location.contains("X-Amz-Expires=300"))
            // A player seeks: Range against the presigned URL, no credentials.
            let ranged = try await Self.fetch(location, range: "bytes=100-199")
            #expect(ranged.status == 206)
            #expect(ranged.body == Array(bytes[100...199]))
            #expect(ranged.headers["content-type"] == "audio/wav")
            #expect(ranged.headers["content-disposition"]?.contains("wav_stereo_s16.wav") == true)
            let suffix = try await Self.fetch(location, range: "bytes=-16")
            #expect(suffix.status == 206 && suffix.body == Array(bytes.suffix(16)))
            let whole = try await Self.fetch(location, range: nil)
            #expect(whole.status == 200 && whole.body == bytes)
            // HEAD redirects too; a signed link (no key) is checked, then redirected.
            #expect(try await client.execute(uri: uri, method: .head).status == .temporaryRedirect)
            let link = try await client.execute(uri: uri + "/link?expires_in=60", method: .post)
            let signed = try #require(try link.json()["url"]?.stringValue)
            let viaLink = try await client.get(signed, headers: [KeyedTestClient.anonymous: "1"])
            #expect(viaLink.status == .temporaryRedirect && viaLink.headers[.location] != nil)
            let tampered = try await client.get(
                signed.replacingOccurrences(of: "signature=", with: "signature=x"), headers: [KeyedTestClient.anonymous: "1"])
            #expect((400..<500).contains(tampered.status.code) && tampered.headers[.location] == nil, "\(tampered.status) \(tampered.text)")
        }
    }

    @Test func healthzSaysStorageOK() async throws {
        try await TestServer.run(backend: .s3) { client, _ in
            let health = try await client.get("/healthz")
            #expect(health.status == .ok)
            #expect(health.text.contains(#""storage":"ok""#))
        }
    }

    @Test func storageVerifyFindsEachKindOfProblemAndRepairs() async throws {
        try await TestServer.run(backend: .s3) { client, context in
            let objects = try #require(context.objects)
            var ids: [Int64] = []
            for (name, file) in [("a", "wav_mono_s16.wav"), ("b", "flac_stereo.flac"), ("c", "wav_stereo_s16.wav")] {
                let id = try await client.create(#"{"filetype":"song","name":"\#(name)","duration":3}"#)
                #expect(try await client.upload("/api/audio/song/\(id)", file: file).status == .ok)
                ids.append(id)
            }
            let kinds = try KindLoader.load(directory: context.kindsDirectory).kinds
            @Sendable func verify(deep: Bool) async throws -> [StorageMismatch] {
                try await context.sql { db in
                    try await ObjectStorageVerifier(records: RecordStore(client: db, logger: Logger(label: "t")), store: objects)
                        .verify(kinds: kinds, deep: deep, now: Date().addingTimeInterval(5))
                }
            }
            #expect(try await verify(deep: true).isEmpty)
            // Damage: a deleted, b shorter, c same size other bytes, an orphan, an abandoned multipart upload.
            let rows = try await context.sql { db in
                try await RecordStore(client: db, logger: Logger(label: "t")).allFiles(in: KindQueries(kind: kinds.first { $0.name == "song" }!))
            }
            let byID = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0) })
            try await objects.client.deleteObject(key: byID[ids[0]]!.key)
            try await objects.client.putObject(key: byID[ids[1]]!.key, bytes: ByteBuffer(string: "short"))
            try await objects.client.putObject(
                key: byID[ids[2]]!.key, bytes: ByteBuffer(repeating: 1, count: Int(byID[ids[2]]!.size)))
            try await objects.client.putObject(key: "files/song/77/x.wav", bytes: ByteBuffer(string: "orphan"))
            let abandoned = try await objects.client.createMultipartUpload(key: "files/song/78/y.wav")
            let shallow = try await verify(deep: false)
            #expect(shallow.count == 4, "\(shallow)")
            #expect(shallow.contains(.missing(kind: "song", id: ids[0], key: byID[ids[0]]!.key)))
            #expect(shallow.contains { if case .corrupted(_, let id, _, let why) = $0 { id == ids[1] && why.contains("size") } else { false } })
            #expect(shallow.contains(.orphan(key: "files/song/77/x.wav")))
            #expect(shallow.contains(.abandonedMultipartUpload(key: "files/song/78/y.wav", uploadID: abandoned)))
            let deep = try await verify(deep: true)
            #expect(deep.count == 5, "\(deep)")
            #expect(deep.contains { if case .corrupted(_, let id, _, let why) = $0 { id == ids[2] && why.contains("SHA-256") } else { false } })
            let removed = await ObjectStorageVerifier.repair(deep, in: objects)
            #expect(removed.count == 2)
            #expect(try await objects.client.headObject(key: "files/song/77/x.wav") == nil)
            #expect(try await objects.client.listMultipartUploads().isEmpty)
        }
    }

    @Test func serveRefusesAWrongBucketEndpointOrCredentialByName() throws {
        let binary = try #require(AudioServerBinary.path, "audio-server not built")
        let good = try TestObjectStorage.location()
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none?sslmode=disable"
        environment["SECRET_KEY"] = String(repeating: "s", count: 32)
        environment["AWS_ACCESS_KEY_ID"] = TestObjectStorage.credentials.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = TestObjectStorage.credentials.secretAccessKey
        func refusal(url: String, secret: String? = nil) -> String {
            var env = environment
            env["STORAGE_URL"] = url
            if let secret { env["AWS_SECRET_ACCESS_KEY"] = secret }
            do {
                _ = try run(binary, ["serve"], environment: env)
                return "started"
            } catch {
                return "\(error)"
            }
        }
        let query = "?endpoint=\(good.endpoint)&region=\(good.region)&path_style=true"
        let bucket = refusal(url: "s3://no-such-bucket-here/p/" + query)
        #expect(bucket.contains("bucket 'no-such-bucket-here' does not exist"), "\(bucket)")
        let credential = refusal(url: "s3://\(good.bucket)/p/" + query, secret: "wrong-secret")
        #expect(credential.contains("credentials are rejected"), "\(credential)")
        let endpoint = refusal(url: "s3://\(good.bucket)/p/?endpoint=http://127.0.0.1:1&path_style=true")
        #expect(endpoint.contains("endpoint http://127.0.0.1:1 does not answer"), "\(endpoint)")
        var missing = environment
        missing["STORAGE_URL"] = "s3://\(good.bucket)/p/" + query
        missing["AWS_ACCESS_KEY_ID"] = nil
        #expect(throws: (any Error).self) { _ = try run(binary, ["serve"], environment: missing) }
        for message in [bucket, credential, endpoint] { #expect(!message.contains("database"), "\(message)") }
    }

    /// GET `url` (a presigned URL) with an optional Range, as a browser's `<audio>` would.
    static func fetch(_ url: String, range: String?) async throws -> (status: UInt, headers: [String: String], body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        if let range { request.headers.add(name: "Range", value: range) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return (response.status.code, headers, Array(buffer: body))
    }
}

/// Object storage that does not answer: no SeaweedFS needed.
@Suite struct ObjectStorageDownTests {
    static func unreachable() throws -> ObjectFileStore {
        let location = try S3Location(bucket: "audio-down", endpoint: "http://127.0.0.1:1", pathStyle: true)
        let client = ObjectStorageClient(
            location: location, credentials: ObjectStorageCredentials(accessKeyID: "k", secretAccessKey: "s"),
            configuration: .init(requestTimeout: .seconds(2), transferTimeout: .seconds(2)))
        return ObjectFileStore(client: client)
    }

    @Test func healthzNamesTheObjectStorageAndCachesItsVerdict() async throws {
        let store = try Self.unreachable()
        try await TestServer.run(objectStorage: store) { client, _ in
            let start = ContinuousClock.now
            let first = try await client.get("/healthz")
            #expect(first.status == .serviceUnavailable)
            #expect(try first.json()["type"]?.stringValue == "/problems/storage-unavailable")
            #expect(try first.json()["detail"]?.stringValue?.contains("http://127.0.0.1:1") == true, "\(first.text)")
            // Cached: a poll within the verdict's age sends no probe of its own.
            #expect(try await client.get("/healthz").status == .serviceUnavailable)
            if start.duration(to: .now) < store.health.maxAge { #expect(store.health.probeCount == 1) }
        }
    }

    /// `upload.download: redirect` only means something with object storage: on disk the bytes are
    /// served as with `proxy`. The OpenAPI document lists the 307 for such a kind only.
    @Test func redirectOnDiskServesTheBytesAndOpenAPIListsThe307() async throws {
        try await TestServer.run(extraKinds: ["tape.yaml": ObjectStorageBackendTests.tapeKind(download: "redirect")]) { client, context in
            let id = try await client.create(#"{"filetype":"tape","name":"d"}"#)
            #expect(try await client.upload("/api/audio/tape/\(id)", file: "wav_mono_s16.wav").status == .ok)
            let response = try await client.get("/api/audio/tape/\(id)/file", headers: [.range: "bytes=0-3"])
            #expect(response.status == .partialContent && response.headers[.location] == nil)
            #expect(Array(response.body.readableBytesView) == Array("RIFF".utf8))
            let doc = OpenAPIDocument.make(try KindLoader.load(directory: context.kindsDirectory))
            #expect(doc["paths", "/api/audio/tape/{id}/file", "get", "responses", "307"] != nil)
            #expect(doc["paths", "/api/audio/song/{id}/file", "get", "responses", "307"] == nil)
        }
    }

    @Test func anUploadThatCannotReachTheObjectStorageIs503AndLeavesNothing() async throws {
        try await TestServer.run(objectStorage: try Self.unreachable()) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let response = try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav")
            #expect(response.status == .serviceUnavailable, "\(response.text)")
            #expect(try response.json()["type"]?.stringValue == "/problems/storage-unavailable")
            #expect(!response.text.contains("127.0.0.1"), "the endpoint is logged, not told to clients: \(response.text)")
            #expect(context.storedFiles().isEmpty, "\(context.storedFiles())")
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
        }
    }
}

/// A PCM WAV (8 kHz mono 16-bit) with `dataBytes` of pseudo-random samples.
enum SyntheticWAV {
    static func bytes(dataBytes: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var out = Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVE".utf8)
        out += Array("fmt ".utf8) + le32(16) + le16(1) + le16(1) + le32(8000) + le32(16000) + le16(2) + le16(16)
        out += Array("data".utf8) + le32(dataBytes)
        out.reserveCapacity(out.count + dataBytes)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<dataBytes {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            out.append(UInt8(truncatingIfNeeded: state))
        }
        return out
    }
}

/// `storage migrate`: a disk store's files copied to object storage, interrupted once and resumed.
@Suite(.enabled(if: TestObjectStorage.configured, "TEST_S3_URL not set: run through scripts/with-test-s3.sh (starts SeaweedFS)"))
struct StorageMigrateTests {
    @Test func localToObjectStorageInterruptedOnceThenResumedChecksEveryHash() async throws {
        try await TestServer.run(backend: .disk) { client, context in
            let count = 250
            let fixtures = ["wav_mono_s16.wav", "flac_stereo.flac", "mp3_cbr_info.mp3", "opus_mono.opus", "wav_stereo_s16.wav"]
            for i in 0..<count {
                let id = try await client.create(#"{"filetype":"song","name":"m\#(i)","duration":3}"#)
                let response = try await client.upload("/api/audio/song/\(id)", file: fixtures[i % fixtures.count])
                #expect(response.status == .ok)
            }
            let kinds = try KindLoader.load(directory: context.kindsDirectory).kinds
            let destination = try TestObjectStorage.store(multipartThreshold: 5 << 20, partSize: 5 << 20)
            let journal = context.storageDirectory + "/../migrate.journal"
            @Sendable func migrate(stopAfter: Int?) async throws -> StorageMigrator.Progress {
                try await context.sql { db in
                    try await StorageMigrator(
                        records: RecordStore(client: db, logger: Logger(label: "t")), source: .disk(FileStore(root: context.storageDirectory)),
                        destination: .objectStorage(destination), journalPath: journal, scratchDirectory: context.storageDirectory + "/../scratch"
                    ).run(kinds: kinds, stopAfter: stopAfter)
                }
            }
            // Interrupted after 120 files; the last journal line is lost, as if killed between the
            // upload and the journal write.
            let first = try await migrate(stopAfter: 120)
            #expect(first.filesDone == 120 && first.filesTotal == count)
            var lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 120)
            lines.removeLast()
            try (lines.joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
            #expect(try await destination.client.listAllObjects().count == 120)

            let second = try await migrate(stopAfter: nil)
            #expect(second.filesDone == count && second.skipped == 120, "\(second)")
            #expect(second.bytesDone == second.bytesTotal)
            #expect(second.line.contains("\(count)/\(count) files"))
            #expect(try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").count == count)
            // Every row's object is there once, with the row's hash.
            let objects = try await destination.client.listAllObjects()
            #expect(objects.count == count)
            let verified = try await context.sql { db in
                try await ObjectStorageVerifier(records: RecordStore(client: db, logger: Logger(label: "t")), store: destination)
                    .verify(kinds: kinds, deep: true, now: Date().addingTimeInterval(5))
            }
            #expect(verified.isEmpty, "\(verified)")
            // A third run has nothing left to do.
            let third = try await migrate(stopAfter: nil)
            #expect(third.skipped == count && third.bytesDone == 0)
        }
    }

    /// The commands as an operator runs them: `storage migrate --to s3://…` prints progress and
    /// a summary, then `storage verify --deep` with `STORAGE_URL` set to the destination is clean,
    /// and finds an orphan once one is put there.
    @Test func migrateAndVerifyCommands() async throws {
        let binary = try #require(AudioServerBinary.path, "audio-server not built")
        try await TestServer.run(backend: .disk) { client, context in
            for (i, file) in ["wav_mono_s16.wav", "flac_stereo.flac", "opus_mono.opus"].enumerated() {
                let id = try await client.create(#"{"filetype":"song","name":"c\#(i)","duration":3}"#)
                #expect(try await client.upload("/api/audio/song/\(id)", file: file).status == .ok)
            }
            let destination = try TestObjectStorage.store()
            let url = context.databaseURL
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = "postgres://\(url.user)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
            environment["KINDS_DIR"] = context.kindsDirectory
            environment["AWS_ACCESS_KEY_ID"] = TestObjectStorage.credentials.accessKeyID
            environment["AWS_SECRET_ACCESS_KEY"] = TestObjectStorage.credentials.secretAccessKey
            environment["STORAGE_URL"] = nil
            environment["STORAGE_DIR"] = context.storageDirectory
            let journal = context.storageDirectory + "/../cli.journal"
            let migrated = try run(
                binary, ["storage", "migrate", "--to", TestObjectStorage.url(of: destination), "--journal", journal], environment: environment)
            #expect(migrated.contains("3/3 files"), "\(migrated)")
            #expect(migrated.contains("done: 3 files"), "\(migrated)")
            environment["STORAGE_DIR"] = nil
            environment["STORAGE_URL"] = TestObjectStorage.url(of: destination)
            let verified = try run(binary, ["storage", "verify", "--deep"], environment: environment)
            #expect(verified.contains("storage OK"), "\(verified)")
            try await destination.client.putObject(key: "files/song/99/stray.wav", bytes: ByteBuffer(string: "x"))
            do {
                _ = try run(binary, ["storage", "verify"], environment: environment)
                Issue.record("verify passed with an orphan")
            } catch {
                #expect("\(error)".contains("1 problem found"), "\(error)")
            }
            let repaired = try run(binary, ["storage", "verify", "--repair"], environment: environment)
            #expect(repaired.contains("removed orphan: files/song/99/stray.wav"), "\(repaired)")
        }
    }
}
