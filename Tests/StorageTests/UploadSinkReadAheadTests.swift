import Crypto
import Foundation
import Testing

@testable import Storage

/// An append's sink that hashes before its claim is granted (`UploadSink(detachedFrom:)`), then
/// writes at the granted offset (`attach`): the file and every digest are as if the bytes had been
/// written in one go, and bytes after the acknowledged offset are cut off first.
@Suite struct UploadSinkReadAheadTests {
    @Test func heldBytesAreWrittenAtTheGrantedOffsetWithTheSameDigests() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/upload.part"
        let first = [UInt8](repeating: 7, count: 1000)
        // An earlier append's 1,000 acknowledged bytes, then 50 an append cut by a crash left.
        try Data(first + [UInt8](repeating: 9, count: 50)).write(to: URL(fileURLWithPath: path))
        var running = SHA256()
        running.update(data: first)

        let chunk = (0..<(UploadSink.flushBytes * 3 + 123)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sink = UploadSink(detachedFrom: running, sha1: true, sha256: true)
        // Half before the claim is granted (hashed, held), half after (written).
        let half = chunk.count / 2
        if chunk[..<half].withUnsafeBytes({ sink.append($0) }) { try await sink.flush() }
        try await sink.flush()
        #expect(sink.heldBytes == half)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == 1050, "nothing is written before attach")
        try sink.attach(appendingTo: path, at: 1000)
        if chunk[half...].withUnsafeBytes({ sink.append($0) }) { try await sink.flush() }
        let digests = try sink.finishAppend()

        let stored = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(stored == first + chunk, "the held bytes came first, at the granted offset, and the crash's 50 bytes are gone")
        #expect(sink.size == Int64(chunk.count))
        #expect(digests.sha256 == Array(SHA256.hash(data: chunk)))
        #expect(digests.sha1 == Array(Insecure.SHA1.hash(data: chunk)))
        #expect(digests.running.map { Array($0.finalize()) } == Array(SHA256.hash(data: first + chunk)))
    }

    @Test func aMissingFileIsReportedAtAttach() throws {
        let sink = UploadSink(detachedFrom: nil, sha1: false, sha256: false)
        #expect(throws: FileStoreError.self) {
            try sink.attach(appendingTo: "/nonexistent-\(UUID().uuidString)/upload.part", at: 10)
        }
    }
}
