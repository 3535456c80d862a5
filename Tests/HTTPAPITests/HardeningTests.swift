import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import NIOCore
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// Requests a careless or hostile client sends — found by a black-box audit of the issues' words —
/// each answered with the documented 4xx and nothing lost, never a 500 or a silent surprise.
@Suite struct HardeningTests {
    @Test func chunkedJSONOverOneMiBIs413NotA500() async throws {
        try await TestServer.run(setup: .live) { client, _ in
            let port = try #require(client.port)
            let json = #"{"filetype":"song","name":"x","duration":1,"pad":""# + String(repeating: "a", count: 2 << 20) + #""}"#
            let chunk = String(json.utf8.count, radix: 16) + "\r\n" + json + "\r\n0\r\n\r\n"
            for (method, path) in [("POST", "/api/audio/create"), ("PATCH", "/api/audio/song/1")] {
                let answer = try await RawConnection.sendAndRead(
                    port: port,
                    head: """
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
            let cleared = try await client.execute(
                uri: "/api/audio/jingle/\(id)", method: .patch,
                headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"gains":null}"#))
            #expect(cleared.status == .badRequest && cleared.isProblem)
            #expect(try cleared.json()["errors"]?.arrayValue?.first?["field"] == "gains", "\(cleared.text)")
            #expect(try cleared.json()["errors"]?.arrayValue?.first?["code"] == "min_items")
            let scalar = try await client.execute(
                uri: "/api/audio/jingle/\(id)", method: .patch,
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
                try await client.execute(
                    uri: "/api/audio/song/\(id)", method: .patch,
                    headers: [.contentType: "application/json", .ifMatch: ifMatch], body: ByteBuffer(string: #"{"name":"u"}"#))
            }
            // A list of entity tags matches when any of them does (RFC 9110 §13.1.1).
            let listed = try await patch("\"stale\", \(etag)")
            #expect(listed.status == .ok, "\(listed.text)")
            let current = try #require(listed.headers[.eTag])

            // Upload: a stale If-Match is 412 and stores nothing; the current one stores the file.
            var body = MultipartBody()
            body.addFile(filename: "a.wav", contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
            let staleUpload = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [.contentType: body.contentType, .ifMatch: etag], body: ByteBuffer(bytes: body.bytes))
            #expect(staleUpload.status == .preconditionFailed && staleUpload.isProblem)
            #expect(staleUpload.headers[.eTag] == current)
            #expect(context.storedFiles().isEmpty)
            let upload = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
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
            let both = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [.contentType: two.contentType], body: ByteBuffer(bytes: two.bytes))
            let bothType = try both.json()["type"]
            #expect(both.status == .badRequest && bothType == "/problems/multiple-files", "\(both.text)")
            let noDelimiter = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
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
                let response = try await client.execute(
                    uri: "/api/audio/song/\(id)", method: .put,
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
            let answer = try await RawConnection.sendAndRead(
                port: port,
                head: """
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
