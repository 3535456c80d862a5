import Foundation
@testable import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import NIOCore
import PostgresNIO
import Storage
import Testing
import TestSupport

/// Requests a careless or hostile client sends — found by a black-box audit of the issues' words —
/// each answered with the documented 4xx and nothing lost, never a 500 or a silent surprise.
@Suite struct HardeningTests {
    @Test func chunkedJSONOverOneMiBIs413NotA500() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            let port = try #require(client.port)
            let json = #"{"filetype":"song","name":"x","duration":1,"pad":""# + String(repeating: "a", count: 2 << 20) + #""}"#
            let chunk = String(json.utf8.count, radix: 16) + "\r\n" + json + "\r\n0\r\n\r\n"
            for (method, path) in [("POST", "/api/audio/create"), ("PATCH", "/api/audio/song/1")] {
                let answer = try await RawConnection.sendAndRead(port: port, head: """
                    \(method) \(path) HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Content-Type: application/json\r
                    Transfer-Encoding: chunked\r
                    \r

                    """, body: Array(chunk.utf8), until: "}")
                #expect(answer.hasPrefix("HTTP/1.1 413"), "\(method): \(answer.prefix(300))")
                #expect(answer.contains("application/problem+json") && answer.contains("1024 KiB"), "\(answer.prefix(600))")
            }
        }
    }

    @Test func editedCursorsAre400NamingTheCursor() async throws {
        try await TestServer.run { client, _ in
            for i in 0..<3 { _ = try await client.create(#"{"filetype":"podcast","name":"Ep \#(i)","duration":\#(60 + i),"host":"Joe"}"#) }
            let first = try await client.get("/api/audio/podcast?sort=-duration,name&limit=1")
            let cursor = try #require(try first.json()["next_cursor"]?.stringValue)
            // The cursor is base64url JSON and a signature; a client can decode and edit the JSON.
            // Each edit below keeps the shape but holds values PostgreSQL cannot read as the sort
            // columns; with the old signature kept, none of them gets past the signature check.
            let parts = cursor.split(separator: ".")
            let decoded = try JSONParser.parse(try #require(Base64URL.decode(parts[0].utf8)))
            var object = try #require(decoded.objectValue)
            for keys: [JSONValue] in [["abc", "x"], ["99999999999999999999", "x"], ["61", "x\u{0}y"]] {
                object["k"] = .array(keys)
                let edited = Base64URL.encode(Array(JSONWriter.string(.object(object)).utf8)) + "." + parts[1]
                let response = try await client.get("/api/audio/podcast?sort=-duration,name&limit=1&cursor=\(edited)")
                #expect(response.status == .badRequest && response.isProblem, "\(keys): \(response.status) \(response.text)")
                #expect(try response.json()["errors"]?.arrayValue?.first?["field"] == "cursor", "\(response.text)")
            }
        }
    }

    static let defaultsYAML = """
        name: jingle
        fields:
          title: {type: string, required: true, max_length: 40}
          plays: {type: integer, min: 0, default: 0}
          mood: {type: enum, values: [calm, loud]}
          gains: {type: list, items: {type: number}, min_items: 1, default: [1.5, 2]}
        """

    @Test func nullOnCreateTakesTheDefaultAndAClearedListKeepsItsRules() async throws {
        try await TestServer.run(extraKinds: ["jingle.yaml": Self.defaultsYAML]) { client, _ in
            let created = try await client.postJSON("/api/audio/create", #"{"filetype":"jingle","title":"t","plays":null,"mood":null,"gains":null}"#)
            #expect(created.status == .created, "\(created.text)")
            let record = try created.json()
            #expect(record["plays"] == 0 && record["mood"] == .null && record["gains"] == [1.5, 2])
            let id = try #require(record["id"]?.int64)
            // PATCH null clears: the list becomes [], which breaks min_items — a field error, not a database one.
            let cleared = try await client.execute(uri: "/api/audio/jingle/\(id)", method: .patch,
                                                   headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"gains":null}"#))
            #expect(cleared.status == .badRequest && cleared.isProblem)
            #expect(try cleared.json()["errors"]?.arrayValue?.first?["field"] == "gains", "\(cleared.text)")
            #expect(try cleared.json()["errors"]?.arrayValue?.first?["code"] == "min_items")
            let scalar = try await client.execute(uri: "/api/audio/jingle/\(id)", method: .patch,
                                                  headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"plays":null}"#))
            let plays = try scalar.json()["plays"]
            #expect(scalar.status == .ok && plays == .null)
        }
    }

    @Test func ifMatchGuardsEveryWriteAndTakesAList() async throws {
        try await TestServer.run { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let etag = try #require(try await client.get("/api/audio/song/\(id)").headers[.eTag])
            func patch(_ ifMatch: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/audio/song/\(id)", method: .patch,
                                         headers: [.contentType: "application/json", .ifMatch: ifMatch], body: ByteBuffer(string: #"{"name":"u"}"#))
            }
            // A list of entity tags matches when any of them does (RFC 9110 §13.1.1).
            let listed = try await patch("\"stale\", \(etag)")
            #expect(listed.status == .ok, "\(listed.text)")
            let current = try #require(listed.headers[.eTag])

            // Upload: a stale If-Match is 412 and stores nothing; the current one stores the file.
            var body = MultipartBody()
            body.addFile(filename: "a.wav", contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
            let staleUpload = try await client.execute(uri: "/api/audio/song/\(id)", method: .put,
                                                       headers: [.contentType: body.contentType, .ifMatch: etag], body: ByteBuffer(bytes: body.bytes))
            #expect(staleUpload.status == .preconditionFailed && staleUpload.isProblem)
            #expect(staleUpload.headers[.eTag] == current)
            #expect(context.storedFiles().isEmpty)
            let upload = try await client.execute(uri: "/api/audio/song/\(id)", method: .put,
                                                  headers: [.contentType: body.contentType, .ifMatch: current], body: ByteBuffer(bytes: body.bytes))
            #expect(upload.status == .ok, "\(upload.text)")
            let afterUpload = try #require(upload.headers[.eTag])

            // Delete: stale → 412 and the record and its file stay; current → 204.
            let staleDelete = try await client.execute(uri: "/api/audio/song/\(id)", method: .delete, headers: [.ifMatch: current])
            #expect(staleDelete.status == .preconditionFailed && staleDelete.isProblem)
            #expect(try await client.get("/api/audio/song/\(id)").status == .ok)
            #expect(context.storedFiles().count == 1)
            let deleted = try await client.execute(uri: "/api/audio/song/\(id)", method: .delete, headers: [.ifMatch: afterUpload])
            #expect(deleted.status == .noContent)
            #expect(context.storedFiles().isEmpty)
            let gone = try await client.execute(uri: "/api/audio/song/\(id)", method: .delete, headers: [.ifMatch: afterUpload])
            #expect(gone.status == .notFound)
        }
    }

    @Test func recordsAndListsAnswerHEADAndRevalidation() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let get = try await client.get("/api/audio/song/\(id)")
            let etag = try #require(get.headers[.eTag])
            let head = try await client.execute(uri: "/api/audio/song/\(id)", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
            #expect(head.headers[.eTag] == etag && head.headers[.contentLength] == String(get.body.readableBytes))
            let listHead = try await client.execute(uri: "/api/audio/song?limit=5", method: .head)
            #expect(listHead.status == .ok && listHead.body.readableBytes == 0)
            #expect(try await client.execute(uri: "/api/audio/song/\(id + 1000)", method: .head).status == .notFound)
            let revalidated = try await client.get("/api/audio/song/\(id)", headers: [.ifNoneMatch: etag])
            #expect(revalidated.status == .notModified && revalidated.headers[.eTag] == etag)
            let changed = try await client.get("/api/audio/song/\(id)", headers: [.ifNoneMatch: "\"old\""])
            #expect(changed.status == .ok)
        }
    }

    @Test func aSecondFilePartOrAMissingDelimiterIs400() async throws {
        try await TestServer.run { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            var two = MultipartBody()
            two.addFile(filename: "a.wav", contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
            two.addFile(filename: "b.wav", contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
            let both = try await client.execute(uri: "/api/audio/song/\(id)", method: .put,
                                                headers: [.contentType: two.contentType], body: ByteBuffer(bytes: two.bytes))
            let bothType = try both.json()["type"]
            #expect(both.status == .badRequest && bothType == "/problems/multiple-files", "\(both.text)")
            let noDelimiter = try await client.execute(uri: "/api/audio/song/\(id)", method: .put,
                                                       headers: [.contentType: "multipart/form-data; boundary=zzz"],
                                                       body: ByteBuffer(bytes: try Fixture.bytes("wav_mono_s16.wav")))
            let noDelimiterType = try noDelimiter.json()["type"]
            #expect(noDelimiter.status == .badRequest && noDelimiterType == "/problems/malformed-multipart", "\(noDelimiter.text)")
            #expect(context.storedFiles().isEmpty)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
        }
    }

    @Test func clientPathsInFileNamesAreCutToTheLastSegment() async throws {
        #expect(UploadReceiver.baseName(#"C:\Users\me\song.wav"#) == "song.wav")
        #expect(UploadReceiver.baseName("../../etc/passwd.wav") == "passwd.wav")
        #expect(UploadReceiver.baseName("") == nil && UploadReceiver.baseName("dir/") == nil && UploadReceiver.baseName("..") == nil)
        #expect(UploadReceiver.baseName("a\u{0}b\tc.wav") == "abc.wav")
        try await TestServer.run { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            for (sent, stored): (String, JSONValue) in [(#"C:\Users\me\song.wav"#, "song.wav"), ("../../etc/passwd.wav", "passwd.wav"), ("", .null)] {
                var body = MultipartBody()
                body.addFile(filename: sent, contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
                let response = try await client.execute(uri: "/api/audio/song/\(id)", method: .put,
                                                        headers: [.contentType: body.contentType], body: ByteBuffer(bytes: body.bytes))
                #expect(response.status == .ok, "\(response.text)")
                #expect(try response.json()["file"]?["original_name"] == stored, "\(sent)")
            }
        }
    }

    @Test func expectContinueIsRefusedUpFrontForAnOversizedUpload() async throws {
        try await TestServer.run(maxUploadBytes: 100_000, setup: .live) { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let port = try #require(client.port)
            let answer = try await RawConnection.sendAndRead(port: port, head: """
                PUT /api/audio/song/\(id) HTTP/1.1\r
                Host: 127.0.0.1\r
                Content-Type: audio/wav\r
                Content-Length: 10000000\r
                Expect: 100-continue\r
                \r

                """, until: "}")
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(300))")
            #expect(!answer.contains("100 Continue"))
        }
    }
}

@Suite struct QueryStrictnessTests {
    @Test func badPercentEncodingIs400AndARepeatedLimitTakesTheLast() async throws {
        try await TestServer.run { client, _ in
            for query in ["name=%ZZ", "name=%FF", "name%G1=x", "name=%"] {
                let response = try await client.get("/api/audio/song?\(query)")
                #expect(response.status == .badRequest && response.isProblem, "\(query): \(response.status)")
            }
            for i in 0..<3 { _ = try await client.create(#"{"filetype":"song","name":"s\#(i)","duration":3}"#) }
            #expect(try await client.get("/api/audio/song?limit=1&limit=2").json()["items"]?.arrayValue?.count == 2)
            // Filters may repeat: they combine with AND.
            #expect(try await client.get("/api/audio/song?duration[gte]=1&duration[gte]=2").status == .ok)
            #expect(try await client.get("/api/audio/song?name=%C3%9F").status == .ok)
        }
    }

    @Test func aByteOrderMarkBeforeTheJSONIsIgnored() async throws {
        try await TestServer.run { client, _ in
            let body = [UInt8]([0xEF, 0xBB, 0xBF]) + Array(#"{"filetype":"song","name":"bom","duration":3}"#.utf8)
            let response = try await client.execute(uri: "/api/audio/create", method: .post,
                                                    headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body))
            #expect(response.status == .created, "\(response.text)")
        }
    }
}

@Suite struct SystemColumnFilterTests {
    @Test func idTimestampsAndUploadTimeFilterLikeFields() async throws {
        try await TestServer.run { client, _ in
            let a = try await client.create(#"{"filetype":"song","name":"a","duration":3}"#)
            let b = try await client.create(#"{"filetype":"song","name":"b","duration":3}"#)
            let c = try await client.create(#"{"filetype":"song","name":"c","duration":3}"#)
            let bRecord = try await client.get("/api/audio/song/\(b)").json()
            let bCreated = try #require(bRecord["created_at"]?.stringValue)
            // Touch a: its updated_at moves past b's creation, its created_at does not.
            let touched = try await client.execute(uri: "/api/audio/song/\(a)", method: .patch,
                                                   headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"a2"}"#))
            #expect(touched.status == .ok)
            #expect(try await client.ids("/api/audio/song?created_at[gte]=\(bCreated)") == [b, c])
            #expect(try await client.ids("/api/audio/song?updated_at[gt]=\(bCreated)&sort=updated_at") == [c, a])
            #expect(try await client.ids("/api/audio/song?id[gt]=\(a)&id[lte]=\(b)") == [b])
            #expect(try await client.ids("/api/audio/song?id=\(c)") == [c])
            // Nothing uploaded yet: every comparison on uploaded_time leaves all records out.
            #expect(try await client.ids("/api/audio/song?uploaded_time[gte]=2000-01-01T00:00:00Z") == [])
            #expect(try await client.upload("/api/audio/song/\(c)", file: "wav_mono_s16.wav").status == .ok)
            #expect(try await client.ids("/api/audio/song?uploaded_time[gte]=2000-01-01T00:00:00Z") == [c])
            // Malformed values and operators that do not fit are 400s naming the parameter.
            for query in ["created_at[gt]=yesterday", "id[contains]=1", "updated_at[has]=x", "id=abc"] {
                let response = try await client.get("/api/audio/song?\(query)")
                #expect(response.status == .badRequest && response.isProblem, "\(query): \(response.status)")
            }
            // Escaped path segments are decoded like any other URL.
            #expect(try await client.get("/api/audio/so%6Eg/\(c)").status == .ok)
        }
    }
}

@Suite struct LargeUploadTests {
    /// A PCM WAV of `dataBytes` random sample bytes (16-bit stereo, 44.1 kHz).
    static func wav(dataBytes: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        func le16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(v).littleEndian, Array.init) }
        var out = Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVEfmt ".utf8) + le32(16)
        out += le16(1) + le16(2) + le32(44100) + le32(44100 * 4) + le16(4) + le16(16)
        out += Array("data".utf8) + le32(dataBytes)
        var generator = SystemRandomNumberGenerator()
        out.reserveCapacity(out.count + dataBytes)
        for _ in 0..<(dataBytes / 8) { out += withUnsafeBytes(of: generator.next(), Array.init) }
        return out
    }

    /// Past `UploadSink.writeBehindBytes` (8 MiB) the sink starts write-back as it goes; the file
    /// must still arrive whole, byte for byte, by both upload forms.
    @Test func uploadsPastTheWriteBehindStepAreStoredWhole() async throws {
        let bytes = Self.wav(dataBytes: 20 << 20)
        try await TestServer.run { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"big","duration":119}"#)
            let raw = try await client.uploadRaw("/api/audio/song/\(id)", bytes: bytes, contentType: "audio/wav")
            #expect(raw.status == .ok, "\(raw.text.prefix(300))")
            #expect(try raw.json()["file"]?["sha256"]?.stringValue == Fixture.sha256(bytes))
            #expect(try raw.json()["file"]?["size"]?.int64 == Int64(bytes.count))
            var body = MultipartBody()
            body.addFile(filename: "big.wav", contentType: "audio/wav", bytes: bytes)
            let multipart = try await client.execute(uri: "/api/audio/song/\(id)", method: .put,
                                                     headers: [.contentType: body.contentType], body: ByteBuffer(bytes: body.bytes))
            #expect(multipart.status == .ok)
            #expect(try multipart.json()["file"]?["sha256"]?.stringValue == Fixture.sha256(bytes))
            let stored = context.storedFiles()
            #expect(stored.count == 1)
            let path = try #require(stored.first)
            let onDisk = try #require(FileManager.default.contents(atPath: context.storageDirectory + "/" + path))
            #expect(onDisk.count == bytes.count && Fixture.sha256(Array(onDisk)) == Fixture.sha256(bytes))
        }
    }
}

@Suite struct StoredFileEdgeTests {
    @Test func aFileMissingFromDiskIsTheSame404ForEveryMethod() async throws {
        try await TestServer.run { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            #expect(try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav").status == .ok)
            for path in context.storedFiles() { try FileManager.default.removeItem(atPath: context.storageDirectory + "/" + path) }
            let uri = "/api/audio/song/\(id)/file"
            let get = try await client.get(uri)
            let head = try await client.execute(uri: uri, method: .head)
            let range = try await client.get(uri, headers: [.range: "bytes=0-9"])
            for response in [get, range] {
                #expect(response.status == .notFound && response.isProblem)
                #expect(try response.json()["type"] == "/problems/file-missing")
            }
            #expect(head.status == .notFound)
        }
    }

    @Test func aRawUploadDownloadsUnderANameWithItsFormatsExtension() async throws {
        try await TestServer.run { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let upload = try await client.uploadRaw("/api/audio/song/\(id)", bytes: try Fixture.bytes("wav_mono_s16.wav"), contentType: "audio/wav")
            #expect(upload.status == .ok)
            let disposition = try await client.execute(uri: "/api/audio/song/\(id)/file", method: .head).headers[.contentDisposition]
            #expect(disposition?.contains("filename=\"song-\(id).wav\"") == true, "\(disposition ?? "none")")
        }
    }

    @Test func aWeakTagInIfMatchMatchesNothing() async throws {
        try await TestServer.run { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let etag = try #require(try await client.get("/api/audio/song/\(id)").headers[.eTag])
            let weak = try await client.execute(uri: "/api/audio/song/\(id)", method: .patch,
                                                headers: [.contentType: "application/json", .ifMatch: "W/\(etag)"], body: ByteBuffer(string: #"{"name":"u"}"#))
            #expect(weak.status == .preconditionFailed)
            let strong = try await client.execute(uri: "/api/audio/song/\(id)", method: .patch,
                                                  headers: [.contentType: "application/json", .ifMatch: "W/\(etag), \(etag)"], body: ByteBuffer(string: #"{"name":"u"}"#))
            #expect(strong.status == .ok)
        }
    }
}

@Suite struct DatabaseOutageTests {
    /// The watcher, pointed at a port where nothing listens, reports the database unreachable:
    /// record routes answer 503 at once (not after the pool's 60 s of retries), while routes that
    /// need no database keep working.
    @Test func recordRoutesFailFastWhileTheWatcherSeesNoDatabase() async throws {
        let dead = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)
        try await TestServer.run(watch: dead, benchRoutes: true) { client, _ in
            var status: HTTPResponse.Status = .ok
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                status = try await client.get("/api/audio/song/1").status
                if status == .serviceUnavailable { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(status == .serviceUnavailable)
            let started = ContinuousClock.now
            for path in ["/api/audio/song/1", "/api/audio/podcast?limit=5"] {
                let response = try await client.get(path)
                #expect(response.status == .serviceUnavailable && response.isProblem, "\(path)")
                #expect(try response.json()["type"] == "/problems/database-unavailable")
                #expect(response.headers[.retryAfter] == "5")
            }
            // Far below the minute a pool would wait; loose for a loaded test machine.
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try await client.get("/_static").status == .ok)
            #expect(try await client.get("/api/kinds").status == .ok)
        }
    }
}

@Suite struct ErrorMappingTests {
    static let request = Request(head: HTTPRequest(method: .get, scheme: "http", authority: "test", path: "/api/audio/song"),
                                 body: RequestBody(buffer: ByteBuffer()))

    /// Errors that reach the middleware from PostgreSQL, taken from a real connection, become the
    /// documented problems: unreachable → 503 with Retry-After, an unreadable value → 400.
    @Test func databaseErrorsBecomeTheirProblems() async throws {
        let refused = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)
        do {
            _ = try await PostgresConnection.connect(configuration: refused, id: 1, logger: Logger(label: "test"))
            Issue.record("connected to 127.0.0.1:1")
        } catch {
            let problem = Problem(for: error, request: Self.request, logger: Logger(label: "test"))
            #expect(problem.status == .serviceUnavailable && problem.slug == "database-unavailable")
            #expect(problem.headers[.retryAfter] == "5")
        }
        let invalid = Problem(for: StorageError.invalidValue(message: "invalid input syntax for type bigint: \"abc\""),
                                                                    request: Self.request, logger: Logger(label: "test"))
        #expect(invalid.status == .badRequest && invalid.slug == "invalid-value")
        #expect(invalid.detail.contains("bigint"))
        let other = Problem(for: CancellationError(), request: Self.request, logger: Logger(label: "test"))
        #expect(other.status == .internalServerError)
    }

    /// A chunked upload declares no length, so a stale If-Match is caught only under the row lock
    /// when the file is attached: still 412, and the new file is removed.
    @Test func aStaleIfMatchOnAChunkedUploadIsCaughtUnderTheRowLock() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let port = try #require(client.port)
            let wav = try Fixture.bytes("wav_mono_s16.wav")
            let chunked = Array(String(wav.count, radix: 16).utf8) + Array("\r\n".utf8) + wav + Array("\r\n0\r\n\r\n".utf8)
            let answer = try await RawConnection.sendAndRead(port: port, head: """
                PUT /api/audio/song/\(id) HTTP/1.1\r
                Host: 127.0.0.1\r
                Content-Type: audio/wav\r
                Transfer-Encoding: chunked\r
                If-Match: "2000-01-01T00:00:00.000000Z"\r
                \r

                """, body: chunked, until: "}")
            #expect(answer.hasPrefix("HTTP/1.1 412"), "\(answer.prefix(300))")
            #expect(answer.contains("/problems/stale-version"))
            #expect(context.storedFiles().isEmpty)
            #expect(try await client.get("/api/audio/song/\(id)").json()["file"] == .null)
        }
    }
}
