import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Storage
import Testing

@testable import HTTPAPI

/// What a caller who may not read a kind can still learn through other routes (issue 15's audit,
/// session 21): a write's answer, a file route's 404s, and the order of the tus checks.
@Suite struct AccessLeakTests {
    /// `jingle` is private (no `access:` block); `secretish` has keyed reads and public downloads.
    static let kinds = [
        "jingle.yaml": "name: jingle\nfields:\n  title:\n    type: string\n",
        "secretish.yaml": "name: secretish\naccess:\n  read: key\n  download: public\nfields:\n  title:\n    type: string\n",
    ]
    static let json: HTTPFields = [.contentType: "application/json"]

    /// A write-only or upload-only key gets `{"id": N}` with the full answer's status, Location and
    /// ETag from every write that would answer the record; a key that may read, or a kind with
    /// public reads, still gets the record.
    @Test func writesAnswerOnlyTheIdToACallerWhoMayNotRead() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let writer = "Bearer " + (try await context.makeKey(["write:jingle"]))
            let uploader = "Bearer " + (try await context.makeKey(["upload:jingle"]))
            let reader = "Bearer " + (try await context.makeKey(["write:jingle", "read:jingle"]))

            let created = try await client.call(
                .post, "/api/audio/create", auth: writer, headers: Self.json, body: ByteBuffer(string: #"{"filetype":"jingle","title":"t"}"#))
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(try created.json()["id"]?.int64)
            #expect(created.text == #"{"id":\#(id)}"#)
            #expect(created.headers[.location] == "/api/audio/jingle/\(id)" && created.headers[.eTag] != nil)

            let patched = try await client.call(
                .patch, "/api/audio/jingle/\(id)", auth: writer, headers: Self.json, body: ByteBuffer(string: #"{"title":"u"}"#))
            #expect(patched.status == .ok && patched.text == #"{"id":\#(id)}"#, "\(patched.text)")
            #expect(patched.headers[.eTag] != nil && patched.headers[.eTag] != created.headers[.eTag])
            // The empty PATCH of the audit's repro: no record either (and no write, below).
            let empty = try await client.call(.patch, "/api/audio/jingle/\(id)", auth: writer, headers: Self.json, body: ByteBuffer(string: "{}"))
            #expect(empty.status == .ok && empty.text == #"{"id":\#(id)}"# && empty.headers[.eTag] == patched.headers[.eTag])

            let wav = AccessMatrixTests.wav
            let put = try await client.call(
                .put, "/api/audio/jingle/\(id)", auth: uploader, headers: [.contentType: "audio/wav"], body: ByteBuffer(bytes: wav))
            #expect(put.status == .ok && put.text == #"{"id":\#(id)}"#, "\(put.text)")
            #expect(put.headers[.eTag] != nil && put.headers[.eTag] != patched.headers[.eTag])
            // The IETF draft's PUT that completes at once answers what the plain PUT does.
            let draft = try await client.call(
                .put, "/api/audio/jingle/\(id)", auth: uploader,
                headers: ResumableDraftTests.fields([.uploadComplete: "?1", .contentType: "audio/wav"]), body: ByteBuffer(bytes: wav))
            #expect(draft.status == .ok && draft.text == #"{"id":\#(id)}"# && draft.headers[.uploadComplete] == "?1", "\(draft.text)")

            // A key that may read gets the whole record, file included.
            let full = try await client.call(
                .patch, "/api/audio/jingle/\(id)", auth: reader, headers: Self.json, body: ByteBuffer(string: #"{"title":"v"}"#))
            #expect(try full.status == .ok && (full.json()["title"]) == "v" && (full.json()["file"]?.objectValue) != nil)
            // Public reads: anyone may read the record, so a write-only key gets it.
            let songWriter = "Bearer " + (try await context.makeKey(["write:song"]))
            let song = try await client.call(
                .post, "/api/audio/create", auth: songWriter, headers: Self.json,
                body: ByteBuffer(string: #"{"filetype":"song","name":"m","duration":1}"#))
            #expect(try song.status == .created && (song.json()["name"]) == "m")
        }
    }

    /// The 422 `duration-mismatch` names the record's declared duration: an upload-only key gets
    /// it without that value (the file's own duration is still said), on the plain PUT, the draft's
    /// PUT and a tus creation that carries the whole file; a key that may read gets the value.
    @Test func aDurationMismatchQuotesTheRecordOnlyToReaders() async throws {
        let timed = [
            "timed.yaml":
                "name: timed\nfields:\n  duration: {type: integer, min: 1, required: true}\nupload:\n  duration_field: duration\n  duration_tolerance: 1s\n"
        ]
        try await TestServer.run(extraKinds: timed) { client, context in
            let writer = "Bearer " + (try await context.makeKey(["write:timed"]))
            let uploader = "Bearer " + (try await context.makeKey(["upload:timed"]))
            let reader = "Bearer " + (try await context.makeKey(["upload:timed", "read:timed"]))
            let created = try await client.call(
                .post, "/api/audio/create", auth: writer, headers: Self.json, body: ByteBuffer(string: #"{"filetype":"timed","duration":4321}"#))
            let id = try #require(try created.json()["id"]?.int64, "\(created.text)")
            let wav = AccessMatrixTests.wav  // 1 s
            func refusals(_ auth: String) async throws -> [TestResponse] {
                let put = try await client.call(
                    .put, "/api/audio/timed/\(id)", auth: auth, headers: [.contentType: "audio/wav"], body: ByteBuffer(bytes: wav))
                let draft = try await client.call(
                    .put, "/api/audio/timed/\(id)", auth: auth,
                    headers: ResumableDraftTests.fields([.uploadComplete: "?1", .contentType: "audio/wav"]), body: ByteBuffer(bytes: wav))
                let tus = try await client.call(
                    .post, "/api/audio/timed/\(id)/uploads", auth: auth,
                    headers: ResumableUploadTests.tus([.uploadLength: String(wav.count), .contentType: ResumableUploadTests.offsetStream]),
                    body: ByteBuffer(bytes: wav))
                return [put, draft, tus]
            }
            for answer in try await refusals(uploader) {
                #expect(answer.status == .unprocessableContent && client.slug(answer) == "duration-mismatch", "\(answer.text)")
                #expect(!answer.text.contains("4321") && !answer.text.contains("declared_duration"), "\(answer.text)")
                #expect(answer.text.contains("1.000 s") && answer.text.contains("probed_duration"), "\(answer.text)")
            }
            for answer in try await refusals(reader) {
                #expect(answer.status == .unprocessableContent && client.slug(answer) == "duration-mismatch", "\(answer.text)")
                #expect(answer.text.contains("4321") && answer.text.contains("declared_duration"), "\(answer.text)")
            }
        }
    }

    /// `PATCH {}` changes nothing: the same ETag and body, no audit row; its 404 and 412 stay.
    @Test func anEmptyPatchWritesNothing() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let id = try await client.create(#"{"filetype":"jingle","title":"t"}"#)
            let before = try await client.get("/api/audio/jingle/\(id)")
            let updates = try await context.auditRows().filter { $0.action == "update" }.count
            for body in ["{}", #"{"filetype":"jingle"}"#] {
                let answer = try await client.execute(
                    uri: "/api/audio/jingle/\(id)", method: .patch, headers: Self.json, body: ByteBuffer(string: body))
                #expect(answer.status == .ok && answer.text == before.text && answer.headers[.eTag] == before.headers[.eTag], "\(body)")
            }
            let etag = try #require(before.headers[.eTag])
            var matching = Self.json
            matching[.ifMatch] = etag
            let guarded = try await client.execute(uri: "/api/audio/jingle/\(id)", method: .patch, headers: matching, body: ByteBuffer(string: "{}"))
            #expect(guarded.status == .ok)
            var stale = Self.json
            stale[.ifMatch] = "\"not-the-version\""
            let refused = try await client.execute(uri: "/api/audio/jingle/\(id)", method: .patch, headers: stale, body: ByteBuffer(string: "{}"))
            #expect(refused.status == .preconditionFailed && refused.headers[.eTag] == etag)
            let missing = try await client.execute(
                uri: "/api/audio/jingle/999999", method: .patch, headers: Self.json, body: ByteBuffer(string: "{}"))
            #expect(missing.status == .notFound)
            #expect(try await client.get("/api/audio/jingle/\(id)").text == before.text)
            #expect(try await context.auditRows().filter { $0.action == "update" }.count == updates)
        }
    }

    /// On a kind whose reads need a key but whose files are public, a caller who may not read
    /// gets one and the same 404 for a record without a file and for no record at all, from the
    /// download (GET, HEAD) and the link route; a reader is told which.
    @Test func fileRoutesDoNotTellIdsApartToNonReaders() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let bare = try await client.create(#"{"filetype":"secretish","title":"t"}"#)
            let absent: Int64 = 999_999
            let uploader = "Bearer " + (try await context.makeKey(["upload:secretish"]))
            #expect(try await client.call(.get, "/api/audio/secretish/\(bare)", auth: nil).status == .unauthorized)
            for auth in [nil, uploader] {
                for (method, suffix) in [(HTTPRequest.Method.get, "/file"), (.head, "/file"), (.post, "/file/link")] {
                    let withoutFile = try await client.call(method, "/api/audio/secretish/\(bare)\(suffix)", auth: auth)
                    let noRecord = try await client.call(method, "/api/audio/secretish/\(absent)\(suffix)", auth: auth)
                    let label = "\(method) \(suffix) \(auth == nil ? "no key" : "upload key")"
                    #expect(withoutFile.status == .notFound && noRecord.status == .notFound, "\(label)")
                    #expect(withoutFile.text == noRecord.text.replacingOccurrences(of: "\(absent)", with: "\(bare)"), "\(label)")
                    #expect(Self.comparable(withoutFile.headers) == Self.comparable(noRecord.headers), "\(label)")
                }
            }
            let reader = "Bearer " + (try await context.makeKey(["read:secretish"]))
            #expect(try client.slug(await client.call(.get, "/api/audio/secretish/\(bare)/file", auth: reader)) == "no-file")
            #expect(try client.slug(await client.call(.get, "/api/audio/secretish/\(absent)/file", auth: reader)) == "not-found")
        }
    }

    /// Headers that must not differ between two refusals (the request id and a length do).
    static func comparable(_ headers: HTTPFields) -> [String] {
        headers.filter { $0.name != .xRequestID && $0.name != .contentLength }.map { "\($0.name): \($0.value)" }.sorted()
    }

    /// tus routes check the key before the protocol version; the draft's PUT says
    /// `Upload-Complete: ?0` on its 401 and 403 too.
    @Test func resumableRoutesCheckTheKeyFirst() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let id = try await client.create(#"{"filetype":"jingle","title":"t"}"#)
            let wrongScope = "Bearer " + (try await context.makeKey(["read:jingle"]))
            let uploader = "Bearer " + (try await context.makeKey(["upload:jingle"]))
            let keys: [(String?, HTTPResponse.Status)] = [
                (nil, .unauthorized), ("Bearer not-a-key", .unauthorized), ("Bearer \(APIKeySecret.generate())", .unauthorized),
                (wrongScope, .forbidden),
            ]
            let session = "/api/audio/jingle/\(id)/uploads/\(UploadSessionStore.newToken())"
            for (auth, status) in keys {
                // No Tus-Resumable at all: still the key's answer, not 412.
                let create = try await client.call(.post, "/api/audio/jingle/\(id)/uploads", auth: auth, headers: [.uploadLength: "10"])
                #expect(create.status == status && create.headers[.tusResumable] == "1.0.0", "\(auth ?? "none"): \(create.text)")
                for method in [HTTPRequest.Method.head, .patch, .delete] {
                    let answer = try await client.call(method, session, auth: auth, headers: [.tusResumable: "0.2.2"])
                    #expect(answer.status == status, "\(method) \(auth ?? "none")")
                }
                let draft = try await client.call(
                    .put, "/api/audio/jingle/\(id)", auth: auth,
                    headers: ResumableDraftTests.fields([.uploadComplete: "?0", .contentType: "audio/wav"]), body: ByteBuffer(bytes: [1, 2, 3]))
                #expect(draft.status == status && draft.headers[.uploadComplete] == "?0", "draft \(auth ?? "none")")
            }
            // With the right key, the version is checked.
            let version = try await client.call(.post, "/api/audio/jingle/\(id)/uploads", auth: uploader, headers: [.uploadLength: "10"])
            #expect(version.status == .preconditionFailed && client.slug(version) == "tus-version-unsupported")
        }
    }

    /// The audit and link routes refuse an unknown parameter, a repeated one and an unknown kind.
    @Test func auditAndLinkQueriesAreChecked() async throws {
        try await TestServer.run { client, _ in
            let book = try await client.create(#"{"filetype":"audiobook","title":"T","author":"A","narrator":"N","duration":1}"#)
            // An alias finds its kind's rows (recorded under the canonical name).
            let alias = try await client.get("/api/audit?kind=audiobook")
            let items = try #require(try alias.json()["items"]?.arrayValue)
            #expect(alias.status == .ok && items.contains { $0.objectValue?["record_id"]?.int64 == book && $0.objectValue?["kind"] == "audio_book" })
            let unknown = try await client.get("/api/audit?kind=nokind")
            #expect(try unknown.status == .badRequest && (unknown.errorCodes()) == ["kind:enum"])
            #expect(unknown.text.contains("song") && unknown.text.contains("audio_book"))
            let twice = try await client.get("/api/audit?action=lockout&action=create")
            #expect(try twice.status == .badRequest && (twice.errorCodes()) == ["action:duplicate"], "\(twice.text)")

            let wav = AccessMatrixTests.wav
            let song = try await client.create(#"{"filetype":"song","name":"m","duration":1}"#)
            #expect(try await client.uploadRaw("/api/audio/song/\(song)", bytes: wav, contentType: "audio/wav").status == .ok)
            let link = "/api/audio/song/\(song)/file/link"
            #expect(try await client.execute(uri: link + "?expires_in=60", method: .post).status == .ok)
            let extra = try await client.execute(uri: link + "?foo=1", method: .post)
            #expect(try extra.status == .badRequest && (extra.errorCodes()) == ["foo:unknown"], "\(extra.text)")
            let repeated = try await client.execute(uri: link + "?expires_in=1&expires_in=2", method: .post)
            #expect(try repeated.status == .badRequest && (repeated.errorCodes()) == ["expires_in:duplicate"], "\(repeated.text)")
        }
    }
}
