import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import TestSupport
import Testing

@testable import HTTPAPI

/// Resumable uploads as the IETF draft has them: `PUT` with `Upload-Complete`, then the upload
/// resource (HEAD, PATCH with application/partial-upload, DELETE), on the engine tus uses.
@Suite struct ResumableDraftTests {
    static let interop: HTTPFields = [.uploadDraftInteropVersion: "8"]

    static func fields(_ extra: HTTPFields) -> HTTPFields {
        var all = interop
        all.append(contentsOf: extra)
        return all
    }

    @Test func completeInOnePutIsThePlainPutsAnswer() async throws {
        try await TestServer.run { client, context in
            let wav = try Fixture.bytes("wav_stereo_s16.wav")
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let put = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: Self.fields([
                    .uploadComplete: "?1", .contentType: "audio/wav",
                    .contentDisposition: "inline; filename=\"draft take.wav\"",
                ]),
                body: ByteBuffer(bytes: wav))
            #expect(put.status == .ok, "\(put.text)")
            #expect(put.headers[.uploadComplete] == "?1")
            let file = try #require(try put.json()["file"]?.objectValue)
            #expect(file["sha256"]?.stringValue == Fixture.sha256(wav) && file["original_name"] == "draft take.wav")
            #expect(context.storedFiles().count == 1)
            // Without Upload-Complete, PUT is today's plain upload (no session, no header).
            let plain = try await client.uploadRaw("/api/audio/song/\(id)", bytes: wav, contentType: "audio/wav")
            #expect(plain.status == .ok && plain.headers[.uploadComplete] == nil)
        }
    }

    /// The draft's discovery: OPTIONS on the PUT target names the limits an upload created there
    /// gets, without a key and without telling whether the record exists.
    @Test func optionsOnThePutTargetAnnouncesTheLimits() async throws {
        let kind = "name: memo\nfields:\n  name: {type: string}\nupload:\n  max_size: 5MB\n  resumable: {max_append: 20KB}\n"
        try await TestServer.run(extraKinds: ["memo.yaml": kind]) { client, _ in
            for id in ["1", "999999"] {
                let options = try await client.execute(uri: "/api/audio/memo/\(id)", method: .options, headers: [KeyedTestClient.anonymous: "1"])
                #expect(options.status == .noContent, "\(options.text)")
                #expect(options.headers[.uploadLimit] == "max-size=5000000, max-append-size=20000", "\(options.headers)")
                let allow = options.headers[.allow] ?? ""
                #expect(allow.contains("PUT") && allow.contains("OPTIONS"), "\(allow)")
            }
            let song = try await client.execute(uri: "/api/audio/song/1", method: .options, headers: [:])
            #expect(
                song.headers[.uploadLimit]?.hasPrefix("max-size=") == true && song.headers[.uploadLimit]?.contains("max-append-size=67108864") == true
            )
            let unknown = try await client.execute(uri: "/api/audio/nosuchkind/1", method: .options, headers: [:])
            #expect(unknown.status == .notFound && unknown.headers[.contentType] == "application/problem+json")
            let badID = try await client.execute(uri: "/api/audio/memo/abc", method: .options, headers: [:])
            #expect(badID.status == .badRequest && badID.headers[.contentType] == "application/problem+json")
        }
    }

    @Test(arguments: TestBackend.all) func createAppendAndComplete(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let wav = try Fixture.bytes("wav_stereo_s16.wav")
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let created = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: Self.fields([.uploadComplete: "?0", .uploadLength: String(wav.count), .contentType: "audio/wav"]),
                body: ByteBuffer(bytes: Array(wav[0..<10_000])))
            #expect(created.status == .created, "\(created.text)")
            #expect(created.headers[.uploadComplete] == "?0" && created.headers[.uploadOffset] == "10000")
            let limit = try #require(created.headers[.uploadLimit])
            #expect(limit.contains("max-size=") && limit.contains("max-append-size=67108864") && limit.contains("max-age="), "\(limit)")
            let location = try #require(created.headers[.location])

            let head = try await client.execute(uri: location, method: .head, headers: Self.interop)
            #expect(head.status == .noContent)
            #expect(
                head.headers[.uploadOffset] == "10000" && head.headers[.uploadComplete] == "?0" && head.headers[.uploadLength] == String(wav.count))
            #expect(head.headers[.cacheControl] == "no-store" && head.headers[.uploadLimit] != nil && head.headers[.tusResumable] == nil)

            func patch(_ offset: Int, _ bytes: [UInt8], complete: Bool, contentType: String = AudioAPI.partialUpload) async throws -> TestResponse {
                try await client.execute(
                    uri: location, method: .patch,
                    headers: Self.fields([.uploadComplete: complete ? "?1" : "?0", .uploadOffset: String(offset), .contentType: contentType]),
                    body: ByteBuffer(bytes: bytes))
            }
            let middle = try await patch(10_000, Array(wav[10_000..<30_000]), complete: false)
            #expect(middle.status == .noContent && middle.headers[.uploadComplete] == "?0" && middle.headers[.uploadOffset] == "30000")
            let stale = try await patch(10_000, Array(wav[10_000..<30_000]), complete: false)
            #expect(stale.status == .conflict && stale.headers[.uploadComplete] == "?0" && stale.headers[.uploadOffset] == "30000")
            #expect(try stale.json()["expected-offset"]?.int64 == 30_000 && (try stale.json()["provided-offset"]?.int64) == 10_000)
            #expect(try await patch(30_000, [1], complete: false, contentType: "application/offset+octet-stream").status == .unsupportedMediaType)
            let noComplete = try await client.execute(
                uri: location, method: .patch, headers: Self.fields([.uploadOffset: "30000", .contentType: AudioAPI.partialUpload]),
                body: ByteBuffer(bytes: [1]))
            #expect(noComplete.status == .badRequest && noComplete.headers[.uploadComplete] == "?0")
            // Ending it early contradicts the declared length.
            let early = try await patch(30_000, Array(wav[30_000..<31_000]), complete: true)
            #expect(early.status == .badRequest && client.slug(early) == "inconsistent-upload-length")

            let done = try await patch(30_000, Array(wav[30_000...]), complete: true)
            #expect(done.status == .ok, "\(done.text)")
            #expect(done.headers[.uploadComplete] == "?1")
            #expect(try done.json()["file"]?.objectValue?["sha256"]?.stringValue == Fixture.sha256(wav))
            #expect(try await context.files().count == 1)  // the file, nothing of the upload (on disk or in the bucket)
            #expect(try await context.openMultipartUploads().isEmpty)

            // The upload resource stays for a client that lost the last answer (until it expires):
            // HEAD says complete, at every byte.
            let after = try await client.execute(uri: location, method: .head, headers: Self.interop)
            #expect(after.status == .noContent && after.headers[.uploadComplete] == "?1", "\(after.status) \(after.headers)")
            #expect(after.headers[.uploadOffset] == String(wav.count) && after.headers[.uploadLength] == String(wav.count))
            #expect(after.headers[.uploadLimit] != nil && after.headers[.cacheControl] == "no-store")
            // The completing request sent again, with nothing left to send: its answer again.
            let replay = try await patch(wav.count, [], complete: true)
            #expect(replay.status == .ok && replay.headers[.uploadComplete] == "?1", "\(replay.status) \(replay.text)")
            #expect(try replay.json()["file"]?.objectValue?["sha256"]?.stringValue == Fixture.sha256(wav))
            // Anything else is refused, marked as about the upload (?0), and changes nothing.
            let more = try await patch(wav.count, [1, 2], complete: true)
            #expect(more.status == .badRequest && client.slug(more) == "upload-complete" && more.headers[.uploadComplete] == "?0")
            let notEnding = try await patch(wav.count, [], complete: false)
            #expect(notEnding.status == .badRequest && client.slug(notEnding) == "upload-complete")
            let behind = try await patch(30_000, Array(wav[30_000...]), complete: true)
            #expect(behind.status == .conflict && behind.headers[.uploadOffset] == String(wav.count) && behind.headers[.uploadComplete] == "?0")
            #expect(try await context.files().count == 1)
            // Cancelling it forgets the resource; the record keeps its file.
            #expect(try await client.execute(uri: location, method: .delete, headers: Self.interop).status == .noContent)
            #expect(try await client.execute(uri: location, method: .head, headers: Self.interop).status == .notFound)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"]?.objectValue?["sha256"]?.stringValue == Fixture.sha256(wav))
        }
    }

    @Test func unknownLengthRefusalAndCancellation() async throws {
        let kind = "name: memo\nfields:\n  name: {type: string}\nupload:\n  resumable: {max_append: 20KB}\n"
        try await TestServer.run(extraKinds: ["memo.yaml": kind]) { client, context in
            let wav = try Fixture.bytes("wav_stereo_s16.wav")
            // No length yet: learnt from the request that completes the upload.
            let id = try await client.create(#"{"filetype":"memo","name":"m"}"#)
            let created = try await client.execute(
                uri: "/api/audio/memo/\(id)", method: .put, headers: Self.fields([.uploadComplete: "?0"]),
                body: ByteBuffer(bytes: Array(wav[0..<15_000])))
            #expect(created.status == .created, "\(created.text)")
            let location = try #require(created.headers[.location])
            #expect(try await client.execute(uri: location, method: .head, headers: Self.interop).headers[.uploadLength] == nil)
            // Appends over the kind's max_append are refused with the limits.
            let big = try await client.execute(
                uri: location, method: .patch,
                headers: Self.fields([.uploadComplete: "?1", .uploadOffset: "15000", .contentType: AudioAPI.partialUpload]),
                body: ByteBuffer(bytes: Array(wav[15_000...])))
            #expect(big.status == .contentTooLarge && big.headers[.uploadLimit]?.contains("max-append-size=20000") == true)
            var offset = 15_000
            while offset < wav.count {
                let end = min(offset + 20_000, wav.count)
                let response = try await client.execute(
                    uri: location, method: .patch,
                    headers: Self.fields([
                        .uploadComplete: end == wav.count ? "?1" : "?0", .uploadOffset: String(offset),
                        .contentType: AudioAPI.partialUpload,
                    ]),
                    body: ByteBuffer(bytes: Array(wav[offset..<end])))
                #expect(response.status == (end == wav.count ? .ok : .noContent), "\(response.text)")
                offset = end
            }
            #expect(try await client.get("/api/audio/memo/\(id)").json()["file"]?.objectValue?["sha256"]?.stringValue == Fixture.sha256(wav))

            // A refused file: the refusal, marked as the result of processing it; the upload is gone.
            let text = Array(String(repeating: "not audio ", count: 100).utf8)
            let refused = try await client.execute(
                uri: "/api/audio/memo/\(id)", method: .put, headers: Self.fields([.uploadComplete: "?1"]),
                body: ByteBuffer(bytes: text))
            #expect(refused.status == .unsupportedMediaType && refused.headers[.uploadComplete] == "?1")
            // Cancellation.
            let second = try await client.execute(
                uri: "/api/audio/memo/\(id)", method: .put, headers: Self.fields([.uploadComplete: "?0"]),
                body: ByteBuffer(bytes: Array(wav[0..<1000])))
            let secondLocation = try #require(second.headers[.location])
            #expect(try await client.execute(uri: secondLocation, method: .delete, headers: Self.interop).status == .noContent)
            #expect(try await client.execute(uri: secondLocation, method: .head, headers: Self.interop).status == .notFound)
            #expect(context.storedFiles().count == 1)
        }
    }

    /// The draft's flow as bytes on a socket: create with `Upload-Complete: ?0`, then complete with
    /// a PATCH; the final answer is the record with `Upload-Complete: ?1`.
    @Test func overARawSocket() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            let wav = try Fixture.bytes("wav_mono_s16.wav")
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let port = try #require(client.port)
            let first = try await RawConnection.exchange(
                port: port,
                head: """
                    PUT /api/audio/song/\(id) HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Upload-Draft-Interop-Version: 8\r
                    Upload-Complete: ?0\r
                    Upload-Length: \(wav.count)\r
                    Content-Length: 5000\r
                    \r

                    """, body: Array(wav[0..<5000]))
            #expect(first.hasPrefix("HTTP/1.1 201"), "\(first)")
            let location = try #require(
                first.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") }.map {
                    $0.dropFirst("location:".count).trimmingCharacters(in: .whitespaces)
                })
            let last = try await RawConnection.exchange(
                port: port,
                head: """
                    PATCH \(location) HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Upload-Draft-Interop-Version: 8\r
                    Upload-Complete: ?1\r
                    Upload-Offset: 5000\r
                    Content-Type: application/partial-upload\r
                    Content-Length: \(wav.count - 5000)\r
                    \r

                    """, body: Array(wav[5000...]))
            #expect(last.hasPrefix("HTTP/1.1 200"), "\(last)")
            #expect(last.lowercased().contains("upload-complete: ?1") && last.contains(Fixture.sha256(wav)))
        }
    }
    /// The issue's draft flow on a socket: the 104 names the upload resource before the body; the
    /// connection is cut mid-body; the client asks the offset and finishes with a PATCH.
    /// A resumable PUT honours If-Match at creation (412, no upload made); a multipart form is not
    /// made resumable: a plain PUT, with no 104 first.
    @Test func staleIfMatchAndMultipartAreRefusedUpFront() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let wav = try Fixture.bytes("wav_stereo_s16.wav")
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let stale = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: Self.fields([.uploadComplete: "?0", .contentType: "audio/wav", .ifMatch: "\"1999-01-01T00:00:00Z\""]),
                body: ByteBuffer(bytes: Array(wav[0..<10_000])))
            #expect(stale.status == .preconditionFailed && stale.headers[.location] == nil, "\(stale.text)")
            #expect(stale.headers[.eTag] != nil && stale.headers[.uploadComplete] == "?0")
            let current = try #require(try await client.get("/api/audio/song/\(id)").headers[.eTag])
            let fresh = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: Self.fields([.uploadComplete: "?1", .contentType: "audio/wav", .ifMatch: current]), body: ByteBuffer(bytes: wav))
            #expect(fresh.status == .ok, "\(fresh.text)")
            // A value that is not a structured boolean is ignored: a plain PUT.
            let plain = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put, headers: [.uploadComplete: "yes", .contentType: "audio/wav"],
                body: ByteBuffer(bytes: wav))
            #expect(plain.status == .ok && plain.headers[.uploadComplete] == nil, "\(plain.text)")
            let form = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put, headers: [.uploadComplete: "?1", .contentType: "multipart/form-data; boundary=b"],
                body: ByteBuffer(
                    bytes: Array("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n".utf8) + wav + Array("\r\n--b--\r\n".utf8)))
            #expect(form.status == .ok && form.headers[.uploadComplete] == nil, "\(form.text)")

            let port = try #require(client.port)
            let socket = try await RawSocket.connect(port: port)
            let body = "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc\r\n--b--\r\n"
            try await socket.send(
                """
                PUT /api/audio/song/\(id) HTTP/1.1\r
                Host: 127.0.0.1\r
                Authorization: Bearer \(context.adminSecret)\r
                Upload-Draft-Interop-Version: 8\r
                Upload-Complete: ?1\r
                Content-Type: multipart/form-data; boundary=b\r
                Content-Length: \(body.utf8.count)\r
                \r
                \(body)
                """)
            // The plain PUT's answer (not audio), with no 104 before it.
            let answer = try await socket.read(until: "\r\n\r\n", wait: .seconds(30))
            #expect(answer.hasPrefix("HTTP/1.1 415"), "\(answer)")
            socket.shut()
        }
    }

    @Test func announcedBy104ThenCutAndResumed() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let wav = LargeUploadTests.wav(dataBytes: 400_000)
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":2}"#)
            let port = try #require(client.port)
            let socket = try await RawSocket.connect(port: port)
            try await socket.send(
                """
                PUT /api/audio/song/\(id) HTTP/1.1\r
                Host: 127.0.0.1\r
                Upload-Draft-Interop-Version: 8\r
                Upload-Complete: ?1\r
                Content-Type: audio/wav\r
                Content-Length: \(wav.count)\r
                X-Audio-Announced-Upload: \(String(repeating: "F", count: 43))\r
                \r

                """)
            let interim = try await socket.read(until: "\r\n\r\n", wait: .seconds(30))
            #expect(interim.hasPrefix("HTTP/1.1 104"), "\(interim)")
            #expect(interim.contains("Upload-Draft-Interop-Version: 8") && interim.contains("max-append-size="), "\(interim)")
            let location = try #require(
                interim.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") }
                    .map { $0.dropFirst("location:".count).trimmingCharacters(in: .whitespaces) })
            // A client cannot choose the token: the forged field never reached the handler.
            #expect(location.hasPrefix("/api/audio/song/\(id)/uploads/") && !location.hasSuffix(String(repeating: "F", count: 43)))
            try await socket.send(Array(wav[0..<150_000]))
            try await Task.sleep(for: .milliseconds(100))
            socket.shut()
            var offset = 0
            for _ in 0..<400 where offset == 0 {
                try await Task.sleep(for: .milliseconds(25))
                let head = try await client.execute(uri: location, method: .head, headers: Self.interop)
                offset = Int(head.headers[.uploadOffset] ?? "") ?? 0
            }
            #expect(offset == 150_000)
            let done = try await client.execute(
                uri: location, method: .patch,
                headers: Self.fields([.uploadComplete: "?1", .uploadOffset: String(offset), .contentType: AudioAPI.partialUpload]),
                body: ByteBuffer(bytes: Array(wav[offset...])))
            #expect(done.status == .ok && done.headers[.uploadComplete] == "?1", "\(done.text)")
            #expect(try done.json()["file"]?.objectValue?["sha256"]?.stringValue == Fixture.sha256(wav))
            #expect(context.storedFiles().count == 1)
            // No interop version, no 104: a plain PUT stays plain.
            let plain = try await RawConnection.exchange(
                port: port,
                head: """
                    PUT /api/audio/song/\(id) HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Content-Type: audio/wav\r
                    Content-Length: \(wav.count)\r
                    \r

                    """, body: wav)
            #expect(plain.hasPrefix("HTTP/1.1 200"), "\(plain)")
        }
    }
}

extension RawConnection {
    /// Sends a whole request and returns the final response, after any interim ones (head and body,
    /// up to its closing brace; 30 s at most for each).
    static func exchange(port: Int, head: String, body: [UInt8]) async throws -> String {
        try await RawSocket.onThread { try exchangeOnThisThread(port: port, head: head, body: body) }
    }

    private static func exchangeOnThisThread(port: Int, head: String, body: [UInt8]) throws -> String {
        let fd = try open(port: port)
        defer { close(fd) }
        try send(fd, Array(TestServer.withAdminKey(head, port: port).utf8) + body)
        var response = receive(fd, until: "\r\n\r\n", timeout: .seconds(30))
        // Interim answers (104) come first: the final one follows.
        while response.hasPrefix("HTTP/1.1 1"), let end = response.range(of: "\r\n\r\n") {
            response = String(response[end.upperBound...])
            if !response.contains("\r\n\r\n") { response += receive(fd, until: "\r\n\r\n", timeout: .seconds(30)) }
        }
        // A 200 carries the record (JSON): read to its end; other answers here have no body.
        guard response.hasPrefix("HTTP/1.1 200"), !response.hasSuffix("}") else { return response }
        return response + receive(fd, until: "}", timeout: .seconds(30))
    }
}
