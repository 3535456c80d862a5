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

@Suite struct LargeUploadTests {
    /// A PCM WAV of `dataBytes` random sample bytes (16-bit stereo, 44.1 kHz).
    static func wav(dataBytes: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        func le16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(v).littleEndian, Array.init) }
        var out = Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVEfmt ".utf8) + le32(16)
        out += le16(1) + le16(2) + le32(44100) + le32(44100 * 4) + le16(4) + le16(16)
        out += Array("data".utf8) + le32(dataBytes)
        // Pseudo-random samples from xorshift, written in place: the system generator (a
        // `getrandom` per 8 bytes) and an array per sample took seconds for tens of megabytes in a
        // debug build, on the cooperative pool the in-process test servers need.
        let header = out.count
        out += [UInt8](repeating: 0, count: dataBytes)
        var state = UInt64.random(in: 1...UInt64.max)
        out.withUnsafeMutableBytes { raw in
            var i = header
            while i + 8 <= raw.count {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                raw.storeBytes(of: state, toByteOffset: i, as: UInt64.self)
                i += 8
            }
        }
        return out
    }

    /// Past `UploadSink.writeBehindBytes` (8 MiB) the sink starts write-back as it goes; the file
    /// must still arrive whole, byte for byte, by both upload forms.
    @Test(arguments: TestBackend.all) func uploadsPastTheWriteBehindStepAreStoredWhole(_ backend: TestBackend) async throws {
        let bytes = Self.wav(dataBytes: 20 << 20)
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"big","duration":119}"#)
            let raw = try await client.uploadRaw("/api/audio/song/\(id)", bytes: bytes, contentType: "audio/wav")
            #expect(raw.status == .ok, "\(raw.text.prefix(300))")
            #expect(try raw.json()["file"]?["sha256"]?.stringValue == Fixture.sha256(bytes))
            #expect(try raw.json()["file"]?["size"]?.int64 == Int64(bytes.count))
            var body = MultipartBody()
            body.addFile(filename: "big.wav", contentType: "audio/wav", bytes: bytes)
            let multipart = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .put,
                headers: [.contentType: body.contentType], body: ByteBuffer(bytes: body.bytes))
            #expect(multipart.status == .ok)
            #expect(try multipart.json()["file"]?["sha256"]?.stringValue == Fixture.sha256(bytes))
            let stored = try await context.files()
            #expect(stored.count == 1, "\(stored)")
            #expect(try await context.openMultipartUploads().isEmpty)
            let path = try #require(stored.first)
            let onDisk = try await context.fileBytes(path)
            #expect(onDisk.count == bytes.count && Fixture.sha256(onDisk) == Fixture.sha256(bytes))
        }
    }
}

@Suite struct StoredFileEdgeTests {
    @Test(arguments: TestBackend.all) func aFileMissingFromDiskIsTheSame404ForEveryMethod(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            #expect(try await client.upload("/api/audio/song/\(id)", file: "wav_mono_s16.wav").status == .ok)
            for key in try await context.files() { try await context.removeFile(key) }
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

    @Test(arguments: TestBackend.all) func aRawUploadDownloadsUnderANameWithItsFormatsExtension(_ backend: TestBackend) async throws {
        try await TestServer.run(backend: backend) { client, _ in
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
            let weak = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .patch,
                headers: [.contentType: "application/json", .ifMatch: "W/\(etag)"], body: ByteBuffer(string: #"{"name":"u"}"#))
            #expect(weak.status == .preconditionFailed)
            let strong = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .patch,
                headers: [.contentType: "application/json", .ifMatch: "W/\(etag), \(etag)"], body: ByteBuffer(string: #"{"name":"u"}"#))
            #expect(strong.status == .ok)
        }
    }
}
