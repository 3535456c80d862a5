import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import PostgresNIO
import Storage
import Testing

@Suite struct UploadTests {
    static let formats: [(file: String, format: String, codec: String, contentType: String, seconds: Double)] = [
        ("wav_stereo_s16.wav", "wav", "pcm_s16le", "audio/wav", 1.5),
        ("aiff_stereo_s16.aiff", "aiff", "pcm_s16be", "audio/aiff", 1.5),
        ("flac_stereo.flac", "flac", "flac", "audio/flac", 3.0),
        ("mp3_vbr_xing.mp3", "mp3", "mp3", "audio/mpeg", 5.0),
        ("ogg_vorbis_stereo.ogg", "ogg", "vorbis", "audio/ogg", 3.0),
        ("opus_stereo.opus", "opus", "opus", "audio/ogg", 3.0),
        ("m4a_aac_stereo.m4a", "m4a", "aac", "audio/mp4", 3.0),
    ]

    @Test(arguments: TestBackend.all) func everyFormatIsProbedAndStored(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            for expected in Self.formats {
                let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
                let response = try await client.upload("/api/audio/song/\(id)", file: expected.file)
                #expect(response.status == .ok, "\(expected.file): \(response.text)")
                let record = try response.json()
                #expect(record["uploaded_time"]?.stringValue != nil)
                let file = try #require(record["file"]?.objectValue, "\(expected.file)")
                let bytes = try Fixture.bytes(expected.file)
                #expect(file["size"]?.int64 == Int64(bytes.count))
                #expect(file["sha256"]?.stringValue == Fixture.sha256(bytes))
                #expect(file["format"]?.stringValue == expected.format, "\(expected.file)")
                #expect(file["codec"]?.stringValue == expected.codec, "\(expected.file)")
                #expect(file["content_type"]?.stringValue == expected.contentType)
                #expect(file["original_name"]?.stringValue == expected.file)
                let seconds = try #require(file["duration_seconds"].flatMap { if case .number(let n) = $0 { n.double } else { nil } })
                #expect(abs(seconds - expected.seconds) <= expected.seconds * 0.01, "\(expected.file): \(seconds)")
                #expect(file["sample_rate"]?.int64 != nil && file["channels"]?.int64 == 2)
                #expect(try await client.get("/api/audio/song/\(id)").json() == record)
            }
            #expect(try await context.files().count == Self.formats.count)
            #expect(try await context.files().allSatisfy { $0.hasPrefix("files/song/") })
        }
    }

    @Test(arguments: TestBackend.all) func detectionIsByContent(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let wav = try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav", declaredType: "text/plain")
            #expect(wav.status == .ok)
            #expect(try wav.json()["file"]?.objectValue?["content_type"] == "audio/wav")
            let raw = try await client.uploadRaw("/api/audio/song/\(id)", bytes: try Fixture.bytes("wav_mono_s16.wav"), contentType: "text/plain")
            #expect(raw.status == .ok)
            #expect(try raw.json()["file"]?.objectValue?["original_name"] == .null, "a raw body without a name has none")
            // A raw body names its file with the request's Content-Disposition, as a part would (filename* first).
            let named = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [
                    .contentType: "audio/wav",
                    .contentDisposition: #"attachment; filename="fallback.wav"; filename*=UTF-8''M%C3%BD%20song.wav"#,
                ],
                body: ByteBuffer(bytes: try Fixture.bytes("wav_mono_s16.wav")))
            #expect(try named.json()["file"]?.objectValue?["original_name"] == "Mý song.wav", "\(named.text)")
            let download = try await client.get("/api/audio/song/\(id)/file")
            #expect(download.headers[.contentDisposition]?.contains("M%C3%BD%20song.wav") == true)
            let text = try await client.uploadRaw("/api/audio/song/\(id)", bytes: Array("just some text, not audio".utf8), contentType: "audio/mpeg")
            #expect(text.status == .unsupportedMediaType && text.isProblem)
            let problem = try text.json()
            #expect(problem["accepted_formats"]?.arrayValue?.count == 7)
            #expect(problem["detail"]?.stringValue?.contains("mp3") == true)
            let png = try await client.upload("/api/audio/song/\(id)", file: "not_audio.png", declaredType: "audio/wav")
            #expect(png.status == .unsupportedMediaType)
            // Only the one accepted file remains; refused uploads left nothing behind.
            #expect(try await context.files().count == 1)
        }
    }

    @Test(arguments: TestBackend.all) func corruptAndTruncatedFilesAre415WithReason(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            for file in [
                "bad_wav_truncated.wav", "bad_flac_truncated.flac", "bad_m4a_no_moov.m4a", "bad_ogg_truncated.ogg", "bad_wav_zero_channels.wav",
            ] {
                let response = try await client.upload("/api/audio/song/\(id)", file: file)
                #expect(response.status == .unsupportedMediaType, "\(file)")
                let detail = try response.json()["detail"]?.stringValue ?? ""
                #expect(detail.contains("truncated") || detail.contains("corrupt"), "\(file): \(detail)")
            }
            #expect(try await context.files().isEmpty)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
        }
    }

    @Test(arguments: TestBackend.all) func uploadProblems(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            var noFile = MultipartBody()
            noFile.addField(name: "title", value: "no file here")
            let missing = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [.contentType: noFile.contentType], body: ByteBuffer(bytes: noFile.bytes))
            #expect(missing.status == .badRequest && missing.isProblem)
            #expect(try missing.json()["detail"]?.stringValue?.contains("file") == true)
            #expect(try await client.upload("/api/audio/song/999999", file: "wav_mono_s16.wav").status == .notFound)
            #expect(try await client.upload("/api/audio/nokind/1", file: "wav_mono_s16.wav").status == .notFound)
            #expect(try await client.upload("/api/audio/song/abc", file: "wav_mono_s16.wav").status == .badRequest)
            let named = try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav", fieldName: "song")
            #expect(named.status == .ok)
            let json = try await client.uploadRaw("/api/audio/song/\(id)", bytes: Array("{}".utf8), contentType: "application/json")
            #expect(json.status == .unsupportedMediaType && json.isProblem)
            #expect(try await context.files().count == 1)
            #expect(try await !context.files().contains { $0.hasPrefix("tmp/") })
        }
    }

    @Test(arguments: TestBackend.all) func malformedMultipartAndOversizedOtherPartsAre400AndLeaveNothing(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            // A delimiter followed by neither CRLF nor "--".
            var body = MultipartBody()
            body.addFile(filename: "x.wav", contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
            let broken = Array("--\(body.boundary)garbage\r\n\r\n".utf8) + body.bytes
            let malformed = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [.contentType: body.contentType], body: ByteBuffer(bytes: broken))
            #expect(malformed.status == .badRequest && malformed.isProblem)
            #expect(try malformed.json()["type"] == "/problems/malformed-multipart")
            // A text part of more than 1 MiB before the file: refused, the file is never read.
            var chatty = MultipartBody()
            chatty.addField(name: "notes", value: String(repeating: "n", count: (1 << 20) + 1))
            chatty.addFile(filename: "x.wav", contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
            let tooMuch = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [.contentType: chatty.contentType], body: ByteBuffer(bytes: chatty.bytes))
            #expect(tooMuch.status == .badRequest && tooMuch.isProblem)
            #expect(try tooMuch.json()["detail"]?.stringValue?.contains("1 MiB") == true)
            #expect(try await context.files().isEmpty)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
        }
    }

    @Test(arguments: TestBackend.all) func truncatedMultipartIs400AndLeavesNothing(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            var body = MultipartBody()
            body.addFile(filename: "x.wav", contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
            // Cut inside the file part: no closing boundary ever arrives.
            let cut = Array(body.bytes.prefix(10_000))
            let response = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [.contentType: body.contentType], body: ByteBuffer(bytes: cut))
            #expect(response.status == .badRequest && response.isProblem)
            #expect(try response.json()["type"] == "/problems/truncated-upload")
            #expect(try await context.files().isEmpty)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
        }
    }

    @Test(arguments: TestBackend.all) func sizeLimits(_ backend: TestBackend) async throws {
        let small = """
            name: clip
            fields:
              name: {type: string, required: true}
            upload:
              max_size: 20KB
              formats: [wav]
            """
        try await TestServer.run(extraKinds: ["clip.yaml": small], maxUploadBytes: 40_000, backend: backend) { client, context in
            let clip = try await client.create(#"{"filetype":"clip","name":"c"}"#)
            let big = try await client.upload("/api/audio/clip/\(clip)", file: "wav_mono_s16.wav")  // 32 KB > 20 KB
            #expect(big.status == .contentTooLarge && big.isProblem)
            #expect(try big.json()["max_bytes"]?.int64 == 20_000)
            // A lying/absent Content-Length is cut off at the limit while streaming.
            let raw = try await client.execute(
                uri: "/api/audio/clip/\(clip)", method: .put,
                headers: [.contentType: "audio/wav", .transferEncoding: "chunked"],
                body: ByteBuffer(bytes: try Fixture.bytes("wav_mono_s16.wav")))
            #expect(raw.status == .contentTooLarge)
            let mp3 = try await client.upload("/api/audio/clip/\(clip)", file: "mp3_cbr_info.mp3")
            #expect(mp3.status == .unsupportedMediaType || mp3.status == .contentTooLarge)
            let song = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let overServer = try await client.upload("/api/audio/song/\(song)", file: "wav_stereo_s16.wav")  // 66 KB > 40 KB
            #expect(overServer.status == .contentTooLarge)
            #expect(try await context.files().isEmpty)
        }
    }

    @Test(arguments: TestBackend.all) func formatsAcceptedByKind(_ backend: TestBackend) async throws {
        let kind = """
            name: voice
            fields:
              name: {type: string}
            upload:
              formats: [mp3, opus]
            """
        try await TestServer.run(extraKinds: ["voice.yaml": kind], backend: backend) { client, _ in
            let id = try await client.create(#"{"filetype":"voice","name":"v"}"#)
            let wav = try await client.upload("/api/audio/voice/\(id)", file: "wav_mono_s16.wav")
            #expect(wav.status == .unsupportedMediaType)
            #expect(try wav.json()["accepted_formats"] == .array(["mp3", "opus"]))
            #expect(try await client.upload("/api/audio/voice/\(id)", file: "opus_mono.opus").status == .ok)
        }
    }

    @Test(arguments: TestBackend.all) func durationToleranceFromYAML(_ backend: TestBackend) async throws {
        let kind = """
            name: track
            fields:
              name: {type: string}
              duration: {type: integer, min: 1, required: true}
            upload:
              duration_field: duration
              duration_tolerance: 1s
            """
        try await TestServer.run(extraKinds: ["track.yaml": kind], backend: backend) { client, context in
            let wrong = try await client.create(#"{"filetype":"track","duration":100}"#)
            let refused = try await client.upload("/api/audio/track/\(wrong)", file: "wav_stereo_s16.wav")  // 1.5 s
            #expect(refused.status == .unprocessableContent && refused.isProblem)
            let detail = try refused.json()["detail"]?.stringValue ?? ""
            #expect(detail.contains("1.500") && detail.contains("100"), "\(detail)")
            let right = try await client.create(#"{"filetype":"track","duration":2}"#)
            #expect(try await client.upload("/api/audio/track/\(right)", file: "wav_stereo_s16.wav").status == .ok)
            #expect(try await context.files().count == 1)
        }
    }

    @Test(arguments: TestBackend.all) func replacingAndDeletingRemoveOldFiles(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let first = try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav")
            let firstFiles = try await context.files()
            #expect(firstFiles.count == 1)
            let second = try await client.upload("/api/audio/song/\(id)", file: "flac_stereo.flac")
            #expect(second.status == .ok)
            let secondFiles = try await context.files()
            #expect(secondFiles.count == 1 && secondFiles != firstFiles && secondFiles[0].hasSuffix(".flac"))
            let t1 = try first.json()["updated_at"]?.stringValue ?? ""
            let t2 = try second.json()["updated_at"]?.stringValue ?? ""
            #expect(t2 > t1)
            #expect(try await client.execute(uri: "/api/audio/song/\(id)", method: .delete).status == .noContent)
            #expect(try await context.files().isEmpty)
        }
    }

    @Test(arguments: TestBackend.all) func concurrentUploadsLeaveOneConsistentOutcome(_ backend: TestBackend) async throws {
        try await TestServer.run(setup: .live, backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let files = ["wav_mono_s16.wav", "flac_stereo.flac", "mp3_cbr_info.mp3", "opus_mono.opus", "wav_stereo_s16.wav", "m4a_aac_stereo.m4a"]
            let port = try #require(client.port)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for file in files {
                    group.addTask {
                        // A connection of its own per upload, so that the six really run at once: the
                        // test's live client sends them one after another on its one connection, and
                        // its 20 s read timeout counts from the call, so under load the sixth timed out
                        // waiting for the other five.
                        let own = TestClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(120)))
                        own.connect()
                        var body = MultipartBody()
                        body.addFile(filename: file, contentType: "application/octet-stream", bytes: try Fixture.bytes(file))
                        let headers: HTTPFields = [.contentType: body.contentType, .authorization: "Bearer \(context.adminSecret)"]
                        let request = TestClient.Request(
                            "/api/audio/song/\(id)", method: .put, authority: "localhost", headers: headers, body: ByteBuffer(bytes: body.bytes))
                        do {
                            let response = try await own.execute(request)
                            try await own.shutdown()
                            return response.head.status
                        } catch {
                            try? await own.shutdown()
                            throw error
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok })
            let stored = try await context.files()
            #expect(stored.count == 1, "\(stored)")
            let record = try await client.get("/api/audio/song/\(id)").json()
            let sha = try #require(record["file"]?.objectValue?["sha256"]?.stringValue)
            let onDisk = try await context.fileBytes(stored[0])
            #expect(Fixture.sha256(onDisk) == sha)
        }
    }

    @Test(arguments: TestBackend.all) func droppedConnectionLeavesNothingBehind(_ backend: TestBackend) async throws {
        try await TestServer.run(setup: .live, backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let port = try #require(client.port)
            let wav = try Fixture.bytes("wav_stereo_s16.wav")
            // Announce 10 MB, send a few KB of a real file, then hang up.
            try await RawConnection.hangUpMidUpload(port: port, id: id, body: Array(wav.prefix(20_000)))
            let leftovers = try await context.filesAfterCleanup()
            #expect(leftovers.isEmpty, "\(leftovers)")
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
            // The server still serves.
            #expect(try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav").status == .ok)
        }
    }

    @Test(arguments: TestBackend.all) func expectContinueIsAnsweredBeforeTheBody(_ backend: TestBackend) async throws {
        try await TestServer.run(setup: .live, backend: backend) { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let port = try #require(client.port)
            let wav = try Fixture.bytes("wav_mono_s16.wav")
            let answers = try await RawConnection.sendHeadWaitThenBody(
                port: port,
                head: """
                    PUT /api/audio/song/\(id) HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Content-Type: audio/wav\r
                    Content-Length: \(wav.count)\r
                    Expect: 100-continue\r
                    \r

                    """, body: wav)
            #expect(answers.interim.hasPrefix("HTTP/1.1 100 Continue"), "\(answers.interim)")
            #expect(answers.final.hasPrefix("HTTP/1.1 200 OK"), "\(answers.final.prefix(200))")
        }
    }

    @Test func storageVerifyFindsAndRepairsMismatches() async throws {
        // The server's own sweep (every 30 s by default) would remove the stale temp file this
        // test plants before `verify` sees it; an hour keeps it out of the test's way.
        try await TestServer.run(uploadSweepInterval: .seconds(3600)) { client, context in
            let a = try await client.create(#"{"filetype":"song","name":"a","duration":3}"#)
            let b = try await client.create(#"{"filetype":"song","name":"b","duration":3}"#)
            _ = try await client.upload("/api/audio/song/\(a)", file: "wav_mono_s16.wav")
            _ = try await client.upload("/api/audio/song/\(b)", file: "flac_stereo.flac")
            let kinds = try KindLoader.load(directory: context.kindsDirectory).kinds
            let files = FileStore(root: context.storageDirectory)
            let clean = try await context.sql { db in
                try await StorageVerifier(records: RecordStore(client: db, logger: Logger(label: "t")), files: files).verify(kinds: kinds)
            }
            #expect(clean.isEmpty, "\(clean)")
            // Damage: an orphan, a stale temp file, one file corrupted, one deleted.
            let stored = context.storedFiles()
            try writeFile(context.storageDirectory + "/files/song/77/x.wav", "orphan")
            try FileManager.default.createDirectory(atPath: context.storageDirectory + "/tmp", withIntermediateDirectories: true)
            let temp = context.storageDirectory + "/tmp/old.part"
            #expect(
                FileManager.default.createFile(
                    atPath: temp, contents: Data("partial".utf8),
                    attributes: [.modificationDate: Date(timeIntervalSinceNow: -7200)]))
            let flac = try #require(stored.first { $0.hasSuffix(".flac") })
            let wav = try #require(stored.first { $0.hasSuffix(".wav") })
            try Data("corrupted".utf8).write(to: URL(fileURLWithPath: context.storageDirectory + "/" + flac))
            try FileManager.default.removeItem(atPath: context.storageDirectory + "/" + wav)
            let problems = try await context.sql { db in
                try await StorageVerifier(records: RecordStore(client: db, logger: Logger(label: "t")), files: files).verify(kinds: kinds)
            }
            #expect(problems.count == 4, "\(problems)")
            #expect(problems.contains(.orphan(key: "files/song/77/x.wav")))
            #expect(problems.contains(.staleTemporary(path: temp)))
            #expect(problems.contains { if case .missing(_, let id, _) = $0 { id == a } else { false } })
            #expect(problems.contains { if case .corrupted(_, let id, _, _) = $0 { id == b } else { false } })
            let removed = StorageVerifier.repair(problems, in: files)
            #expect(removed.count == 2)
            #expect(!FileManager.default.fileExists(atPath: temp))
            #expect(!FileManager.default.fileExists(atPath: context.storageDirectory + "/files/song/77/x.wav"))
        }
    }
}

/// Writes a small file, creating its folders.
func writeFile(_ path: String, _ text: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}
