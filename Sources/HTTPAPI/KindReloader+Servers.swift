public import PostgresNIO
import Schema
public import ServiceLifecycle
import Storage

/// Several servers share one database: a reload on one (SIGHUP, or `audio-server kinds reload`)
/// reaches all through PostgreSQL `LISTEN/NOTIFY`, and a server that was disconnected when the
/// notice went out reloads when it reconnects. Each server still decides for itself whether the
/// new kinds are safe (`reload`), so one with an older `kinds/` keeps its kinds and says why.
extension KindReloader {
    /// The channel servers tell each other to reload kinds on.
    public static let channel = "\(ServerSchema.name)_kinds"

    /// Reloads this server, then asks every other server to (SIGHUP on any one of them).
    @discardableResult
    public func reloadEverywhere() async -> Outcome {
        let outcome = await reload()
        do {
            try await NotificationListener.notify(Self.channel, payload: "reload", on: client, logger: logger)
        } catch {
            logger.warning("could not tell the other servers to reload kinds", metadata: ["error": "\(ErrorLogText.describe(error))"])
        }
        return outcome
    }
}

/// Listens for reload notices for the server's lifetime; a graceful shutdown stops it.
public struct KindChangeService: Service {
    let reloader: KindReloader
    let listener: NotificationListener

    public init(reloader: KindReloader, listen configuration: PostgresConnection.Configuration) {
        self.reloader = reloader
        listener = NotificationListener(configuration: configuration, channel: KindReloader.channel, logger: reloader.logger)
    }

    public func run() async throws {
        // Reloading an unchanged catalog is a no-op (`unchanged`), so the notice this server sent
        // itself, and the catch-up after every reconnect, cost one read of kinds/.
        await cancelWhenGracefulShutdown {
            await listener.run(caughtUp: { await reloader.reload() }, notified: { _ in await reloader.reload() })
        }
    }
}
