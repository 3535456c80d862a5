public import AsyncHTTPClient
public import Foundation
public import NIOCore
import NIOHTTP1

/// A small S3 client covering what the server needs: objects (put streamed, head, get with a
/// range, delete, list), multipart uploads (create, upload part, complete, abort, list abandoned
/// ones), presigned GET URLs, and `checkAccess()`. Requests are signed with `SigV4Signer`; bodies
/// stream through AsyncHTTPClient and are sent with `UNSIGNED-PAYLOAD` (their hash is not known
/// until the last byte), small XML bodies are signed with their hash.
///
/// Keys given to and returned by the client are relative to `location.prefix`.
public struct ObjectStorageClient: Sendable {
    public let location: S3Location
    public let signer: SigV4Signer
    public let httpClient: HTTPClient
    public var configuration: Configuration

    public struct Configuration: Sendable {
        /// Deadline of a request without a large body (head, delete, list, multipart bookkeeping).
        public var requestTimeout: TimeAmount
        /// Deadline of a request that moves object bytes (put, upload part, get), body included.
        public var transferTimeout: TimeAmount
        /// Longest error or listing document read into memory.
        public var maxDocumentSize: Int

        public init(requestTimeout: TimeAmount = .seconds(30), transferTimeout: TimeAmount = .hours(1), maxDocumentSize: Int = 8 << 20) {
            self.requestTimeout = requestTimeout
            self.transferTimeout = transferTimeout
            self.maxDocumentSize = maxDocumentSize
        }
    }

    /// The HTTP client requests go through unless a caller passes its own: AsyncHTTPClient's shared
    /// one retries a failed connection until the request's deadline (the transfer timeout, an hour,
    /// for a GET or PUT), so during an outage a download or upload waited 40–90 s, or for the store
    /// to come back, instead of getting its 503. Here a refused connection fails the request at once
    /// and an unanswered one after the connect timeout (AsyncHTTPClient's, 10 s); the client retries
    /// (`Retry-After`), and `checkAccess` keeps trying until its own deadline, so a server starting
    /// beside its object store still waits for it.
    public static let outageAwareHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(
        location: S3Location, credentials: ObjectStorageCredentials, httpClient: HTTPClient = Self.outageAwareHTTPClient,
        configuration: Configuration = .init()
    ) {
        self.location = location
        self.signer = SigV4Signer(credentials: credentials, region: location.region)
        self.httpClient = httpClient
        self.configuration = configuration
    }

    // MARK: objects

    /// Metadata of an object.
    public struct ObjectInfo: Sendable, Equatable {
        public var size: Int64
        /// As S3 sends it, quotes included (`"9b2cf535f27731c974343645a3985328"`).
        public var etag: String
        public var contentType: String?
        public var lastModified: String?
    }

    /// Stores `body` (exactly `length` bytes) as `key`, replacing any object of that name. Returns
    /// the ETag.
    @discardableResult
    public func putObject<Body: AsyncSequence & Sendable>(key: String, body: Body, length: Int64, contentType: String? = nil) async throws -> String
    where Body.Element == ByteBuffer {
        var headers: [(String, String)] = [("content-length", String(length))]
        if let contentType { headers.append(("content-type", contentType)) }
        let response = try await send(
            method: .PUT, key: key, headers: headers, body: .stream(body, length: .known(length)),
            payloadHash: SigV4Signer.unsignedPayload, timeout: configuration.transferTimeout)
        try await expect(response, [200], key: key)
        return response.headers.first(name: "etag") ?? ""
    }

    /// Stores `bytes` as `key`. Returns the ETag.
    @discardableResult
    public func putObject(key: String, bytes: ByteBuffer, contentType: String? = nil) async throws -> String {
        var headers: [(String, String)] = [("content-length", String(bytes.readableBytes))]
        if let contentType { headers.append(("content-type", contentType)) }
        let response = try await send(
            method: .PUT, key: key, headers: headers, body: .bytes(bytes),
            payloadHash: SigV4Signer.payloadHash(Array(bytes.readableBytesView)), timeout: configuration.transferTimeout)
        try await expect(response, [200], key: key)
        return response.headers.first(name: "etag") ?? ""
    }

    /// The object's metadata, or `nil` when there is none of that name.
    public func headObject(key: String) async throws -> ObjectInfo? {
        let response = try await send(method: .HEAD, key: key)
        if response.status.code == 404 { return nil }
        try await expect(response, [200], key: key)
        return Self.info(response.headers, size: response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0)
    }

    /// Which bytes of an object to read.
    public enum ByteRange: Sendable, Equatable {
        /// `first...last`, both inclusive (`bytes=first-last`).
        case closed(Int64, Int64)
        /// From `first` to the end (`bytes=first-`).
        case from(Int64)
        /// The last `count` bytes (`bytes=-count`).
        case suffix(Int64)

        var header: String {
            switch self {
            case .closed(let a, let b): "bytes=\(a)-\(b)"
            case .from(let a): "bytes=\(a)-"
            case .suffix(let n): "bytes=-\(n)"
            }
        }
    }

    /// An object being read: its metadata and its bytes, streamed. Read `body` to its end (or drop
    /// it, which closes the connection).
    public struct Download: Sendable {
        /// The object's whole size.
        public var info: ObjectInfo
        /// The bytes sent: all of them, or those of the range.
        public var contentLength: Int64
        /// The first and last byte sent (inclusive), set when a range was asked for.
        public var range: ClosedRange<Int64>?
        public var body: HTTPClientResponse.Body
    }

    /// Reads an object, or `range` of it. Throws `.notFound` when there is none, `.invalidRange`
    /// when the range lies outside it.
    public func getObject(key: String, range: ByteRange? = nil) async throws -> Download {
        var headers: [(String, String)] = []
        if let range { headers.append(("range", range.header)) }
        let response = try await send(method: .GET, key: key, headers: headers, timeout: configuration.transferTimeout)
        try await expect(response, [200, 206], key: key)
        let length = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? -1
        var total = length
        var sent: ClosedRange<Int64>?
        if response.status.code == 206, let header = response.headers.first(name: "content-range"), let parsed = Self.contentRange(header) {
            sent = parsed.range
            total = parsed.total ?? -1
        }
        return Download(info: Self.info(response.headers, size: total), contentLength: length, range: sent, body: response.body)
    }

    /// Reads an object (or part of it) into memory: for small objects and tests.
    public func getObjectBytes(key: String, range: ByteRange? = nil, upTo limit: Int = 64 << 20) async throws -> ByteBuffer {
        let download = try await getObject(key: key, range: range)
        return try await download.body.collect(upTo: limit)
    }

    /// Deletes an object; deleting one that does not exist succeeds, as in S3.
    public func deleteObject(key: String) async throws {
        let response = try await send(method: .DELETE, key: key)
        try await expect(response, [200, 204], key: key)
    }

    /// One page of a listing.
    public struct ListPage: Sendable {
        public struct Object: Sendable, Equatable {
            public var key: String
            public var size: Int64
            public var etag: String
            public var lastModified: String?
        }
        public var objects: [Object]
        /// With a delimiter: the common prefixes (relative to the location's prefix).
        public var commonPrefixes: [String]
        /// Pass to the next call for the next page; `nil` on the last.
        public var continuationToken: String?
    }

    /// One page (at most `maxKeys`, and at most 1000) of the objects whose key starts with `prefix`,
    /// in key order.
    public func listObjects(
        prefix: String = "", continuationToken: String? = nil, maxKeys: Int = 1000, delimiter: String? = nil
    ) async throws -> ListPage {
        try await listObjects(prefix: prefix, continuationToken: continuationToken, maxKeys: maxKeys, delimiter: delimiter, timeout: nil)
    }

    func listObjects(prefix: String, continuationToken: String?, maxKeys: Int, delimiter: String?, timeout: TimeAmount?) async throws -> ListPage {
        var query: [(String, String)] = [("list-type", "2"), ("max-keys", String(maxKeys)), ("prefix", location.prefix + prefix)]
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        let xml = try await document(method: .GET, key: nil, query: query, timeout: timeout)
        let objects = S3XML.elements("Contents", in: xml[...]).map { entry in
            ListPage.Object(
                key: relative(S3XML.value("Key", in: entry) ?? ""),
                size: Int64(S3XML.value("Size", in: entry) ?? "") ?? 0,
                etag: S3XML.value("ETag", in: entry) ?? "",
                lastModified: S3XML.value("LastModified", in: entry))
        }
        let prefixes = S3XML.elements("CommonPrefixes", in: xml[...]).compactMap { S3XML.value("Prefix", in: $0) }.map(relative)
        let truncated = S3XML.value("IsTruncated", in: xml[...]) == "true"
        let next = truncated ? S3XML.value("NextContinuationToken", in: xml[...]) : nil
        return ListPage(objects: objects, commonPrefixes: prefixes, continuationToken: next)
    }

    /// Every object under `prefix`, page after page (at most `maxPages` pages).
    public func listAllObjects(prefix: String = "", pageSize: Int = 1000, maxPages: Int = 100_000) async throws -> [ListPage.Object] {
        var all: [ListPage.Object] = []
        var token: String?
        for _ in 0..<maxPages {
            let page = try await listObjects(prefix: prefix, continuationToken: token, maxKeys: pageSize)
            all += page.objects
            guard let next = page.continuationToken else { return all }
            token = next
        }
        throw ObjectStorageError.unexpected(status: 200, code: nil, message: "listing did not end after \(maxPages) pages")
    }

    // MARK: multipart uploads

    /// Begins a multipart upload of `key`; returns its upload ID.
    public func createMultipartUpload(key: String, contentType: String? = nil) async throws -> String {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("content-type", contentType)) }
        let xml = try await document(method: .POST, key: key, query: [("uploads", "")], headers: headers)
        guard let id = S3XML.value("UploadId", in: xml[...]), !id.isEmpty else {
            throw ObjectStorageError.unexpected(status: 200, code: nil, message: "no UploadId in the answer to CreateMultipartUpload")
        }
        return id
    }

    /// Uploads part `partNumber` (1...10000; every part but the last at least 5 MiB) of `body`
    /// (exactly `length` bytes); returns its ETag, to be given to `completeMultipartUpload`.
    public func uploadPart<Body: AsyncSequence & Sendable>(
        key: String, uploadID: String, partNumber: Int, body: Body, length: Int64
    ) async throws -> String
    where Body.Element == ByteBuffer {
        let response = try await send(
            method: .PUT, key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadID)],
            headers: [("content-length", String(length))], body: .stream(body, length: .known(length)),
            payloadHash: SigV4Signer.unsignedPayload, timeout: configuration.transferTimeout)
        try await expect(response, [200], key: key, uploadID: uploadID)
        guard let etag = response.headers.first(name: "etag") else {
            throw ObjectStorageError.unexpected(status: 200, code: nil, message: "no ETag in the answer to UploadPart")
        }
        return etag
    }

    /// Uploads part `partNumber` from memory.
    public func uploadPart(key: String, uploadID: String, partNumber: Int, bytes: ByteBuffer) async throws -> String {
        try await uploadPart(key: key, uploadID: uploadID, partNumber: partNumber, body: OneBuffer(buffer: bytes), length: Int64(bytes.readableBytes))
    }

    public struct CompletedPart: Sendable, Equatable {
        public var partNumber: Int
        public var etag: String
        public init(partNumber: Int, etag: String) {
            self.partNumber = partNumber
            self.etag = etag
        }
    }

    /// Joins the parts (in part-number order) into the object; returns its ETag. S3 may answer 200
    /// with an error document here; that is thrown.
    @discardableResult
    public func completeMultipartUpload(key: String, uploadID: String, parts: [CompletedPart]) async throws -> String {
        let body =
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + parts.sorted { $0.partNumber < $1.partNumber }.map {
                "<Part><PartNumber>\($0.partNumber)</PartNumber><ETag>\(S3XML.escape($0.etag))</ETag></Part>"
            }.joined()
            + "</CompleteMultipartUpload>"
        let xml = try await document(
            method: .POST, key: key, query: [("uploadId", uploadID)], body: Array(body.utf8),
            headers: [("content-type", "application/xml")], uploadID: uploadID)
        if !S3XML.elements("Error", in: xml[...]).isEmpty {
            throw ObjectStorageError.from(status: 200, body: xml, bucket: location.bucket, key: key, uploadID: uploadID)
        }
        return S3XML.value("ETag", in: xml[...]) ?? ""
    }

    /// Abandons a multipart upload and frees its parts.
    public func abortMultipartUpload(key: String, uploadID: String) async throws {
        let response = try await send(method: .DELETE, key: key, query: [("uploadId", uploadID)])
        try await expect(response, [200, 204], key: key, uploadID: uploadID)
    }

    /// Aborts a multipart upload that may be gone already (aborted by an earlier attempt, another
    /// server's sweep or `storage verify --repair`): that counts as done. Any other failure throws.
    public func abortIfOpen(key: String, uploadID: String) async throws {
        do {
            try await abortMultipartUpload(key: key, uploadID: uploadID)
        } catch ObjectStorageError.noSuchUpload, ObjectStorageError.notFound {
            // Gone already.
        }
    }

    public struct MultipartUpload: Sendable, Equatable {
        public var key: String
        public var uploadID: String
        public var initiated: String?
    }

    /// The multipart uploads begun under `prefix` and neither completed nor aborted (at most
    /// `maxPages` pages of 1000).
    public func listMultipartUploads(prefix: String = "", maxPages: Int = 1000) async throws -> [MultipartUpload] {
        var uploads: [MultipartUpload] = []
        var keyMarker: String?
        var uploadIDMarker: String?
        for _ in 0..<maxPages {
            var query: [(String, String)] = [("uploads", ""), ("prefix", location.prefix + prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let uploadIDMarker { query.append(("upload-id-marker", uploadIDMarker)) }
            let xml = try await document(method: .GET, key: nil, query: query)
            uploads += S3XML.elements("Upload", in: xml[...]).map { entry in
                MultipartUpload(
                    key: relative(S3XML.value("Key", in: entry) ?? ""), uploadID: S3XML.value("UploadId", in: entry) ?? "",
                    initiated: S3XML.value("Initiated", in: entry))
            }
            guard S3XML.value("IsTruncated", in: xml[...]) == "true" else { return uploads }
            keyMarker = S3XML.value("NextKeyMarker", in: xml[...])
            uploadIDMarker = S3XML.value("NextUploadIdMarker", in: xml[...])
            if keyMarker == nil && uploadIDMarker == nil { return uploads }
        }
        return uploads
    }

    // MARK: presigned URLs and checks

    /// A URL anyone can GET `key` with, for `expiresIn` seconds (1 s to 7 days) from `date`, with
    /// no headers; `contentType` and `contentDisposition` set the answer's headers.
    public func presignedGetURL(
        key: String, expiresIn: Int, contentType: String? = nil, contentDisposition: String? = nil, date: Date = Date()
    ) -> String {
        var query: [(String, String)] = []
        if let contentDisposition { query.append(("response-content-disposition", contentDisposition)) }
        if let contentType { query.append(("response-content-type", contentType)) }
        let path = location.path(fullKey: location.prefix + key)
        let request = SigV4Signer.Request(method: "GET", host: location.requestHost, path: path, query: query)
        let signed = signer.presignedQuery(request, expires: min(max(expiresIn, 1), 604_800), date: date)
        return "\(location.scheme)://\(location.requestHost)\(SigV4Signer.canonicalPath(path))?\(signed)"
    }

    /// Lists at most one key under the location's prefix: proves the endpoint answers, the bucket
    /// exists and the credentials may read it. Throws `.unreachable`, `.noSuchBucket`,
    /// `.invalidCredentials` or `.accessDenied` naming which is wrong. With `retrying`, an
    /// unreachable endpoint is tried again until `timeout` has passed (an object store starting
    /// beside the server), then reported; without (a health probe), the first failure is the answer.
    public func checkAccess(timeout: TimeAmount = .seconds(10), retrying: Bool = true) async throws {
        let deadline = NIODeadline.now() + timeout
        var pause = TimeAmount.milliseconds(100)
        while true {
            do {
                // The last try, at the deadline, still gets a moment to connect.
                let left = max(deadline - .now(), .milliseconds(500))
                _ = try await listObjects(prefix: "", continuationToken: nil, maxKeys: 1, delimiter: nil, timeout: left)
                return
            } catch ObjectStorageError.unreachable where retrying && NIODeadline.now() < deadline {
                // Until the deadline, not short of it: the last pause is cut to what is left and one
                // more try follows. (A pause that would have passed the deadline used to end the
                // check there, up to a second early; a loaded CI machine saw 1.3 s of 2.)
                let wait = min(pause, deadline - .now())
                if wait > .zero { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
                pause = min(pause * 2, .seconds(1))
            }
        }
    }

    // MARK: requests

    private func relative(_ fullKey: String) -> String {
        fullKey.hasPrefix(location.prefix) ? String(fullKey.dropFirst(location.prefix.count)) : fullKey
    }

    /// Signs and sends a request for `key` (relative; `nil` for the bucket itself).
    func send(
        method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: HTTPClientRequest.Body? = nil, payloadHash: String = SigV4Signer.emptyPayloadHash,
        timeout: TimeAmount? = nil
    ) async throws -> HTTPClientResponse {
        let path = location.path(fullKey: key.map { location.prefix + $0 })
        let host = location.requestHost
        let signRequest = SigV4Signer.Request(
            method: method.rawValue, host: host, path: path, query: query,
            headers: headers.filter { $0.0 != "content-length" })
        let added = signer.sign(signRequest, payloadHash: payloadHash, date: Date())
        let queryString = query.map { "\(SigV4Signer.encode($0.0))=\(SigV4Signer.encode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(
            url: "\(location.scheme)://\(host)\(SigV4Signer.canonicalPath(path))\(queryString.isEmpty ? "" : "?" + queryString)")
        request.method = method
        request.headers.add(name: "host", value: host)
        for (name, value) in headers where name != "content-length" { request.headers.add(name: name, value: value) }
        for (name, value) in added { request.headers.add(name: name, value: value) }
        if let body { request.body = body }
        do {
            return try await httpClient.execute(request, timeout: timeout ?? configuration.requestTimeout)
        } catch let error as HTTPClientError where Self.connectionFailures.contains(error) {
            throw ObjectStorageError.unreachable(endpoint: location.endpoint, reason: String(describing: error))
        } catch let error where !(error is HTTPClientError) && !(error is CancellationError) && Self.isConnectionError(error) {
            throw ObjectStorageError.unreachable(endpoint: location.endpoint, reason: String(describing: error))
        }
    }

    /// AsyncHTTPClient's errors that mean the endpoint did not answer (others, such as a body
    /// shorter than its length, are the caller's and are rethrown as they are).
    private static let connectionFailures: [HTTPClientError] = [
        .connectTimeout, .remoteConnectionClosed, .readTimeout, .writeTimeout, .deadlineExceeded, .tlsHandshakeTimeout,
        .getConnectionFromPoolTimeout, .socksHandshakeTimeout, .httpProxyHandshakeTimeout, .uncleanShutdown, .emptyHost,
    ]

    /// Errors AsyncHTTPClient passes through from NIO when no connection could be made.
    private static func isConnectionError(_ error: any Error) -> Bool {
        let name = String(reflecting: type(of: error))
        return name.contains("NIOConnectionError") || name.contains("IOError") || name.contains("SocketAddressError")
            || name.contains("ChannelError") || name.contains("NIOSSL")
    }

    /// Throws the S3 error of `response` unless its status is one of `ok`; drains the body when it
    /// is an error.
    func expect(_ response: HTTPClientResponse, _ ok: Set<UInt>, key: String?, uploadID: String? = nil) async throws {
        guard !ok.contains(response.status.code) else { return }
        let body = (try? await Self.readPrefix(response.body, limit: 64 << 10)) ?? ""
        throw ObjectStorageError.from(
            status: Int(response.status.code), body: body, bucket: location.bucket, key: key.map { location.prefix + $0 }, uploadID: uploadID)
    }

    /// Sends a request whose answer is an XML document, and returns it.
    func document(
        method: HTTPMethod, key: String?, query: [(String, String)], body: [UInt8]? = nil,
        headers: [(String, String)] = [], uploadID: String? = nil, timeout: TimeAmount? = nil
    ) async throws -> String {
        var headers = headers
        var requestBody: HTTPClientRequest.Body?
        var hash = SigV4Signer.emptyPayloadHash
        if let body {
            headers.append(("content-length", String(body.count)))
            requestBody = .bytes(ByteBuffer(bytes: body))
            hash = SigV4Signer.payloadHash(body)
        }
        let response = try await send(
            method: method, key: key, query: query, headers: headers, body: requestBody, payloadHash: hash, timeout: timeout)
        try await expect(response, [200], key: key, uploadID: uploadID)
        let buffer = try await response.body.collect(upTo: configuration.maxDocumentSize)
        return String(buffer: buffer)
    }

    /// The first `limit` bytes of a body as text, the rest drained unread.
    static func readPrefix(_ body: HTTPClientResponse.Body, limit: Int) async throws -> String {
        var kept = ByteBuffer()
        for try await var chunk in body where kept.readableBytes < limit {
            kept.writeBuffer(&chunk)
        }
        return String(buffer: kept)
    }

    static func info(_ headers: HTTPHeaders, size: Int64) -> ObjectInfo {
        ObjectInfo(
            size: size, etag: headers.first(name: "etag") ?? "", contentType: headers.first(name: "content-type"),
            lastModified: headers.first(name: "last-modified"))
    }

    /// `bytes 0-9/100` → (0...9, 100); `bytes 0-9/*` → (0...9, nil).
    static func contentRange(_ header: String) -> (range: ClosedRange<Int64>, total: Int64?)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == "bytes" else { return nil }
        let spanAndTotal = parts[1].split(separator: "/", maxSplits: 1)
        guard spanAndTotal.count == 2 else { return nil }
        let bounds = spanAndTotal[0].split(separator: "-", maxSplits: 1)
        guard bounds.count == 2, let a = Int64(bounds[0]), let b = Int64(bounds[1]), a <= b else { return nil }
        return (a...b, Int64(spanAndTotal[1]))
    }
}

/// One buffer as an async sequence, for a body already in memory.
struct OneBuffer: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer
    struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        mutating func next() async throws -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
