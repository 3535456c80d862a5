import Crypto
import Foundation
import HummingbirdTesting
import KindModel
import NIOCore
import Storage
import TestSupport

/// The probe's committed fixtures, reused as real uploads.
enum Fixture {
    static let directory = TestDatabase.repositoryRoot.appendingPathComponent("Tests/AudioProbeTests/Fixtures").path

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { throw TestFailure("no fixture \(name)") }
        return Array(data)
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// A multipart/form-data body with one file part (and optional extra text parts).
struct MultipartBody {
    let boundary = "----audiotest\(UInt32.random(in: 0...UInt32.max))"
    var parts: [(headers: String, body: [UInt8])] = []

    mutating func addFile(name: String = "file", filename: String, contentType: String, bytes: [UInt8]) {
        parts.append(("Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n", bytes))
    }

    mutating func addField(name: String, value: String) {
        parts.append(("Content-Disposition: form-data; name=\"\(name)\"\r\n", Array(value.utf8)))
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            out += Array("--\(boundary)\r\n\(part.headers)\r\n".utf8)
            out += part.body
            out += Array("\r\n".utf8)
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }
}

extension TestClientProtocol {
    func upload(
        _ uri: String, file: String, fieldName: String = "file", declaredType: String = "application/octet-stream"
    ) async throws -> TestResponse {
        var body = MultipartBody()
        body.addFile(name: fieldName, filename: file, contentType: declaredType, bytes: try Fixture.bytes(file))
        return try await execute(uri: uri, method: .put, headers: [.contentType: body.contentType], body: ByteBuffer(bytes: body.bytes))
    }

    func uploadRaw(_ uri: String, bytes: [UInt8], contentType: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .put, headers: [.contentType: contentType], body: ByteBuffer(bytes: bytes))
    }
}

extension ServerContext {
    /// Committed files and uploads in progress, relative keys: the objects under the test's prefix
    /// (`files/…`) plus every local file (`tmp/…`, `uploads/…`); on disk, `storedFiles()`.
    func files() async throws -> [String] {
        guard let objects else { return storedFiles() }
        let keys = try await objects.client.listAllObjects().map(\.key)
        return (keys + storedFiles()).sorted()
    }

    /// Multipart uploads neither completed nor aborted (always none on disk).
    func openMultipartUploads() async throws -> [String] {
        guard let objects else { return [] }
        return try await objects.client.listMultipartUploads().map(\.key)
    }

    /// The bytes of a committed file.
    func fileBytes(_ key: String) async throws -> [UInt8] {
        if let objects { return Array(buffer: try await objects.client.getObjectBytes(key: key)) }
        guard let data = FileManager.default.contents(atPath: storageDirectory + "/" + key) else { throw TestFailure("no file \(key)") }
        return Array(data)
    }

    /// Deletes a committed file behind the server's back.
    func removeFile(_ key: String) async throws {
        if let objects { return try await objects.client.deleteObject(key: key) }
        try FileManager.default.removeItem(atPath: storageDirectory + "/" + key)
    }

    /// `files()` once the server had up to 5 s to remove what a dropped upload left.
    func filesAfterCleanup() async throws -> [String] {
        var leftovers = try await files()
        for _ in 0..<100 where !leftovers.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            leftovers = try await files()
        }
        return leftovers
    }

    /// Every regular file under the storage folder, relative to it.
    func storedFiles() -> [String] {
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: storageDirectory) else { return [] }
        var out: [String] = []
        for case let path as String in e {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: storageDirectory + "/" + path, isDirectory: &isDir), !isDir.boolValue { out.append(path) }
        }
        return out.sorted()
    }
}
