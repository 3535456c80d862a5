import AsyncHTTPClient
import Foundation
public import NIOCore
import NIOPosix
import Synchronization

/// Committed audio files as objects in S3-compatible storage, under the key layout of the disk
/// store (`files/<kind>/<id>/<uuid>.<ext>`, relative to the location's prefix).
///
/// An upload is received, hashed, sniffed and probed in a local temporary file exactly as on disk
/// (the probe needs random access: an M4A's `moov` may sit after `mdat`), and only then sent:
/// one PutObject up to `multipartThreshold`, a multipart upload of `partSize` parts above it,
/// `partsInFlight` at a time, each read from the file in 1 MiB chunks as it is sent (so memory
/// stays flat whatever the size). A failed multipart upload is aborted, after every part in
/// flight has ended (S3 may keep a part that was still arriving when the abort came); a failed
/// PutObject leaves no object (S3 stores none unless the whole body arrived). Every key is new (a UUID), so an upload never overwrites the object a
/// committed row names.
public struct ObjectFileStore: Sendable {
    public let client: ObjectStorageClient
    /// Objects larger than this go up as multipart uploads.
    public var multipartThreshold: Int64
    /// Size of every part but the last (S3's minimum is 5 MiB).
    public var partSize: Int64
    /// Parts sent at once. One at a time, the connection sat idle while each part's answer came
    /// back: a 1 GiB upload into a SeaweedFS on the same 2-core machine ran at 111 MB/s, with three
    /// at 123–134 MB/s (docs/performance.md, "Files in object storage").
    public var partsInFlight = 3
    /// The cached reachability probe `/healthz` reads.
    public let health: ObjectStorageHealth

    public static let defaultPartSize: Int64 = 16 << 20

    public init(
        client: ObjectStorageClient, multipartThreshold: Int64 = ObjectFileStore.defaultPartSize, partSize: Int64 = ObjectFileStore.defaultPartSize
    ) {
        self.client = client
        self.multipartThreshold = multipartThreshold
        self.partSize = max(partSize, 5 << 20)
        self.health = ObjectStorageHealth(client: client)
    }

    /// `s3://bucket/prefix?…` for messages.
    public var description: String { client.location.description }

    /// Uploads the local file at `path` as `key`. On failure nothing is left under `key` (the
    /// multipart upload is aborted) and the error is rethrown; the local file is kept either way.
    public func upload(localPath path: String, key: String, contentType: String?) async throws {
        let source = try FileByteSource(path: path)
        try await upload(size: source.size, key: key, contentType: contentType) { try source.read(at: $0, into: $1) }
    }

    /// Uploads `size` bytes that `read(offset, buffer)` supplies (filling `buffer` from `offset`,
    /// returning how many it wrote; it runs on NIO's thread pool) as `key`: one PutObject up to
    /// `multipartThreshold`, else a multipart upload, aborted when anything fails.
    public func upload(
        size: Int64, key: String, contentType: String?, read: @escaping @Sendable (Int64, UnsafeMutableRawBufferPointer) throws -> Int
    ) async throws {
        if size <= multipartThreshold {
            try await client.putObject(key: key, body: FileChunks(read: read, offset: 0, length: size), length: size, contentType: contentType)
            return
        }
        let uploadID = try await client.createMultipartUpload(key: key, contentType: contentType)
        do {
            let (client, partSize) = (self.client, self.partSize)
            let count = Int((size + partSize - 1) / partSize)
            // A throwing group waits for every child before it rethrows, so the abort below never
            // races a part still being sent.
            let parts = try await withThrowingTaskGroup(of: ObjectStorageClient.CompletedPart.self) { group in
                func send(_ number: Int) {
                    let offset = Int64(number - 1) * partSize
                    let length = min(partSize, size - offset)
                    group.addTask {
                        let etag = try await client.uploadPart(
                            key: key, uploadID: uploadID, partNumber: number, body: FileChunks(read: read, offset: offset, length: length),
                            length: length)
                        return .init(partNumber: number, etag: etag)
                    }
                }
                var next = 1
                while next <= min(count, max(partsInFlight, 1)) {
                    send(next)
                    next += 1
                }
                var parts: [ObjectStorageClient.CompletedPart] = []
                while let part = try await group.next() {
                    parts.append(part)
                    if next <= count {
                        send(next)
                        next += 1
                    }
                }
                return parts
            }
            try await client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts)
        } catch {
            await abort(key: key, uploadID: uploadID)
            throw error
        }
    }

    /// Whether the object exists (one HeadObject).
    public func exists(key: String) async throws -> Bool {
        try await client.headObject(key: key) != nil
    }

    /// Reads `range` (inclusive) of an object, streamed: its whole size as the store reports it
    /// (-1 when unknown) and the bytes. Throws `ObjectStorageError.notFound` when it is gone.
    public func read(key: String, range: ClosedRange<Int64>) async throws -> (size: Int64, bytes: ObjectBytes) {
        let download = try await client.getObject(key: key, range: .closed(range.lowerBound, range.upperBound))
        return (download.info.size, ObjectBytes(body: download.body))
    }

    /// A presigned GET of `key` valid for `seconds`, whose answer carries these headers.
    public func presignedURL(key: String, seconds: Int, contentType: String, contentDisposition: String) -> String {
        client.presignedGetURL(key: key, expiresIn: seconds, contentType: contentType, contentDisposition: contentDisposition)
    }

    /// Removes a file a crash left without a row (the orphan sweep): the object, and any multipart
    /// upload still open under its key (a plain upload of a large file killed before it completed
    /// or aborted it; open parts are billed and never listed as objects). Not run apart from the
    /// calling task: the sweep notes the key again when this fails or is cut short.
    public func removeOrphan(key: String) async -> (any Error)? {
        do {
            for upload in try await client.listMultipartUploads(prefix: key) where upload.key == key {
                try await client.abortIfOpen(key: key, uploadID: upload.uploadID)
            }
            try await client.deleteObject(key: key)
            return nil
        } catch {
            return error
        }
    }

    /// Aborts a multipart upload, even when the calling task is cancelled (a client that hung up
    /// must not leave parts behind); failures are ignored (`storage verify` lists what remains).
    func abort(key: String, uploadID: String) async {
        let client = self.client
        await Task.detached { try? await client.abortMultipartUpload(key: key, uploadID: uploadID) }.value
    }

    /// Deletes an object (after its row no longer names it), even when the calling task is
    /// cancelled. A failure is returned, not thrown: the row has already moved on, and what is
    /// left is an orphan for `storage verify --repair`.
    @discardableResult
    public func remove(key: String) async -> (any Error)? {
        let client = self.client
        return await Task.detached { () -> (any Error)? in
            do {
                try await client.deleteObject(key: key)
                return nil
            } catch {
                return error
            }
        }.value
    }
}

/// An object's bytes as they arrive from the object storage (no buffering beyond the transport's
/// own: the reader's pace is the download's pace).
public struct ObjectBytes: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let body: HTTPClientResponse.Body

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPClientResponse.Body.AsyncIterator
        public mutating func next() async throws -> ByteBuffer? { try await base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: body.makeAsyncIterator()) }
}

/// Bytes `offset..<offset+length` of a local file (through `read`) as a sequence of buffers of at
/// most 1 MiB, each read on NIO's thread pool: the body of a PutObject or UploadPart.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let read: @Sendable (Int64, UnsafeMutableRawBufferPointer) throws -> Int
    let offset: Int64
    let length: Int64
    static let chunk = 1 << 20

    struct AsyncIterator: AsyncIteratorProtocol {
        let read: @Sendable (Int64, UnsafeMutableRawBufferPointer) throws -> Int
        var offset: Int64
        let end: Int64

        mutating func next() async throws -> ByteBuffer? {
            guard offset < end else { return nil }
            let wanted = Int(Swift.min(Int64(FileChunks.chunk), end - offset))
            let at = offset
            let read = self.read
            let chunk = try await NIOThreadPool.singleton.runIfActive {
                var buffer = ByteBuffer()
                buffer.reserveCapacity(wanted)
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) {
                    try read(at, UnsafeMutableRawBufferPointer(rebasing: $0.prefix(wanted)))
                }
                return buffer
            }
            guard chunk.readableBytes > 0 else { throw FileStoreError.io("local file shorter than expected while uploading") }
            offset += Int64(chunk.readableBytes)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(read: read, offset: offset, end: offset + length) }
}

/// Whether the object store answers, probed with a real request (`checkAccess`: ListObjectsV2 of
/// one key) at most once every `maxAge`: `/healthz` may be polled every second by each load
/// balancer, and should not cost a request to S3 each time. Concurrent callers share one probe.
public final class ObjectStorageHealth: Sendable {
    private let client: ObjectStorageClient
    public let maxAge: Duration
    public let timeout: Duration
    private struct State {
        var verdict: (at: ContinuousClock.Instant, problem: String?)?
        var probe: Task<String?, Never>?
    }
    private let state = Mutex(State())
    private let probes = Atomic(0)

    /// How many probes have been sent: the verdict is shared by every caller within `maxAge`.
    public var probeCount: Int { probes.load(ordering: .relaxed) }

    public init(client: ObjectStorageClient, maxAge: Duration = .seconds(5), timeout: Duration = .seconds(3)) {
        self.client = client
        self.maxAge = maxAge
        self.timeout = timeout
    }

    /// Nil when the store answered within the last `maxAge` (or answers now), else why not.
    public func problem() async -> String? {
        enum Next {
            case known(String?)
            case wait(Task<String?, Never>)
        }
        let now = ContinuousClock.now
        let next: Next = state.withLock { state in
            if let verdict = state.verdict, verdict.at.duration(to: now) < maxAge { return .known(verdict.problem) }
            if let probe = state.probe { return .wait(probe) }
            let client = self.client
            let seconds = max(1, timeout.components.seconds)
            probes.add(1, ordering: .relaxed)
            let probe = Task { () -> String? in
                do {
                    try await client.checkAccess(timeout: .seconds(seconds), retrying: false)
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            state.probe = probe
            return .wait(probe)
        }
        switch next {
        case .known(let problem): return problem
        case .wait(let task):
            let problem = await task.value
            state.withLock { state in
                if state.probe == task {
                    state.probe = nil
                    state.verdict = (ContinuousClock.now, problem)
                }
            }
            return problem
        }
    }
}
