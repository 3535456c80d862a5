import Foundation
import TestSupport
import Testing

@testable import Storage

/// `storage verify` sees the whole storage root, and unfinished uploads are found and cleared at once.
@Suite struct StorageVerifyTests {
    static func root() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(UUID().uuidString)").path
        for folder in ["files/song", "tmp", "elsewhere"] {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        return root
    }

    @Test func strayFilesAnywhereAndEveryUnfinishedUploadAreReported() async throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for path in ["stray.bin", "elsewhere/x.mp3", "files/song/9.mp3", "tmp/abc.part"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/" + path))
        }
        let url = try await TestDatabase.create(label: "verify")
        let problems = try await TestDatabase.withClient(url) { client in
            try await StorageVerifier(records: RecordStore(client: client, logger: TestDatabase.logger), files: FileStore(root: root)).verify(
                kinds: [])
        }
        #expect(
            Set(problems) == [
                .orphan(key: "stray.bin"), .orphan(key: "elsewhere/x.mp3"), .orphan(key: "files/song/9.mp3"),
                .staleTemporary(path: root + "/tmp/abc.part"),
            ], "\(problems)")
        // With a grace period, a young unfinished upload (one that may be in progress) is left alone.
        let graced = try await TestDatabase.withClient(url) { client in
            try await StorageVerifier(records: RecordStore(client: client, logger: TestDatabase.logger), files: FileStore(root: root)).verify(
                kinds: [], temporaryGrace: 3600)
        }
        #expect(!graced.contains(.staleTemporary(path: root + "/tmp/abc.part")))
        let removed = StorageVerifier.repair(problems, in: FileStore(root: root))
        #expect(removed.count == 4)
        #expect(!FileManager.default.fileExists(atPath: root + "/stray.bin") && !FileManager.default.fileExists(atPath: root + "/tmp/abc.part"))
    }

    /// Abandoned uploads go; one another server sharing STORAGE_DIR is writing now stays.
    @Test func serveClearsAbandonedUploadsButNotOnesInProgress() throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for name in ["a.part", "b.part", "live.part"] { try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/tmp/" + name)) }
        let old = Date(timeIntervalSinceNow: -FileStore.abandonedUploadAge - 60)
        for name in ["a.part", "b.part"] { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: root + "/tmp/" + name) }
        try Data("kept".utf8).write(to: URL(fileURLWithPath: root + "/files/song/1.mp3"))
        #expect(FileStore(root: root).removeUnfinishedUploads() == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp") == ["live.part"])
        #expect(FileManager.default.fileExists(atPath: root + "/files/song/1.mp3"))
    }

    /// A crash's unfinished uploads go at once, not after ten minutes: the process writing an upload
    /// holds a lock on it, so an upload whose lock is free is a dead process's (issue 13: "removed
    /// at startup"). The uploads of live processes, this one's or another's sharing STORAGE_DIR,
    /// stay however old; files without the locked name keep the age rule.
    @Test func aDeadProcesssUploadsGoAtOnceAndLiveOnesStay() async throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let tmp = root + "/tmp/"
        let files = FileStore(root: root)
        let past = Date(timeIntervalSinceNow: -FileStore.lockGrace - 1)
        func write(_ name: String) throws {
            try Data("x".utf8).write(to: URL(fileURLWithPath: tmp + name))
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: tmp + name)
        }
        // This process's upload in progress.
        let mine = try files.beginUpload()
        defer { mine.discard() }
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: mine.path)
        let myName = (mine.path as NSString).lastPathComponent
        #expect(myName.hasSuffix(".locked.part"))
        // Uploads of a process that died: nobody holds their locks.
        for name in ["dead-one.locked.part", "dead-two.locked.part"] { try write(name) }
        // An upload of another live process (a second server sharing the folder), locked by it.
        try write("other.locked.part")
        // A file of an older version (no lock), young.
        try write("legacy.part")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            // Holds the lock until its standard input closes (bounded: 60 s at most).
            "import fcntl,os,select,sys; fd=os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); select.select([sys.stdin], [], [], 60)",
            tmp + "other.locked.part",
        ]
        let out = Pipe()
        let input = Pipe()
        holder.standardOutput = out
        holder.standardInput = input
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        #expect(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("locked"))

        // Verify reports the dead process's uploads (with any grace) and nothing of the live ones.
        let url = try await TestDatabase.create(label: "verify")
        let problems = try await TestDatabase.withClient(url) { client in
            try await StorageVerifier(records: RecordStore(client: client, logger: TestDatabase.logger), files: files).verify(
                kinds: [], temporaryGrace: 3600)
        }
        #expect(Set(problems) == Set(["dead-one.locked.part", "dead-two.locked.part"].map { .staleTemporary(path: tmp + $0) }), "\(problems)")
        // Removal: at once; the live ones stay even when "old enough" for the age rule.
        #expect(files.removeUnfinishedUploads() == 2)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: tmp)) == ["other.locked.part", "legacy.part", myName])
        // Once the other process ends, its upload goes too; the legacy file waits for its age.
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        #expect(files.removeUnfinishedUploads() == 1)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: tmp)) == ["legacy.part", myName])
        // This process's own upload, once finished and gone, leaves its lock with it.
        mine.discard()
        #expect(files.removeUnfinishedUploads(olderThan: 0) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty)
    }
}

/// A storage folder on a file system without `flock` (some NFS, SMB and FUSE mounts answer it with
/// ENOLCK or EOPNOTSUPP): uploads still work, unlocked, and their leftovers keep the age rule.
/// `flockWorks: false` makes the store answer as such a file system does; this machine's file
/// systems all have locks.
@Suite struct LocklessStorageTests {
    @Test func uploadsGoOnUnlockedAndLeftoversKeepTheAgeRule() throws {
        let root = try StorageVerifyTests.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = FileStore(root: root, flockWorks: false)
        // An upload is written and committed as on any disk (before, `beginUpload` threw: a 500).
        let upload = try files.beginUpload()
        let name = (upload.path as NSString).lastPathComponent
        #expect(name.hasSuffix(".part") && !name.hasSuffix(".locked.part"), "\(name)")
        let bytes = Array("RIFF audio bytes".utf8)
        _ = bytes.withUnsafeBytes { upload.append($0) }
        let sha = try upload.finish()
        #expect(sha.count == 64)
        try files.commit(upload.path, as: "files/song/1/a.wav")
        #expect(FileManager.default.contents(atPath: files.path(forKey: "files/song/1/a.wav")) == Data(bytes))
        // A live upload left by a process (unlocked): kept while young, removed once idle past the age.
        let left = try files.beginUpload()
        _ = bytes.withUnsafeBytes { left.append($0) }
        _ = try left.finish()
        // A locked-name upload from when the folder had locks: no lock can be tested now, so its age decides too.
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/tmp/old.locked.part"))
        #expect(files.removeUnfinishedUploads(now: Date(timeIntervalSinceNow: FileStore.lockGrace + 1)) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").count == 2)
        #expect(files.removeUnfinishedUploads(now: Date(timeIntervalSinceNow: FileStore.abandonedUploadAge + 1)) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }
}
