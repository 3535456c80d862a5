import AsyncHTTPClient
import Crypto
import Foundation
public import KindModel
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `audio-server storage migrate --to STORAGE_URL`: copies every row's file from the current
/// backend to another under the same key, reads each copy back and compares its SHA-256 with the
/// row, and notes it in a journal; rerun after an interruption, it skips what the journal lists and
/// re-checks (by hash) a copy that landed without its journal line, so nothing is copied twice
/// nor lost.
///
/// Rows need no change: a row's `file_key` is relative to the storage root (`files/<kind>/<id>/…`),
/// the same on disk and in object storage. The switch is starting the servers with the new
/// `STORAGE_URL` once a run reports every file copied; the source is left as it was.
public struct StorageMigrator: Sendable {
    public let records: RecordStore
    public let source: FileBackend
    public let destination: FileBackend
    /// Keys already copied and verified, one per line (appended and fsynced after each file).
    public let journalPath: String
    /// A local folder for objects read from object storage on their way.
    public let scratchDirectory: String

    public init(records: RecordStore, source: FileBackend, destination: FileBackend, journalPath: String, scratchDirectory: String) {
        self.records = records
        self.source = source
        self.destination = destination
        self.journalPath = journalPath
        self.scratchDirectory = scratchDirectory
    }

    public struct Progress: Sendable {
        public var filesDone: Int
        public var filesTotal: Int
        public var bytesDone: Int64
        public var bytesTotal: Int64
        /// Files found already copied by an earlier run (counted in `filesDone`).
        public var skipped: Int
        public var elapsed: Duration

        /// Bytes per second copied in this run.
        public var rate: Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 ? Double(bytesDone) / seconds : 0
        }

        public var line: String {
            let left = rate > 0 ? String(format: "%.0f s left", Double(bytesTotal - bytesDone) / rate) : "time left unknown"
            return String(
                format: "%d/%d files, %.1f/%.1f MiB, %.1f MiB/s, %@", filesDone, filesTotal, Double(bytesDone) / 1_048_576,
                Double(bytesTotal) / 1_048_576, rate / 1_048_576, left)
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "\(key): \(reason)" }
    }

    /// Copies what is not yet copied. `stopAfter`: stop (as an interruption would) after copying
    /// that many files in this run. Returns the final progress; throws on the first file that
    /// cannot be read, written or verified (rerun to continue).
    public func run(kinds: [KindDefinition], stopAfter: Int? = nil, progress report: @Sendable (Progress) -> Void = { _ in }) async throws -> Progress
    {
        var rows: [(key: String, size: Int64, sha256: String, contentType: String)] = []
        for kind in kinds {
            for row in try await records.allFiles(in: KindQueries(kind: kind)) {
                rows.append((row.key, row.size, row.sha256, Self.contentType(ofKey: row.key)))
            }
        }
        var done = Set(((try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        let clock = ContinuousClock()
        let start = clock.now
        var progress = Progress(
            filesDone: 0, filesTotal: rows.count, bytesDone: 0, bytesTotal: rows.reduce(0) { $0 + $1.size }, skipped: 0, elapsed: .zero)
        try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        let journal = open(journalPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard journal >= 0 else { throw FileStoreError.system("cannot open the journal \(journalPath)") }
        defer { close(journal) }
        var copiedThisRun = 0
        var lastReport = start
        for row in rows {
            var alreadyCopied = done.contains(row.key)
            if !alreadyCopied, try await copiedWithoutJournal(row.key, size: row.size, sha256: row.sha256) {
                try note(row.key, in: journal)
                alreadyCopied = true
            }
            if alreadyCopied {
                done.insert(row.key)
                progress.filesDone += 1
                progress.skipped += 1
                progress.bytesTotal -= row.size
                continue
            }
            if let stopAfter, copiedThisRun >= stopAfter { break }
            try await copy(row.key, size: row.size, sha256: row.sha256, contentType: row.contentType)
            try note(row.key, in: journal)
            done.insert(row.key)
            copiedThisRun += 1
            progress.filesDone += 1
            progress.bytesDone += row.size
            progress.elapsed = start.duration(to: clock.now)
            if lastReport.duration(to: clock.now) >= .seconds(1) {
                lastReport = clock.now
                report(progress)
            }
        }
        progress.elapsed = start.duration(to: clock.now)
        report(progress)
        return progress
    }

    /// Whether an earlier run copied `key` but stopped before its journal line: the destination
    /// has it whole (size and SHA-256 agree with the row).
    func copiedWithoutJournal(_ key: String, size: Int64, sha256: String) async throws -> Bool {
        switch destination {
        case .disk(let store):
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: store.path(forKey: key)),
                (attributes[.size] as? NSNumber)?.int64Value == size
            else { return false }
            return try StorageVerifier.sizeAndHash(store.path(forKey: key)).1 == sha256
        case .objectStorage(let store):
            guard let info = try await store.client.headObject(key: key), info.size == size else { return false }
            return try await Self.sha256(of: store, key: key) == sha256
        }
    }

    /// Copies one file and reads the copy back to check its hash.
    func copy(_ key: String, size: Int64, sha256: String, contentType: String) async throws {
        // A local path holding the source's bytes.
        var localPath: String
        var scratch: String?
        switch source {
        case .disk(let store):
            localPath = store.path(forKey: key)
        case .objectStorage(let store):
            let path = scratchDirectory + "/\(UUID().uuidString.lowercased()).part"
            try await Self.download(store, key: key, to: path)
            localPath = path
            scratch = path
        }
        defer { if let scratch { unlink(scratch) } }
        switch destination {
        case .disk(let store):
            // Copied beside its final name, fsynced, then renamed: a reader never sees half a file.
            let final = store.path(forKey: key)
            let directory = (final as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let temporary = final + ".migrating"
            unlink(temporary)
            try Self.copyFile(localPath, to: temporary)
            guard rename(temporary, final) == 0 else { throw FileStoreError.system("cannot move \(temporary) into place") }
            FileStore.fsyncDirectory(directory)
            let (copiedSize, hash) = try StorageVerifier.sizeAndHash(final)
            guard copiedSize == size, hash == sha256 else {
                throw Failure(
                    key: key,
                    reason: "the copy has \(copiedSize) bytes and SHA-256 \(hash.prefix(12))…, the row says \(size) and \(sha256.prefix(12))…")
            }
        case .objectStorage(let store):
            let (localSize, localHash) = try StorageVerifier.sizeAndHash(localPath)
            guard localSize == size, localHash == sha256 else {
                throw Failure(
                    key: key,
                    reason:
                        "the source has \(localSize) bytes and SHA-256 \(localHash.prefix(12))…, the row says \(size) and \(sha256.prefix(12))…; run storage verify"
                )
            }
            try await store.upload(localPath: localPath, key: key, contentType: contentType)
            let hash = try await Self.sha256(of: store, key: key)
            guard hash == sha256 else {
                throw Failure(key: key, reason: "the copy's SHA-256 is \(hash.prefix(12))…, the row says \(sha256.prefix(12))…")
            }
        }
    }

    private func note(_ key: String, in journal: Int32) throws {
        let line = Array((key + "\n").utf8)
        let written = line.withUnsafeBytes { write(journal, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(journal) == 0 else { throw FileStoreError.system("cannot write the journal \(journalPath)") }
    }

    static func sha256(of store: ObjectFileStore, key: String) async throws -> String {
        let download = try await store.client.getObject(key: key)
        var hasher = SHA256()
        for try await chunk in ObjectBytes(body: download.body) {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func download(_ store: ObjectFileStore, key: String, to path: String) async throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileStoreError.system("cannot create \(path)") }
        defer { close(fd) }
        let download = try await store.client.getObject(key: key)
        for try await chunk in ObjectBytes(body: download.body) {
            try chunk.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileStoreError.system("write failed")
                    }
                    offset += n
                }
            }
        }
        guard fsync(fd) == 0 else { throw FileStoreError.system("fsync failed") }
    }

    static func copyFile(_ from: String, to: String) throws {
        let input = open(from, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileStoreError.system("cannot open \(from)") }
        defer { close(input) }
        let output = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw FileStoreError.system("cannot create \(to)") }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileStoreError.system("read failed")
            }
            if n == 0 { break }
            var offset = 0
            while offset < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + offset, n - offset) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw FileStoreError.system("write failed")
                }
                offset += w
            }
        }
        guard fsync(output) == 0 else { throw FileStoreError.system("fsync failed") }
    }

    /// The content type of a committed file from its extension (keys end in the detected format's).
    static func contentType(ofKey key: String) -> String {
        switch (key as NSString).pathExtension {
        case "wav": "audio/wav"
        case "aiff": "audio/aiff"
        case "flac": "audio/flac"
        case "mp3": "audio/mpeg"
        case "ogg", "opus": "audio/ogg"
        case "m4a": "audio/mp4"
        default: "application/octet-stream"
        }
    }
}
