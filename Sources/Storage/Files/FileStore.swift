public import Crypto
public import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// I/O failures of the file store (a 5xx: the disk, not the client). `errno` is the system's
/// error number (0 when none), so a full disk (ENOSPC, EDQUOT) can be told from a failing one.
public enum FileStoreError: Error, Sendable, CustomStringConvertible {
    case io(String, errno: Int32 = 0)
    /// A resumable upload's partial file is shorter than its acknowledged offset (or gone).
    case missingData(String)
    public var description: String {
        switch self {
        case .io(let m, _): m
        case .missingData(let path): "partial upload data missing: \(path)"
        }
    }

    public var errno: Int32 {
        switch self {
        case .io(_, let e): e
        case .missingData: 0
        }
    }

    /// The file system is full or the quota is used up: 507, not a bug.
    public var isOutOfSpace: Bool { errno == ENOSPC || errno == EDQUOT }

    /// An error carrying the current `errno` and its text.
    static func system(_ what: String) -> FileStoreError {
        let code = Glibc.errno
        return .io("\(what): \(String(cString: strerror(code)))", errno: code)
    }
}

/// Audio files on local disk under `STORAGE_DIR`:
///
///     files/<kind>/<id>/<uuid>.<ext>   committed files, named in the row's `file_key`
///     tmp/<uuid>.locked.part           uploads in progress, each locked by its writer (FileStore+Unfinished)
///
/// Files are written to `tmp/`, fsynced, and renamed into `files/` only when complete and valid;
/// every committed name is new, so a reader never sees a half-written file and an old file stays
/// intact until the row points elsewhere.
public struct FileStore: Sendable {
    public let root: String

    /// Whether `flock` is used on this store's uploads; tests set it false to stand for a file
    /// system without locks (`FileStore+Unfinished`).
    let flockWorks: Bool

    public init(root: String) { self.init(root: root, flockWorks: true) }

    init(root: String, flockWorks: Bool) {
        self.root = root
        self.flockWorks = flockWorks
    }

    public var temporaryDirectory: String { root + "/tmp" }
    public var filesDirectory: String { root + "/files" }

    public func path(forKey key: String) -> String { root + "/" + key }

    /// How long an unfinished upload in `tmp/` must have gone untouched before it counts as
    /// abandoned. Several servers may share `STORAGE_DIR`, so a server cannot remove every
    /// temporary file when it starts: another server's upload may be in progress. An upload in
    /// progress writes at least every `MIN_UPLOAD_RATE` window (10 s by default), so ten minutes
    /// without a write is a crash's leftover.
    public static let abandonedUploadAge: Double = 600

    /// Deletes the unfinished uploads in `tmp/` that no live process is writing: at once those whose
    /// process ended (a crash or a kill; `FileStore+Unfinished`), and other files once untouched for
    /// `olderThan` seconds. `serve` calls it when it starts, and its sweeper every 30 s. Returns how
    /// many it removed.
    @discardableResult
    public func removeUnfinishedUploads(olderThan age: Double = FileStore.abandonedUploadAge, now: Date = Date()) -> Int {
        withAbandonedTemporaryFiles(olderThan: age, now: now) { paths in paths.filter { unlink($0) == 0 }.count }
    }

    /// Starts writing an upload into a new temporary file, locked while this process writes it.
    public func beginUpload() throws -> UploadSink {
        try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
        return try UploadSink(path: temporaryDirectory + "/" + Self.lockedUploadName(), locked: true, flockWorks: flockWorks)
    }

    /// Moves a finished upload to its permanent, never-reused name `key` (`FileBackend.newKey`).
    public func commit(_ temporaryPath: String, as key: String) throws {
        let final = path(forKey: key)
        let dir = (final as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch let error as CocoaError {
            // Foundation hides errno behind its own codes; a full disk is the one that matters here.
            throw FileStoreError.io("cannot create \(dir): \(error)", errno: error.code == .fileWriteOutOfSpace ? ENOSPC : 0)
        }
        guard rename(temporaryPath, final) == 0 else {
            throw FileStoreError.system("cannot move upload into place")
        }
        Self.fsyncDirectory(dir)
    }

    /// Removes a committed file (after its row no longer names it). Missing files are fine.
    public func remove(key: String) {
        let full = path(forKey: key)
        unlink(full)
        // Drop the per-record folder when it is empty; rmdir fails harmlessly otherwise.
        rmdir((full as NSString).deletingLastPathComponent)
    }

    static func fsyncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

/// A temporary upload file being written: counts and hashes bytes as they arrive.
public final class UploadSink: @unchecked Sendable {
    public private(set) var path: String
    private var fd: Int32
    private var hasher = SHA256()
    /// Bytes received (written or waiting in `pending`).
    public private(set) var size: Int64 = 0
    /// Received bytes not yet written: `write(2)` and hashing run on NIO's thread pool in steps of
    /// `flushBytes`, never on Swift's cooperative pool, so a slow disk stalls this upload only,
    /// not every request (the cooperative pool has one thread per core).
    private var pending: [UInt8] = []
    /// The step: large enough that the thread hop costs nothing measurable, small enough to keep
    /// an upload's memory flat.
    public static let flushBytes = 256 * 1024
    /// Bytes up to here have had their write-back started (see `startWriteBack`).
    private var writeBackStarted: Int64 = 0
    /// Bytes in the file so far.
    private var written: Int64 = 0
    /// How much is written between two write-back starts.
    static let writeBehindBytes: Int64 = 8 << 20
    /// The step for an append of a resumable upload, which is fsynced at its end: smaller, so
    /// that the disk works while the chunk arrives and the fsync finds little left.
    static let appendWriteBehindBytes: Int64 = 1 << 20
    private var writeBehind = UploadSink.writeBehindBytes
    /// Whether `hasher` runs: an append hashes only when it continues a known whole-file state.
    private var hashes = true
    /// SHA-256 of this append's bytes alone, when asked for (`Upload-Checksum: sha256`).
    private var chunkSHA256: SHA256?

    /// SHA-1 of the bytes written, when asked for (a resumable upload's `Upload-Checksum: sha1`).
    private var sha1: Insecure.SHA1?

    /// `locked`: hold an exclusive `flock` on the file until this sink is gone (after the upload is
    /// committed or discarded), so that a sweep knows it for a live upload (`FileStore+Unfinished`).
    init(path: String, locked: Bool = false, flockWorks: Bool = true) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileStoreError.system("cannot create \(path)") }
        if locked {
            // A second descriptor of the same open file: the lock outlives `finish()`'s close.
            lock = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard lock >= 0 else {
                unlink(path)
                throw FileStoreError.system("cannot lock \(path)")
            }
            switch FileStore.exclusiveLock(lock, flockWorks: flockWorks) {
            case .taken: break
            case .busy:
                unlink(path)
                throw FileStoreError.system("cannot lock \(path)")
            case .unsupported:
                // A file system without `flock` (some network and FUSE mounts): the upload goes on
                // unlocked, under a name the sweep judges by age alone (`FileStore+Unfinished`).
                close(lock)
                lock = -1
                let unlocked = FileStore.unlockedName(of: path)
                guard rename(path, unlocked) == 0 else {
                    unlink(path)
                    throw FileStoreError.system("cannot rename \(path)")
                }
                self.path = unlocked
            }
        }
    }

    /// The descriptor that holds this upload's lock, or -1.
    private var lock: Int32 = -1

    /// Appends to the partial file of a resumable upload at `offset`, the length the session's row
    /// acknowledges: anything after it (bytes of an append that was never acknowledged, such as one
    /// cut by a crash) is cut off first. Creates the file when `offset` is 0 and it is missing.
    /// `size` and the hashes then count this append only. Throws `FileStoreError.missingData` when
    /// the file is shorter than `offset` (acknowledged bytes are gone).
    /// `running`: the SHA-256 state of the file's first `offset` bytes, when known (then continued,
    /// so the complete file's hash needs no second read); `sha1`/`sha256`: digest this append's
    /// bytes too (for `Upload-Checksum`).
    public init(appendingTo path: String, at offset: Int64, running: SHA256?, sha1: Bool, sha256: Bool) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileStoreError.system("cannot open \(path)") }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileStoreError.system("cannot stat \(path)") }
        guard Int64(info.st_size) >= offset else { throw FileStoreError.missingData(path) }
        if Int64(info.st_size) > offset { guard ftruncate(fd, off_t(offset)) == 0 else { throw FileStoreError.system("cannot truncate \(path)") } }
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else { throw FileStoreError.system("cannot seek \(path)") }
        written = offset
        writeBackStarted = offset
        if sha1 { self.sha1 = Insecure.SHA1() }
        if sha256 { chunkSHA256 = SHA256() }
        hasher = running ?? SHA256()
        hashes = running != nil
        writeBehind = Self.appendWriteBehindBytes
    }

    /// An append's sink before its session is claimed: bytes are hashed as they arrive (continuing
    /// `running`) and held in memory, not written, until `attach` names the file and offset the
    /// claim granted. Why: the claim is a database round trip, and hashing is most of an append's
    /// work, so hashing what arrives meanwhile takes the round trip off the append's time (the
    /// resumable rate is measured against a plain upload's). The caller bounds what it holds.
    public init(detachedFrom running: SHA256?, sha1: Bool, sha256: Bool) {
        path = ""
        fd = -1
        detached = true
        if sha1 { self.sha1 = Insecure.SHA1() }
        if sha256 { chunkSHA256 = SHA256() }
        hasher = running ?? SHA256()
        hashes = running != nil
        writeBehind = Self.appendWriteBehindBytes
    }

    /// Whether bytes are held in memory (`init(detachedFrom:…)`) until `attach`.
    private var detached = false
    /// Bytes hashed while detached, to be written by `attach`.
    private var held: [UInt8] = []
    /// Bytes received while detached (hashed or waiting in `pending`).
    public var heldBytes: Int { held.count + pending.count }

    /// Opens the partial file at `offset` (as `init(appendingTo:…)` does) and writes the bytes held
    /// so far, already hashed. Blocking: call it on a thread pool.
    public func attach(appendingTo path: String, at offset: Int64) throws {
        let file = try UploadSink(appendingTo: path, at: offset, running: nil, sha1: false, sha256: false)
        fd = file.fd
        file.fd = -1
        self.path = path
        written = offset
        writeBackStarted = offset
        detached = false
        try held.withUnsafeBytes { try store($0) }
        held = []
    }

    deinit {
        if fd >= 0 { close(fd) }
        if lock >= 0 { close(lock) }
    }

    /// Takes bytes of the upload; true when `flush()` is due (`flushBytes` are waiting).
    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if pending.capacity < Self.flushBytes { pending.reserveCapacity(Self.flushBytes) }
        pending.append(contentsOf: bytes)
        size += Int64(bytes.count)
        return pending.count >= Self.flushBytes
    }

    /// Whether `flushBytes` or more are waiting.
    public var needsFlush: Bool { pending.count >= Self.flushBytes }

    /// Writes and hashes what is waiting, on NIO's thread pool.
    public func flush() async throws {
        guard !pending.isEmpty else { return }
        try await NIOThreadPool.singleton.runIfActive { try self.writePending() }
    }

    /// Writes and hashes `pending` here (a thread pool thread, or `finish` already running on one).
    private func writePending() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try write($0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Appends bytes to the file and the hash (synchronously: callers run it off the cooperative pool).
    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        if hashes { hasher.update(bufferPointer: bytes) }
        sha1?.update(bufferPointer: bytes)
        chunkSHA256?.update(bufferPointer: bytes)
        if detached {
            held.append(contentsOf: bytes)
            return
        }
        try store(bytes)
    }

    /// Writes hashed bytes to the file.
    private func store(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileStoreError.system("write failed")
            }
            offset += n
        }
        written += Int64(bytes.count)
        if written - writeBackStarted >= writeBehind { startWriteBack() }
    }

    /// Asks the kernel to start writing what has arrived so far, without waiting for it.
    ///
    /// Why: the file is fsynced before its row may name it, and a large upload otherwise sits in the
    /// page cache until then (the kernel's background write-back starts only past ~10% of memory),
    /// so the final fsync flushed the whole file after the last byte arrived: on a disk that
    /// flushes ~380 MB/s, a 1 GiB upload took receive time plus 2.8 s. Started every 8 MiB,
    /// write-back overlaps with receiving and the fsync finds little left (PostgreSQL's
    /// `*_flush_after` settings do the same). Linux only; elsewhere the fsync does it all.
    private func startWriteBack() {
        _ = Self.syncFileRange?(fd, writeBackStarted, written - writeBackStarted, 2)  // SYNC_FILE_RANGE_WRITE
        writeBackStarted = written
    }

    /// glibc's `sync_file_range`, looked up at run time: Swift's Glibc module does not import it
    /// (it is declared only under _GNU_SOURCE). Nil where the C library has none.
    private static let syncFileRange: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
    }()

    /// Writes what is waiting, flushes to disk and closes; returns the SHA-256 in hex. Blocking:
    /// call it on a thread pool (the upload does, with the probe).
    public func finish() throws -> String {
        try writePending()
        guard fsync(fd) == 0 else { throw FileStoreError.system("fsync failed") }
        close(fd)
        fd = -1
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// For an append (`init(appendingTo:…)`): writes what is waiting and fsyncs, so that the new
    /// length may be acknowledged; closes; returns the digests of this append's bytes. Blocking.
    /// `running`: the whole-file state continued through this append (nil when it was not known).
    public func finishAppend() throws -> (sha256: [UInt8]?, sha1: [UInt8]?, running: SHA256?) {
        try writePending()
        guard fsync(fd) == 0 else { throw FileStoreError.system("fsync failed") }
        close(fd)
        fd = -1
        return (chunkSHA256.map { Array($0.finalize()) }, sha1.map { Array($0.finalize()) }, hashes ? hasher : nil)
    }

    /// For an append: drops this append's bytes (cut back to `offset`), keeping what came before.
    public func abandonAppend(to offset: Int64) {
        if fd < 0 { fd = open(path, O_WRONLY | O_CLOEXEC) }
        guard fd >= 0 else { return }
        _ = ftruncate(fd, off_t(offset))
        fsync(fd)
        close(fd)
        fd = -1
    }

    /// Deletes the partial file: used on every failure path so no temporary file is left behind.
    public func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(path)
    }
}
