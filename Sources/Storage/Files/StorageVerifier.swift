import Crypto
public import Foundation
public import KindModel

/// One disagreement between rows and files.
public enum StorageMismatch: Sendable, Hashable, CustomStringConvertible {
    /// A row names a file that is not on disk.
    case missing(kind: String, id: Int64, key: String)
    /// The file's size or SHA-256 differs from what the row recorded.
    case corrupted(kind: String, id: Int64, key: String, reason: String)
    /// A file that no row names (left by a crash between rename and row update).
    case orphan(key: String)
    /// An upload's temporary file that was never finished.
    case staleTemporary(path: String)
    /// A resumable upload's bytes whose session expired or does not exist (the sweeper removes
    /// expired ones within a minute while a server runs).
    case abandonedUpload(path: String)
    /// An object storage multipart upload never completed nor aborted (its parts cost storage).
    case abandonedMultipartUpload(key: String, uploadID: String)

    public var description: String {
        switch self {
        case .missing(let kind, let id, let key): "missing: \(kind) \(id) names \(key), which does not exist"
        case .corrupted(let kind, let id, let key, let reason): "mismatch: \(kind) \(id) file \(key): \(reason)"
        case .orphan(let key): "orphan: \(key) belongs to no record"
        case .staleTemporary(let path): "orphan: unfinished upload \(path)"
        case .abandonedUpload(let path): "orphan: abandoned resumable upload \(path) (its session expired or is gone)"
        case .abandonedMultipartUpload(let key, let uploadID): "orphan: abandoned multipart upload \(uploadID) of \(key)"
        }
    }

    /// Orphans can be removed safely; missing or corrupted files need a person.
    public var isRepairable: Bool {
        switch self {
        case .orphan, .staleTemporary, .abandonedUpload, .abandonedMultipartUpload: true
        case .missing, .corrupted: false
        }
    }
}

/// Compares every row's file with the disk (`audio-server storage verify`).
public struct StorageVerifier: Sendable {
    public let records: RecordStore
    public let files: FileStore

    public init(records: RecordStore, files: FileStore) {
        self.records = records
        self.files = files
    }

    /// Every mismatch: every file anywhere under the storage root that no row names is an orphan
    /// (a stray file in the root as much as one in `files/`), and every unfinished upload in `tmp/`
    /// no live server is writing: those whose process ended, and other files older than
    /// `temporaryGrace` (`FileStore+Unfinished`).
    public func verify(kinds: [KindDefinition], temporaryGrace: TimeInterval = 0) async throws -> [StorageMismatch] {
        var problems: [StorageMismatch] = []
        var referenced = Set<String>()
        for kind in kinds {
            for row in try await records.allFiles(in: KindQueries(kind: kind)) {
                referenced.insert(row.key)
                let path = files.path(forKey: row.key)
                guard FileManager.default.fileExists(atPath: path) else {
                    problems.append(.missing(kind: kind.name, id: row.id, key: row.key))
                    continue
                }
                let (size, sha) = try Self.sizeAndHash(path)
                if size != row.size {
                    problems.append(.corrupted(kind: kind.name, id: row.id, key: row.key, reason: "size \(size) on disk, \(row.size) recorded"))
                } else if sha != row.sha256 {
                    problems.append(
                        .corrupted(
                            kind: kind.name, id: row.id, key: row.key,
                            reason: "SHA-256 \(sha.prefix(12))… on disk, \(row.sha256.prefix(12))… recorded"))
                }
            }
        }
        // Resumable uploads in progress: `uploads/<id>.part` of a live session is not an orphan.
        let sessions = try await UploadSessionStore(client: records.client, logger: records.logger, files: files).liveIDs()
        let fm = FileManager.default
        let abandoned = Set(files.withAbandonedTemporaryFiles(olderThan: temporaryGrace) { $0 })
        if let enumerator = fm.enumerator(atPath: files.root) {
            for case let key as String in enumerator {
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: files.path(forKey: key), isDirectory: &isDir), !isDir.boolValue else { continue }
                if key.hasPrefix("uploads/") {
                    let id = String(key.dropFirst("uploads/".count).dropLast(key.hasSuffix(".part") ? 5 : 0))
                    if !key.hasSuffix(".part") || !sessions.contains(id) { problems.append(.abandonedUpload(path: files.path(forKey: key))) }
                } else if key.hasPrefix("tmp/") {
                    // Uploads a live server is writing (its instance's lock is held) are never stale.
                    let path = files.path(forKey: key)
                    if abandoned.contains(path) { problems.append(.staleTemporary(path: path)) }
                } else if !referenced.contains(key) {
                    problems.append(.orphan(key: key))
                }
            }
        }
        return problems.sorted { $0.description < $1.description }
    }

    /// Removes orphaned and stale temporary files; returns what it removed.
    public static func repair(_ problems: [StorageMismatch], in files: FileStore) -> [StorageMismatch] {
        problems.filter(\.isRepairable).map { problem in
            switch problem {
            case .orphan(let key): files.remove(key: key)
            case .staleTemporary(let path), .abandonedUpload(let path): try? FileManager.default.removeItem(atPath: path)
            default: break
            }
            return problem
        }
    }

    static func sizeAndHash(_ path: String) throws -> (Int64, String) {
        let source = try FileByteSource(path: path)
        var hasher = SHA256()
        var offset: Int64 = 0
        while offset < source.size {
            let chunk = try source.read(at: offset, count: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            offset += Int64(chunk.count)
        }
        return (offset, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}
