import Foundation

/// Which unfinished uploads in `tmp/` are a crash's leftovers, known at once rather than after
/// ten quiet minutes.
///
/// A plain upload is written to `tmp/<uuid>.locked.part`, and the process writing it holds an
/// exclusive `flock` on the file from its creation until the upload is committed or discarded
/// (`UploadSink.lock`). The kernel drops the lock when the process ends, however it ends (a
/// crash, `kill -9`), so a file whose lock can be taken is no live process's upload and may be
/// removed at once, while the uploads of a live process (this one, or another server sharing
/// `STORAGE_DIR`) are never touched. Other files in `tmp/` (written by an older version, or by
/// `storage copy`) keep the age rule (`abandonedUploadAge`). No file is added to the storage root
/// for this: the lock is on the upload itself.
extension FileStore {
    /// The name of a new locked upload in `tmp/`.
    static func lockedUploadName() -> String { "\(UUID().uuidString.lowercased())\(lockedSuffix)" }

    static let lockedSuffix = ".locked.part"

    /// How old a locked upload must be before its lock is tested: its creator takes the lock right
    /// after creating it, and the test must not fall between the two.
    public static let lockGrace: Double = 2

    /// The files of `tmp/` that no live process is writing: locked uploads whose lock this call
    /// could take (their process is gone), and other files untouched for `age` seconds. `body` runs
    /// while those locks are held, so two servers sweeping at once do not both act on one file.
    func withAbandonedTemporaryFiles<T>(olderThan age: Double, now: Date = Date(), _ body: ([String]) throws -> T) rethrows -> T {
        let fm = FileManager.default
        var abandoned: [String] = []
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        for name in (try? fm.contentsOfDirectory(atPath: temporaryDirectory)) ?? [] {
            let path = temporaryDirectory + "/" + name
            let modified = (try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            let idle = now.timeIntervalSince(modified)
            guard name.hasSuffix(Self.lockedSuffix) else {
                if idle >= age { abandoned.append(path) }
                continue
            }
            guard idle >= Self.lockGrace else { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            switch Self.exclusiveLock(fd, flockWorks: flockWorks) {
            case .taken:
                held.append(fd)
                abandoned.append(path)
            case .busy:
                close(fd)
            case .unsupported:
                // No locks here after all (the folder moved to such a file system): the age rule.
                close(fd)
                if idle >= age { abandoned.append(path) }
            }
        }
        return try body(abandoned)
    }

    /// What an exclusive, non-blocking `flock` on a file did.
    enum LockAttempt {
        case taken
        /// Another open file holds it: a live process's upload.
        case busy
        /// The file system has no `flock` (ENOLCK, EOPNOTSUPP, ENOSYS, EINVAL: some NFS, SMB and
        /// FUSE mounts).
        case unsupported
    }

    /// Takes an exclusive `flock` on `fd` without waiting (`flockWorks` false: as a file system
    /// without locks answers, which this machine's file systems cannot be made to do).
    static func exclusiveLock(_ fd: Int32, flockWorks: Bool) -> LockAttempt {
        guard flockWorks else { return .unsupported }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return .taken }
        return errno == EWOULDBLOCK || errno == EINTR ? .busy : .unsupported
    }

    /// The name an upload begun as `<uuid>.locked.part` takes when it cannot be locked.
    static func unlockedName(of path: String) -> String {
        path.hasSuffix(lockedSuffix) ? String(path.dropLast(lockedSuffix.count)) + ".part" : path
    }
}
