import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Storage
import Testing

/// The S3 client end to end against a real S3-compatible server: SeaweedFS started by
/// `scripts/with-test-s3.sh` (`TEST_S3_URL`, `TEST_S3_ACCESS_KEY_ID`, `TEST_S3_SECRET_ACCESS_KEY`).
/// Each test works under its own random key prefix, so they run in parallel.
@Suite(.enabled(if: TestS3.configured, "TEST_S3_URL not set: run through scripts/with-test-s3.sh (starts SeaweedFS)"))
struct ObjectStorageClientTests {
    @Test func putHeadGetDelete() async throws {
        let client = try TestS3.client()
        let key = "dir/a b+é&=?.wav"
        let bytes = TestS3.bytes(count: 1000, seed: 1)
        let etag = try await client.putObject(key: key, bytes: ByteBuffer(bytes: bytes), contentType: "audio/wav")
        #expect(!etag.isEmpty)

        let info = try #require(try await client.headObject(key: key))
        #expect(info.size == 1000)
        #expect(info.etag == etag)
        #expect(info.contentType == "audio/wav")

        let whole = try await client.getObject(key: key)
        #expect(whole.range == nil)
        #expect(whole.contentLength == 1000)
        #expect(whole.info.size == 1000)
        #expect(Array(buffer: try await whole.body.collect(upTo: 1 << 20)) == bytes)

        let listed = try await client.listObjects(prefix: "dir/")
        #expect(listed.objects.map(\.key) == [key])
        #expect(listed.objects.first?.size == 1000)

        try await client.deleteObject(key: key)
        #expect(try await client.headObject(key: key) == nil)
        try await client.deleteObject(key: key)  // deleting nothing succeeds, as in S3
        await #expect(throws: ObjectStorageError.notFound(key: client.location.prefix + key)) {
            _ = try await client.getObject(key: key)
        }
    }

    @Test func streamedPutAndRanges() async throws {
        let client = try TestS3.client()
        let bytes = TestS3.bytes(count: 300_000, seed: 2)
        try await client.putObject(key: "r.bin", body: TestS3.Chunks(bytes: bytes, chunk: 7_777), length: Int64(bytes.count))

        func read(_ range: ObjectStorageClient.ByteRange) async throws -> (ObjectStorageClient.Download, [UInt8]) {
            let download = try await client.getObject(key: "r.bin", range: range)
            return (download, Array(buffer: try await download.body.collect(upTo: 1 << 20)))
        }
        let (first, firstBytes) = try await read(.closed(0, 9))
        #expect(first.range == 0...9)
        #expect(first.contentLength == 10)
        #expect(first.info.size == 300_000)
        #expect(firstBytes == Array(bytes[0...9]))

        let (middle, middleBytes) = try await read(.closed(123_456, 200_000))
        #expect(middle.range == 123_456...200_000)
        #expect(middleBytes == Array(bytes[123_456...200_000]))

        let (suffix, suffixBytes) = try await read(.suffix(500))
        #expect(suffix.range == 299_500...299_999)
        #expect(suffixBytes == Array(bytes[299_500...]))

        let (open, openBytes) = try await read(.from(299_990))
        #expect(open.range == 299_990...299_999)
        #expect(openBytes == Array(bytes[299_990...]))

        await #expect(throws: ObjectStorageError.invalidRange) { _ = try await client.getObject(key: "r.bin", range: .from(300_000)) }
    }

    @Test func failedBodyLeavesNoObject() async throws {
        let client = try TestS3.client()
        let bytes = TestS3.bytes(count: 200_000, seed: 5)
        // The body's source fails after 100 000 bytes: the error comes back as it was, nothing is stored.
        await #expect(throws: TestS3.SourceFailed.self) {
            try await client.putObject(key: "broken.bin", body: TestS3.Chunks(bytes: bytes, chunk: 10_000, failAfter: 100_000), length: 200_000)
        }
        #expect(try await client.headObject(key: "broken.bin") == nil)
        // A body shorter than its declared length is refused by the HTTP client, not taken for an outage.
        let error = await #expect(throws: (any Error).self) {
            try await client.putObject(key: "short.bin", body: TestS3.Chunks(bytes: Array(bytes[..<1000]), chunk: 100), length: 2000)
        }
        #expect(!(error is ObjectStorageError))
        #expect(try await client.headObject(key: "short.bin") == nil)
        #expect(try await client.listAllObjects().isEmpty)
    }

    @Test func listWithPrefixAndPagination() async throws {
        let client = try TestS3.client()
        let keys = (0..<7).map { "list/\($0).txt" }
        for key in keys + ["other/x.txt", "listless.txt"] {
            try await client.putObject(key: key, bytes: ByteBuffer(string: key))
        }
        var pages: [[String]] = []
        var token: String?
        for _ in 0..<10 {
            let page = try await client.listObjects(prefix: "list/", continuationToken: token, maxKeys: 3)
            pages.append(page.objects.map(\.key))
            token = page.continuationToken
            if token == nil { break }
        }
        #expect(pages == [Array(keys[0..<3]), Array(keys[3..<6]), Array(keys[6...])])
        #expect(try await client.listAllObjects(prefix: "list/", pageSize: 2).map(\.key) == keys)
        #expect(try await client.listAllObjects().count == 9)

        let top = try await client.listObjects(delimiter: "/")
        #expect(top.commonPrefixes == ["list/", "other/"])
        #expect(top.objects.map(\.key) == ["listless.txt"])
    }

    @Test func multipartUploadOfThreeParts() async throws {
        let client = try TestS3.client()
        let partSize = 5 << 20
        let sizes = [partSize, partSize, partSize + 12_345]
        let key = "big/multi.bin"
        let uploadID = try await client.createMultipartUpload(key: key, contentType: "application/octet-stream")
        #expect(try await client.listMultipartUploads().map(\.uploadID).contains(uploadID))

        var hasher = SHA256()
        var parts: [ObjectStorageClient.CompletedPart] = []
        for (index, size) in sizes.enumerated() {
            let bytes = TestS3.bytes(count: size, seed: UInt64(10 + index))
            hasher.update(data: bytes)
            let etag = try await client.uploadPart(
                key: key, uploadID: uploadID, partNumber: index + 1,
                body: TestS3.Chunks(bytes: bytes, chunk: 64 << 10), length: Int64(size))
            parts.append(.init(partNumber: index + 1, etag: etag))
        }
        let expected = hasher.finalize()
        try await client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts.reversed())

        #expect(try await client.headObject(key: key)?.size == Int64(sizes.reduce(0, +)))
        let download = try await client.getObject(key: key)
        var readBack = SHA256()
        var count = 0
        for try await chunk in download.body {
            readBack.update(data: Array(buffer: chunk))
            count += chunk.readableBytes
        }
        #expect(count == sizes.reduce(0, +))
        #expect(readBack.finalize() == expected)
        #expect(try await client.listMultipartUploads().isEmpty)
    }

    @Test func abortedMultipartLeavesNothing() async throws {
        let client = try TestS3.client()
        let key = "aborted.bin"
        let uploadID = try await client.createMultipartUpload(key: key)
        _ = try await client.uploadPart(key: key, uploadID: uploadID, partNumber: 1, bytes: ByteBuffer(bytes: TestS3.bytes(count: 5 << 20, seed: 3)))
        let listed = try await client.listMultipartUploads()
        #expect(listed.map(\.uploadID) == [uploadID])
        #expect(listed.first?.key == key)

        try await client.abortMultipartUpload(key: key, uploadID: uploadID)
        #expect(try await client.listMultipartUploads().isEmpty)
        #expect(try await client.headObject(key: key) == nil)
        await #expect(throws: ObjectStorageError.self) {
            try await client.completeMultipartUpload(key: key, uploadID: uploadID, parts: [.init(partNumber: 1, etag: "\"x\"")])
        }
        #expect(try await client.headObject(key: key) == nil)
    }

    /// `abortIfOpen` counts an upload that is gone as aborted, and still throws on any other
    /// failure. An upload id SeaweedFS never issued is answered `NoSuchUpload` (as AWS answers for
    /// an aborted one; SeaweedFS answers a second abort of a real one with success).
    @Test func abortIfOpenCountsAGoneUploadAsAborted() async throws {
        let client = try TestS3.client()
        let key = "never-begun.bin"
        let unknown = "no-such-upload-" + UUID().uuidString
        await #expect(throws: ObjectStorageError.noSuchUpload(uploadID: unknown)) {
            try await client.abortMultipartUpload(key: key, uploadID: unknown)
        }
        try await client.abortIfOpen(key: key, uploadID: unknown)

        let uploadID = try await client.createMultipartUpload(key: key)
        try await client.abortIfOpen(key: key, uploadID: uploadID)
        #expect(try await client.listMultipartUploads(prefix: key).isEmpty)

        // Any other failure is not "gone": nothing listens here.
        let unreachable = ObjectStorageClient(
            location: try S3Location(bucket: "audio-test", endpoint: "http://127.0.0.1:1", pathStyle: true),
            credentials: .init(accessKeyID: "a", secretAccessKey: "b"), configuration: .init(requestTimeout: .seconds(2)))
        await #expect(throws: ObjectStorageError.self) { try await unreachable.abortIfOpen(key: key, uploadID: unknown) }
    }

    /// An object store that refuses connections fails a request at once (the caller answers 503
    /// and the client retries), even one with the hour-long transfer deadline; before, the shared
    /// HTTP client retried connecting until the deadline (a GET and a HEAD here took 120 s). The start-up
    /// check still tries until its own deadline, for a store that is starting beside the server.
    @Test func aRefusedConnectionFailsAtOnceButTheStartupCheckWaits() async throws {
        let closed = ObjectStorageClient(
            location: try S3Location(bucket: "audio-test", endpoint: "http://127.0.0.1:1", pathStyle: true),
            credentials: .init(accessKeyID: "a", secretAccessKey: "b"))
        let started = ContinuousClock.now
        await #expect(throws: ObjectStorageError.self) { _ = try await closed.getObject(key: "k") }
        await #expect(throws: ObjectStorageError.self) { _ = try await closed.headObject(key: "k") }
        // At once when idle; bounded loosely for a loaded test machine (with retries it took 120 s).
        #expect(ContinuousClock.now - started < .seconds(30), "took \(ContinuousClock.now - started)")
        let checking = ContinuousClock.now
        await #expect(throws: ObjectStorageError.self) { try await closed.checkAccess(timeout: .seconds(2)) }
        let waited = ContinuousClock.now - checking
        #expect(waited > .milliseconds(1500), "the check gave up after \(waited), before its deadline")
    }

    @Test func presignedGetNeedsNoHeaders() async throws {
        let client = try TestS3.client()
        let bytes = TestS3.bytes(count: 2048, seed: 4)
        try await client.putObject(key: "song 1.mp3", bytes: ByteBuffer(bytes: bytes), contentType: "application/octet-stream")
        let disposition = "attachment; filename=\"song 1.mp3\""
        let url = client.presignedGetURL(key: "song 1.mp3", expiresIn: 60, contentType: "audio/mpeg", contentDisposition: disposition)

        let ok = try await TestS3.plainGet(url)
        #expect(ok.status == 200)
        #expect(ok.body == bytes)
        #expect(ok.headers.first(name: "content-type") == "audio/mpeg")
        #expect(ok.headers.first(name: "content-disposition") == disposition)

        let ranged = try await TestS3.plainGet(url, range: "bytes=0-99")
        #expect(ranged.status == 206)
        #expect(ranged.body == Array(bytes[0..<100]))

        // Expired: signed two minutes ago for one minute.
        let expired = client.presignedGetURL(key: "song 1.mp3", expiresIn: 60, date: Date().addingTimeInterval(-120))
        #expect(try await TestS3.plainGet(expired).status == 403)

        // Tampered: another override than the one signed, or another key.
        let tamperedType = url.replacingOccurrences(of: "audio%2Fmpeg", with: "text%2Fhtml")
        #expect(tamperedType != url)
        #expect(try await TestS3.plainGet(tamperedType).status == 403)
        let otherKey = url.replacingOccurrences(of: "song%201.mp3", with: "song%202.mp3")
        #expect(otherKey != url)
        #expect(try await TestS3.plainGet(otherKey).status == 403)
    }

    @Test func checkAccessPasses() async throws {
        try await TestS3.client().checkAccess()
    }

    @Test func wrongSecretIsRejected() async throws {
        let good = try TestS3.client()
        let bad = ObjectStorageClient(
            location: good.location,
            credentials: ObjectStorageCredentials(accessKeyID: good.signer.credentials.accessKeyID, secretAccessKey: "wrong-secret"))
        let error = await #expect(throws: ObjectStorageError.self) { try await bad.checkAccess() }
        guard case .invalidCredentials(let code, _)? = error else {
            Issue.record("expected invalidCredentials, got \(String(describing: error))")
            return
        }
        #expect(code == "SignatureDoesNotMatch")
        #expect(String(describing: error!).contains("AWS_SECRET_ACCESS_KEY"))
        // HEAD answers carry no error body: a refused HEAD is accessDenied, never "no such object".
        await #expect(throws: ObjectStorageError.accessDenied(message: "403 with no error body")) { _ = try await bad.headObject(key: "x") }

        let unknownKey = ObjectStorageClient(
            location: good.location,
            credentials: ObjectStorageCredentials(accessKeyID: "AKNOBODY", secretAccessKey: "x"))
        let error2 = await #expect(throws: ObjectStorageError.self) { try await unknownKey.checkAccess() }
        guard case .invalidCredentials(let code2, _)? = error2 else {
            Issue.record("expected invalidCredentials, got \(String(describing: error2))")
            return
        }
        #expect(code2 == "InvalidAccessKeyId")
    }

    @Test func missingBucketIsNamed() async throws {
        let good = try TestS3.client()
        var location = good.location
        location.bucket = "no-such-bucket-\(UInt32.random(in: 0...UInt32.max))"
        let client = ObjectStorageClient(location: location, credentials: good.signer.credentials)
        await #expect(throws: ObjectStorageError.noSuchBucket(bucket: location.bucket)) { try await client.checkAccess() }
    }
}

/// What needs no S3 server: an endpoint where nothing listens.
@Suite struct ObjectStorageUnreachableTests {
    @Test func closedPortNamesTheEndpoint() async throws {
        let location = try S3Location(bucket: "audio-test", endpoint: "http://127.0.0.1:1", pathStyle: true)
        let client = ObjectStorageClient(location: location, credentials: .init(accessKeyID: "a", secretAccessKey: "b"))
        let error = await #expect(throws: ObjectStorageError.self) { try await client.checkAccess(timeout: .seconds(3)) }
        guard case .unreachable(let endpoint, let reason)? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(endpoint == "http://127.0.0.1:1")
        #expect(reason.lowercased().contains("refused"))
        #expect(String(describing: error!).contains("http://127.0.0.1:1"))
    }
}

/// The SeaweedFS `scripts/with-test-s3.sh` started.
enum TestS3 {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var configured: Bool { !(environment["TEST_S3_URL"] ?? "").isEmpty }

    /// A client for the test bucket, under a prefix of its own.
    static func client() throws -> ObjectStorageClient {
        var location = try S3Location(parsing: environment["TEST_S3_URL"] ?? "")
        location.prefix += "t-\(UUID().uuidString.lowercased())/"
        let credentials = ObjectStorageCredentials(
            accessKeyID: environment["TEST_S3_ACCESS_KEY_ID"] ?? "",
            secretAccessKey: environment["TEST_S3_SECRET_ACCESS_KEY"] ?? "")
        return ObjectStorageClient(location: location, credentials: credentials)
    }

    /// Deterministic pseudo-random bytes (xorshift).
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            out[i] = UInt8(truncatingIfNeeded: state)
        }
        return out
    }

    /// `bytes` as a stream of buffers of `chunk` bytes.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let bytes: [UInt8]
        let chunk: Int
        var failAfter: Int? = nil
        struct AsyncIterator: AsyncIteratorProtocol {
            let bytes: [UInt8]
            let chunk: Int
            let failAfter: Int?
            var offset = 0
            mutating func next() async throws -> ByteBuffer? {
                if let failAfter, offset >= failAfter { throw SourceFailed() }
                guard offset < bytes.count else { return nil }
                let end = Swift.min(offset + chunk, bytes.count)
                defer { offset = end }
                return ByteBuffer(bytes: bytes[offset..<end])
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, chunk: chunk, failAfter: failAfter) }
    }

    struct SourceFailed: Error {}

    /// A GET with no headers but an optional Range, as a browser following a redirect sends it.
    static func plainGet(_ url: String, range: String? = nil) async throws -> (status: UInt, headers: HTTPHeaders, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        if let range { request.headers.add(name: "range", value: range) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, response.headers, Array(buffer: body))
    }
}
