import Hummingbird
import KindModel
import Logging
import PostgresNIO
import Storage

/// Server-wide settings that are not kinds.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Folder of stored audio files (and their temporary uploads).
    public var storageDirectory: String
    /// Largest accepted upload unless a kind's `upload.max_size` says otherwise.
    public var maxUploadBytes: Int64

    public init(host: String = "127.0.0.1", port: Int = 8080, storageDirectory: String = "./storage",
                maxUploadBytes: Int64 = 512 * 1024 * 1024) {
        self.host = host
        self.port = port
        self.storageDirectory = storageDirectory
        self.maxUploadBytes = maxUploadBytes
    }
}

/// Builds the Hummingbird application: the one place where routes, the database pool and the
/// file store meet, used by `audio-server serve` and by the HTTP tests alike.
public enum ServerApplication {
    public static func make(configuration: ServerConfiguration, registry: KindRegistry, client: PostgresClient,
                            logger: Logger) -> some ApplicationProtocol {
        let api = AudioAPI(registry: registry, records: RecordStore(client: client, logger: logger),
                           files: FileStore(root: configuration.storageDirectory), maxUploadBytes: configuration.maxUploadBytes)
        let router = Router()
        api.register(on: router)
        return Application(router: router,
                           server: .http1(configuration: .init(additionalChannelHandlers: [ContinueHandler(accepts: api.acceptsBody)])),
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "audio-server"),
                           services: [client], logger: logger)
    }
}
