import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import NIOCore
import Testing

@testable import HTTPAPI

/// Bodies built to cost the server more than they cost the client: thousands of keys, problem
/// responses that echo them, hostile file names. Each gets a bounded, documented answer.
@Suite struct HostileBodyTests {
    /// A song body with `unknown` extra keys `x0`, `x1`, … (each refused as `unknown_field`).
    static func songWithUnknownKeys(_ unknown: Int) -> String {
        #"{"filetype":"song","name":"t","duration":3,"# + (0..<unknown).map { "\"x\($0)\":\($0)" }.joined(separator: ",") + "}"
    }

    @Test func aProblemListsAtMost100ErrorsAndCountsTheRest() throws {
        let issues = (0..<250).map { ValidationIssue(field: "f\($0)", code: .unknownField, message: "'f\($0)' is not a field") }
        let json = Problem.validation(issues).json
        let object = try #require(json.objectValue)
        #expect(object["errors"]?.arrayValue?.count == 100)
        #expect(object["errors"]?.arrayValue?.last?.objectValue?["field"] == "f99")
        #expect(object["more_errors"] == .integer(150))
        let detail = try #require(object["detail"]?.stringValue)
        #expect(detail.hasPrefix("250 fields are invalid: 'f0' is not a field; "))
        #expect(
            detail.hasSuffix("'f9' is not a field; and 240 more (see errors, which lists the first 100; more_errors counts the other 150)"),
            "\(detail)")
        // Few issues: all listed, no count, the detail as before.
        let two = Problem.validation(Array(issues.prefix(2))).json.objectValue
        #expect(two?["errors"]?.arrayValue?.count == 2 && two?["more_errors"] == nil)
        #expect(two?["detail"] == "2 fields are invalid: 'f0' is not a field; 'f1' is not a field")
    }

    @Test func thousandsOfUnknownKeysGetABoundedProblem() async throws {
        try await TestServer.run { client, _ in
            // ~120 KB: above the 64 KiB past which the body is parsed on the thread pool.
            let body = Self.songWithUnknownKeys(9000)
            #expect(body.utf8.count > JSONBody.offloadThreshold)
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            for (method, uri) in [(HTTPRequest.Method.post, "/api/audio/create"), (.patch, "/api/audio/song/\(id)")] {
                let response = try await client.execute(
                    uri: uri, method: method, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: body))
                #expect(response.status == .badRequest && response.isProblem, "\(method): \(response.status)")
                let problem = try response.json()
                #expect(problem["type"] == "/problems/validation")
                #expect(problem["errors"]?.arrayValue?.count == 100)
                #expect(problem["more_errors"] == .integer(8900))
                #expect(problem["detail"]?.stringValue?.contains("and 8990 more") == true)
                // Each listed error names the known fields; 100 of them stay far below the 3.5 MB of before.
                #expect(response.body.readableBytes < 64 * 1024, "\(response.body.readableBytes) bytes")
            }
        }
    }

    @Test func anObjectOverTheMemberCapIsA400NamingTheLimit() async throws {
        try await TestServer.run { client, _ in
            // The issue's 60,000-key object (~650 KB).
            let response = try await client.postJSON("/api/audio/create", Self.songWithUnknownKeys(60_000))
            #expect(response.status == .badRequest && response.isProblem)
            let problem = try response.json()
            #expect(problem["type"] == "/problems/json-limit")
            let detail = try #require(problem["detail"]?.stringValue)
            #expect(detail.contains("more than 10000 members") && detail.contains("at most 10000 members"), "\(detail)")
            // A deep body is a limit too, with its position.
            let deep = try await client.postJSON("/api/audio/create", String(repeating: "[", count: 100) + String(repeating: "]", count: 100))
            #expect(try deep.json()["type"] == "/problems/json-limit")
            #expect(try deep.json()["detail"]?.stringValue?.contains("line 1, column 65") == true, "\(deep.text)")
            // A large body that is valid JSON but malformed later is still malformed-json.
            let broken = try await client.postJSON("/api/audio/create", String(Self.songWithUnknownKeys(9000).dropLast()))
            #expect(try broken.json()["type"] == "/problems/malformed-json", "\(broken.text)")
        }
    }

    @Test func aLargeValidBodyParsedOffTheRequestExecutorCreatesTheRecord() async throws {
        try await TestServer.run { client, _ in
            let padding = String(repeating: " ", count: 100_000)
            let response = try await client.postJSON("/api/audio/create", #"{"filetype":"song",\#(padding)"name":"big","duration":3}"#)
            #expect(response.status == .created, "\(response.text)")
            #expect(try response.json()["name"] == "big")
        }
    }

    // MARK: original_name

    @Test func originalNamesLoseControlAndBidiCharacters() {
        // U+202E shows "song\u{202E}vaw.exe" as "songexe.wav" in a file list.
        #expect(UploadReceiver.baseName("song\u{202E}vaw.exe") == "songvaw.exe")
        let controls = [
            "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
            "\u{200E}", "\u{200F}", "\u{061C}", "\u{0}", "\u{1B}", "\u{7F}", "\u{85}", "\u{9F}",
        ]
        for c in controls {
            #expect(UploadReceiver.baseName("a\(c)b.wav") == "ab.wav", "U+\(String(c.unicodeScalars.first!.value, radix: 16))")
        }
        // Letters, marks, emoji and the zero-width joiner are not controls.
        #expect(UploadReceiver.baseName("Beyoncé – déjà vu 👩‍🎤.wav") == "Beyoncé – déjà vu 👩‍🎤.wav")
        #expect(UploadReceiver.baseName("\u{202E}\u{200F}") == nil)
    }

    @Test func originalNamesAreCutTo255BytesKeepingTheExtension() throws {
        let ascii = try #require(UploadReceiver.baseName(String(repeating: "a", count: 300) + ".wav"))
        #expect(ascii.utf8.count == 255 && ascii.hasSuffix("a.wav"))
        // Two-byte characters: cut between characters, never inside one.
        let accented = try #require(UploadReceiver.baseName(String(repeating: "é", count: 200) + ".flac"))
        #expect(accented.utf8.count <= 255 && accented.utf8.count >= 254 && accented.hasSuffix("é.flac"))
        #expect(accented == String(repeating: "é", count: 125) + ".flac")
        // Grapheme clusters stay whole: 100 × (e + U+0301) is 300 bytes.
        let combining = try #require(UploadReceiver.baseName(String(repeating: "e\u{301}", count: 100)))
        #expect(combining == String(repeating: "e\u{301}", count: 85))
        // No extension, or one too long to be one: a plain prefix.
        let noExtension = try #require(UploadReceiver.baseName(String(repeating: "€", count: 100)))
        #expect(noExtension == String(repeating: "€", count: 85))
        let longExtension = try #require(UploadReceiver.baseName("a." + String(repeating: "b", count: 300)))
        #expect(longExtension == "a." + String(repeating: "b", count: 253))
        // A single character longer than the cap is cut between scalars rather than dropped.
        let huge = try #require(UploadReceiver.baseName("e" + String(repeating: "\u{301}", count: 200)))
        #expect(huge.utf8.count == 255 && huge.unicodeScalars.first == "e")
        // At the cap nothing changes.
        let exact = String(repeating: "b", count: 251) + ".wav"
        #expect(UploadReceiver.baseName(exact) == exact)
    }

    @Test func uploadedNamesAreCleanedAndDownloadsAreNotSniffed() async throws {
        try await TestServer.run { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            let cases = [
                ("song\u{202E}vaw.exe\u{200F}", "songvaw.exe"),
                (String(repeating: "n", count: 400) + "\u{2066}.wav", String(repeating: "n", count: 251) + ".wav"),
            ]
            for (sent, expected) in cases {
                var body = MultipartBody()
                body.addFile(filename: sent, contentType: "audio/wav", bytes: try Fixture.bytes("wav_mono_s16.wav"))
                let upload = try await client.execute(
                    uri: "/api/audio/song/\(id)", method: .put,
                    headers: [.contentType: body.contentType], body: ByteBuffer(bytes: body.bytes))
                #expect(upload.status == .ok, "\(upload.text)")
                #expect(try upload.json()["file"]?["original_name"]?.stringValue == expected)
                #expect(try await client.get("/api/audio/song/\(id)").json()["file"]?["original_name"]?.stringValue == expected)
            }

            let uri = "/api/audio/song/\(id)/file"
            let get = try await client.get(uri)
            let head = try await client.execute(uri: uri, method: .head)
            let range = try await client.get(uri, headers: [.range: "bytes=0-9"])
            let etag = try #require(get.headers[.eTag])
            let notModified = try await client.get(uri, headers: [.ifNoneMatch: etag])
            #expect(get.status == .ok && head.status == .ok && range.status == .partialContent && notModified.status == .notModified)
            for response in [get, head, range, notModified] {
                #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(response.status)")
            }
        }
    }
}
