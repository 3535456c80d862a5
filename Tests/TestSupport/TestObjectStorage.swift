import Foundation
import Storage

/// The throwaway SeaweedFS `scripts/with-test-s3.sh` starts (`TEST_S3_URL`, `TEST_S3_ACCESS_KEY_ID`,
/// `TEST_S3_SECRET_ACCESS_KEY`), for tests of the object storage backend. Each store gets a key
/// prefix of its own, so tests running in parallel never see each other's objects.
public enum TestObjectStorage {
    public static var environment: [String: String] { ProcessInfo.processInfo.environment }
    public static var configured: Bool { !(environment["TEST_S3_URL"] ?? "").isEmpty }

    public static var credentials: ObjectStorageCredentials {
        ObjectStorageCredentials(
            accessKeyID: environment["TEST_S3_ACCESS_KEY_ID"] ?? "", secretAccessKey: environment["TEST_S3_SECRET_ACCESS_KEY"] ?? "")
    }

    /// The test bucket's location under a fresh prefix.
    public static func location() throws -> S3Location {
        var location = try S3Location(parsing: environment["TEST_S3_URL"] ?? "")
        location.prefix += "srv-\(UUID().uuidString.lowercased())/"
        return location
    }

    /// A store in the test bucket under a fresh prefix.
    public static func store(
        multipartThreshold: Int64 = ObjectFileStore.defaultPartSize, partSize: Int64 = ObjectFileStore.defaultPartSize
    ) throws
        -> ObjectFileStore
    {
        ObjectFileStore(
            client: ObjectStorageClient(location: try location(), credentials: credentials), multipartThreshold: multipartThreshold,
            partSize: partSize)
    }

    /// `s3://…` of a store, for `STORAGE_URL`.
    public static func url(of store: ObjectFileStore) -> String {
        let l = store.client.location
        return "s3://\(l.bucket)/\(l.prefix)?endpoint=\(l.endpoint)&region=\(l.region)&path_style=\(l.pathStyle)"
    }
}
