import Crypto
public import Foundation
public import KindModel
import NIOCore

/// `audio-server storage verify` on object storage: every row's object exists with the recorded
/// size (and, with `deep`, the recorded SHA-256, read back in full); objects no row names are
/// orphans; multipart uploads never completed nor aborted are abandoned. Resumable uploads in
/// progress keep their bytes in the bucket too (`ObjectUploadStaging`): a live session's multipart
/// upload and its tail objects (`uploads/<session>/…`) are neither; those of a session that expired
/// or is gone are (abandoned, and orphans).
///
/// Objects are listed before rows are read, so an object whose row commits meanwhile is seen as
/// referenced; an upload still in progress on a running server is young, and `grace` (seconds)
/// leaves objects and multipart uploads younger than that alone.
public struct ObjectStorageVerifier: Sendable {
    public let records: RecordStore
    public let store: ObjectFileStore

    public init(records: RecordStore, store: ObjectFileStore) {
        self.records = records
        self.store = store
    }

    public func verify(kinds: [KindDefinition], deep: Bool = false, grace: TimeInterval = 0, now: Date = Date()) async throws -> [StorageMismatch] {
        let client = store.client
        let cutoff = now.addingTimeInterval(-grace)
        let objects = try await client.listAllObjects()
        let multipart = try await client.listMultipartUploads()
        let live = try await UploadSessionStore.liveObjectUploads(client: records.client, logger: records.logger)
        var sizes: [String: Int64] = [:]
        for object in objects { sizes[object.key] = object.size }
        var problems: [StorageMismatch] = []
        var referenced = Set<String>()
        for kind in kinds {
            for row in try await records.allFiles(in: KindQueries(kind: kind)) {
                referenced.insert(row.key)
                var size = sizes[row.key]
                // Committed after the listing: ask for it alone.
                if size == nil { size = try await client.headObject(key: row.key)?.size }
                guard let size else {
                    problems.append(.missing(kind: kind.name, id: row.id, key: row.key))
                    continue
                }
                if size != row.size {
                    problems.append(
                        .corrupted(kind: kind.name, id: row.id, key: row.key, reason: "size \(size) in object storage, \(row.size) recorded"))
                } else if deep {
                    let sha = try await sha256(key: row.key)
                    if sha != row.sha256 {
                        problems.append(
                            .corrupted(
                                kind: kind.name, id: row.id, key: row.key,
                                reason: "SHA-256 \(sha.prefix(12))… in object storage, \(row.sha256.prefix(12))… recorded"))
                    }
                }
            }
        }
        for object in objects where !referenced.contains(object.key) {
            if let session = Self.session(ofTail: object.key), live.sessions.contains(session) { continue }
            if let modified = Self.date(object.lastModified), modified > cutoff { continue }
            problems.append(.orphan(key: object.key))
        }
        for upload in multipart where !live.uploadIDs.contains(upload.uploadID) {
            if let initiated = Self.date(upload.initiated), initiated > cutoff { continue }
            problems.append(.abandonedMultipartUpload(key: upload.key, uploadID: upload.uploadID))
        }
        return problems.sorted { $0.description < $1.description }
    }

    /// Deletes orphaned objects and aborts abandoned multipart uploads; returns what it removed.
    public static func repair(_ problems: [StorageMismatch], in store: ObjectFileStore) async -> [StorageMismatch] {
        var removed: [StorageMismatch] = []
        for problem in problems where problem.isRepairable {
            switch problem {
            case .orphan(let key):
                if await store.remove(key: key) == nil { removed.append(problem) }
            case .abandonedMultipartUpload(let key, let uploadID):
                if (try? await store.client.abortMultipartUpload(key: key, uploadID: uploadID)) != nil { removed.append(problem) }
            default: break
            }
        }
        return removed
    }

    /// The session a tail object belongs to (`uploads/<session>/<uuid>.tail`), or nil.
    static func session(ofTail key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "uploads" else { return nil }
        return String(parts[1])
    }

    /// Reads the object whole, streamed, and hashes it.
    func sha256(key: String) async throws -> String {
        let download = try await store.client.getObject(key: key)
        var hasher = SHA256()
        for try await chunk in ObjectBytes(body: download.body) {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// S3's timestamps: `2026-12-05T18:00:00.000Z` (ISO 8601, fractional seconds or not).
    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
