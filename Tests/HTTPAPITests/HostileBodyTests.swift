import Foundation
@testable import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import NIOCore
import Testing

/// Bodies built to cost the server more than they cost the client: thousands of keys, problem
/// responses that echo them, hostile file names. Each gets a bounded, documented answer.
@Suite struct HostileBodyTests {
    /// A song body with `unknown` extra keys `x0`, `x1`, … (each refused as `unknown_field`).
    static func songWithUnknownKeys(_ unknown: Int) -> String {
        #"{"filetype":"song","name":"t","duration":3,"# + (0..<unknown).map { "\"x\($0)\":\($0)" }.joined(separator: ",") + "}"
    }

    @Test func aProblemListsAtMost100ErrorsAndCountsTheRest() throws {
        let issues = (0..<250).map { ValidationIssue(field: "f\($0)", code: "unknown_field", message: "'f\($0)' is not a field") }
        let json = Problem.validation(issues, kind: "song").json
        let object = try #require(json.objectValue)
        #expect(object["errors"]?.arrayValue?.count == 100)
        #expect(object["errors"]?.arrayValue?.last?.objectValue?["field"] == "f99")
        #expect(object["more_errors"] == .integer(150))
        let detail = try #require(object["detail"]?.stringValue)
        #expect(detail.hasPrefix("250 fields are invalid: 'f0' is not a field; "))
        #expect(detail.hasSuffix("'f9' is not a field; and 240 more (see errors, which lists the first 100; more_errors counts the other 150)"), "\(detail)")
        // Few issues: all listed, no count, the detail as before.
        let two = Problem.validation(Array(issues.prefix(2)), kind: "song").json.objectValue
        #expect(two?["errors"]?.arrayValue?.count == 2 && two?["more_errors"] == nil)
        #expect(two?["detail"] == "2 fields are invalid: 'f0' is not a field; 'f1' is not a field")
    }

    @Test func thousandsOfUnknownKeysGetABoundedProblem() async throws {
        try await TestServer.run { client, _ in
            // ~120 KB: above the 64 KiB past which the body is parsed on the thread pool.
            let body = Self.songWithUnknownKeys(9000)
            #expect(body.utf8.count > JSONBody.offloadThreshold)
            for (method, uri) in [(HTTPRequest.Method.post, "/api/audio/create"), (.patch, "/api/audio/song/1")] {
                let response = try await client.execute(uri: uri, method: method, headers: [.contentType: "application/json"],
                                                        body: ByteBuffer(string: body))
                if method == .patch, response.status == .notFound { continue }  // no song 1 yet: checked on create
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
}
