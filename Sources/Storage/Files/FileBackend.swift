import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `STORAGE_URL`: where committed audio files live.
///
///     file:///var/lib/audio/storage     a directory on this machine (what STORAGE_DIR meant)
///     file://./storage                  a relative directory (everything after `file://`)
///     s3://BUCKET/PREFIX?endpoint=http://host:port&region=REGION&path_style=true
public enum StorageURL: Sendable, Equatable, CustomStringConvertible {
    case directory(String)
    case objectStorage(S3Location)

    public init(parsing text: String) throws(StorageURLError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower.hasPrefix("file://") {
            let path = String(trimmed.dropFirst("file://".count))
            guard !path.isEmpty else { throw .invalid(text, "file:// needs a path, e.g. file:///var/lib/audio or file://./storage") }
            self = .directory(path.removingPercentEncoding ?? path)
        } else if lower.hasPrefix("s3://") {
            do {
                self = .objectStorage(try S3Location(parsing: trimmed))
            } catch {
                throw .invalid(text, error.description)
            }
        } else {
            throw .invalid(text, "expected file:///PATH or s3://BUCKET/PREFIX?endpoint=…&region=…&path_style=true")
        }
    }

    public var description: String {
        switch self {
        case .directory(let path): "file://\(path)"
        case .objectStorage(let location): location.description
        }
    }
}

public enum StorageURLError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String, String)
    public var description: String {
        switch self {
        case .invalid(let text, let why): "STORAGE_URL '\(text)' is not usable: \(why)"
        }
    }
}

/// Where committed audio files go and come from: a directory (`FileStore`) or S3-compatible
/// object storage (`ObjectFileStore`). Uploads are always received into a local temporary file
/// first (`FileStore.beginUpload`, in the disk store's root or, with object storage, the staging
/// directory), hashed, sniffed and probed there; `commit` then makes that file the record's file.
public enum FileBackend: Sendable {
    case disk(FileStore)
    case objectStorage(ObjectFileStore)

    /// For messages: `file://…` or `s3://…`.
    public var description: String {
        switch self {
        case .disk(let store): "file://\(store.root)"
        case .objectStorage(let store): store.description
        }
    }

    /// Makes the complete, probed upload at `temporaryPath` a committed file under a new key, and
    /// returns that key. On disk it is renamed into place; on object storage it is uploaded (a
    /// multipart upload above the threshold, aborted on failure) and the local file deleted. On
    /// failure nothing is committed and the local file stays for the caller to discard (or, for
    /// a resumable upload, to retry).
    /// `keepingSource`: the bytes at `temporaryPath` are a resumable session's, which must outlive
    /// a completion that fails after this commit: in object storage the local file stays; on disk
    /// it is moved as always (a hard link would share the committed file's inode with a file the
    /// session may append to) and `restore` moves it back.
    public func commit(_ temporaryPath: String, as key: String, contentType: String, keepingSource: Bool = false) async throws {
        switch self {
        case .disk(let store):
            try store.commit(temporaryPath, as: key)
        case .objectStorage(let store):
            try await store.upload(localPath: temporaryPath, key: key, contentType: contentType)
            if !keepingSource { unlink(temporaryPath) }
        }
    }

    /// Undoes `commit(_:as:contentType:keepingSource: true)` after the row could not name the file:
    /// on disk the file goes back to `temporaryPath`; true when the bytes are there again (in
    /// object storage they never left it; the committed object is for the caller to remove).
    public func restore(_ key: String, to temporaryPath: String) -> Bool {
        switch self {
        case .disk(let store):
            guard rename(store.path(forKey: key), temporaryPath) == 0 else { return false }
            FileStore.fsyncDirectory((temporaryPath as NSString).deletingLastPathComponent)
            return true
        case .objectStorage:
            return false
        }
    }

    /// A new key for a file of record `id` of `kind`: unique per upload, so committing never
    /// overwrites a file a row names. Noted in `FileIntents` before the commit.
    public static func newKey(kind: String, id: Int64, fileExtension: String) -> String {
        "files/\(kind)/\(id)/\(UUID().uuidString.lowercased()).\(fileExtension)"
    }

    /// The kind and record id a key was made for (`newKey`), for the sweeper's check that a row names it.
    public static func owner(ofKey key: String) -> (kind: String, id: Int64)? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "files", let id = Int64(parts[2]) else { return nil }
        return (String(parts[1]), id)
    }

    /// Removes a committed file after its row no longer names it. Missing files are fine; a
    /// failure (object storage unreachable) is returned for the log and leaves an orphan that
    /// `storage verify --repair` removes.
    @discardableResult
    public func remove(key: String) async -> (any Error)? {
        switch self {
        case .disk(let store):
            store.remove(key: key)
            return nil
        case .objectStorage(let store):
            return await store.remove(key: key)
        }
    }

    /// Removes a file a crash left without a row (`ObjectFileStore.removeOrphan`: with object
    /// storage, also a multipart upload left open under its key). Follows the caller's cancellation.
    public func removeOrphan(key: String) async -> (any Error)? {
        guard case .objectStorage(let store) = self else { return await remove(key: key) }
        return await store.removeOrphan(key: key)
    }

    /// Why the store cannot be used right now, or nil (`/healthz`). The disk is not probed.
    public func problem() async -> String? {
        switch self {
        case .disk: nil
        case .objectStorage(let store): await store.health.problem()
        }
    }
}
