import Foundation
import Storage
import TestSupport
import Testing

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
}
