import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import KindModel
import Testing

@Suite struct DownloadTests {
    /// Creates a song with the stereo WAV uploaded; returns its id, the bytes and the ETag.
    private func songWithFile(_ client: any TestClientProtocol) async throws -> (Int64, [UInt8], String) {
        let id = try await client.create(#"{"filetype":"song","name":"t","duration":2}"#)
        let response = try await client.upload("/api/audio/song/\(id)", file: "wav_stereo_s16.wav")
        let bytes = try Fixture.bytes("wav_stereo_s16.wav")
        #expect(response.status == .ok)
        return (id, bytes, "\"\(Fixture.sha256(bytes))\"")
    }

    @Test(arguments: TestBackend.all) func fullDownloadAndHead(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, _ in
            let (id, bytes, etag) = try await songWithFile(client)
            let full = try await client.get("/api/audio/song/\(id)/file")
            #expect(full.status == .ok)
            #expect(Array(full.body.readableBytesView) == bytes)
            #expect(full.headers[.contentType] == "audio/wav")
            #expect(full.headers[.contentLength] == String(bytes.count))
            #expect(full.headers[.eTag] == etag)
            #expect(full.headers[.acceptRanges] == "bytes")
            #expect(full.headers[.contentDisposition]?.contains("filename=\"wav_stereo_s16.wav\"") == true)
            let head = try await client.execute(uri: "/api/audio/song/\(id)/file", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
            #expect(head.headers[.contentLength] == String(bytes.count) && head.headers[.eTag] == etag)
        }
    }

    @Test(arguments: TestBackend.all) func conditionalAndRanges(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, _ in
            let (id, bytes, etag) = try await songWithFile(client)
            let uri = "/api/audio/song/\(id)/file"
            let size = bytes.count
            let notModified = try await client.get(uri, headers: [.ifNoneMatch: etag])
            #expect(notModified.status == .notModified && notModified.body.readableBytes == 0)
            #expect(try await client.get(uri, headers: [.ifNoneMatch: "\"other\""]).status == .ok)
            // If-Match: the file it names (or any, `*`) is served; another is a 412 problem; a weak tag never matches.
            #expect(try await client.get(uri, headers: [.ifMatch: etag]).status == .ok)
            #expect(try await client.get(uri, headers: [.ifMatch: "\"other\", \(etag)"]).status == .ok)
            #expect(try await client.get(uri, headers: [.ifMatch: "*"]).status == .ok)
            #expect(try await client.get(uri, headers: [.ifMatch: ""]).status == .ok, "an empty If-Match names nothing: no condition")
            let replaced = try await client.get(uri, headers: [.ifMatch: "\"other\""])
            #expect(replaced.status == .preconditionFailed && replaced.isProblem && replaced.headers[.eTag] == etag)
            #expect(try await client.get(uri, headers: [.ifMatch: "W/\(etag)"]).status == .preconditionFailed)
            #expect(try await client.execute(uri: uri, method: .head, headers: [.ifMatch: "\"other\""]).status == .preconditionFailed)

            func range(_ header: String, ifRange: String? = nil) async throws -> TestResponse {
                var headers: HTTPFields = [.range: header]
                if let ifRange { headers[.ifRange] = ifRange }
                return try await client.get(uri, headers: headers)
            }
            let first = try await range("bytes=0-9")
            #expect(first.status == .partialContent)
            #expect(first.headers[.contentRange] == "bytes 0-9/\(size)" && first.headers[.contentLength] == "10")
            #expect(Array(first.body.readableBytesView) == Array(bytes[0...9]))
            let open = try await range("bytes=100-")
            #expect(open.status == .partialContent && Array(open.body.readableBytesView) == Array(bytes[100...]))
            #expect(open.headers[.contentRange] == "bytes 100-\(size - 1)/\(size)")
            let suffix = try await range("bytes=-50")
            #expect(suffix.status == .partialContent && Array(suffix.body.readableBytesView) == Array(bytes[(size - 50)...]))
            let clipped = try await range("bytes=\(size - 5)-\(size + 1000)")
            #expect(clipped.status == .partialContent && clipped.headers[.contentRange] == "bytes \(size - 5)-\(size - 1)/\(size)")
            #expect(clipped.body.readableBytes == 5)
            let unsatisfiable = try await range("bytes=\(size)-")
            #expect(unsatisfiable.status == .rangeNotSatisfiable && unsatisfiable.headers[.contentRange] == "bytes */\(size)")
            #expect(unsatisfiable.isProblem)
            let stale = try await range("bytes=0-9", ifRange: "\"stale\"")
            #expect(stale.status == .ok && stale.body.readableBytes == size)
            let fresh = try await range("bytes=0-9", ifRange: etag)
            #expect(fresh.status == .partialContent)
            let other = try await range("items=0-9")
            #expect(other.status == .ok)
        }
    }

    @Test(arguments: TestBackend.all) func noFileYetAndUnknowns(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":2}"#)
            let none = try await client.get("/api/audio/song/\(id)/file")
            #expect(none.status == .notFound && none.isProblem)
            #expect(try await client.get("/api/audio/song/424242/file").status == .notFound)
            #expect(try await client.get("/api/audio/zzz/1/file").status == .notFound)
        }
    }
}
