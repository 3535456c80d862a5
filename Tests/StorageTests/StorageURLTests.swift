import Testing

@testable import Storage

/// `STORAGE_URL`: a folder or an `s3://` location; anything else refused with the reason.
@Suite struct StorageURLTests {
    @Test func foldersAndBuckets() throws {
        #expect(try StorageURL(parsing: "file:///var/lib/audio") == .directory("/var/lib/audio"))
        #expect(try StorageURL(parsing: "file://./storage") == .directory("./storage"))
        #expect(try StorageURL(parsing: "file:///srv/with%20space") == .directory("/srv/with space"))
        guard case .objectStorage(let location) = try StorageURL(parsing: "s3://audio/p?endpoint=http://127.0.0.1:8333&path_style=true") else {
            Issue.record("not object storage")
            return
        }
        #expect(location.bucket == "audio" && location.prefix == "p/" && location.pathStyle)
    }

    @Test func refusals() {
        for (text, reason) in [
            ("/var/lib/audio", "expected file:///PATH or s3://"), ("file://", "needs a path"), ("s3://ab", "invalid bucket name"),
            ("s3://audio?endpont=http://x", "unknown parameter 'endpont'"), ("http://x/y", "expected file:///PATH"),
        ] {
            do {
                _ = try StorageURL(parsing: text)
                Issue.record("\(text) accepted")
            } catch {
                #expect(error.description.contains(reason), "\(text): \(error)")
                #expect(error.description.contains("STORAGE_URL"))
            }
        }
    }
}
