public import Logging
public import PostgresNIO
public import Schema

/// Listens on a PostgreSQL `NOTIFY` channel for the process's lifetime, from a connection of its
/// own, and reconnects (with a growing pause, at most 5 s) whenever that connection drops. After
/// every `LISTEN` is in place it calls `caughtUp` first: whatever changed while this server was
/// not listening is caught then. This is how servers sharing one database hear of each other's
/// changes (revoked keys, reloaded kinds).
public struct NotificationListener: Sendable {
    public let configuration: PostgresConnection.Configuration
    public let channel: String
    public let logger: Logger

    public init(configuration: PostgresConnection.Configuration, channel: String, logger: Logger) {
        self.configuration = configuration
        self.channel = channel
        self.logger = logger
    }

    /// Returns when the task is cancelled.
    public func run(caughtUp: @Sendable () async -> Void, notified: @Sendable (String) async -> Void) async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: channel) { notices in
                    await caughtUp()
                    attempt = 0
                    for try await notice in notices { await notified(notice.payload) }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("listener disconnected; retrying", metadata: ["channel": "\(channel)", "error": "\(error)"])
            }
            attempt += 1
            try? await Task.sleep(for: .milliseconds(min(5_000, 100 * attempt)))
        }
    }

    /// Sends `payload` on `channel` to every server listening on the database `client` reaches.
    public static func notify(_ channel: String, payload: String, on client: any ConnectionSource, logger: Logger) async throws {
        _ = try await client.lease { connection in
            try await connection.query("SELECT pg_notify(\(channel), \(payload))", logger: logger)
        }
    }
}
