import KindModel
public import Logging
import PostgresNIO
public import Schema

/// Re-reads `kinds/` on `SIGHUP` and swaps the new definitions in when it is safe: they must lint
/// cleanly, be exactly what the committed migrations produce, and every migration must be applied.
/// Otherwise the server keeps serving the old kinds and says why; it never serves kinds its tables
/// do not match.
public struct KindReloader: Sendable {
    public let registry: KindRegistry
    public let kindsDirectory: String
    public let migrations: MigrationDirectory
    public let client: any ConnectionSource
    public let logger: Logger

    public init(registry: KindRegistry, kindsDirectory: String, migrations: MigrationDirectory, client: any ConnectionSource, logger: Logger) {
        self.registry = registry
        self.kindsDirectory = kindsDirectory
        self.migrations = migrations
        self.client = client
        self.logger = logger
    }

    public enum Outcome: Sendable, Equatable {
        case reloaded([String])
        case unchanged
        /// Kept the old kinds; the reason says what to fix.
        case refused(String)
    }

    @discardableResult
    public func reload() async -> Outcome {
        let outcome = await check()
        switch outcome {
        case .reloaded(let names): logger.notice("reloaded kinds", metadata: ["kinds": "\(names.joined(separator: ","))"])
        case .unchanged: logger.info("kinds unchanged on reload")
        case .refused(let why): logger.error("kept the current kinds: \(why)")
        }
        return outcome
    }

    private func check() async -> Outcome {
        let catalog: KindCatalog
        do { catalog = try KindLoader.load(directory: kindsDirectory) } catch { return .refused("kinds/ has problems:\n\(error.description)") }
        if catalog == registry.runtime.catalog { return .unchanged }
        do {
            let plan = try migrations.pendingKindChanges(for: catalog)
            if !plan.isEmpty {
                return .refused(
                    "kinds/ differs from the database schema (\(plan.steps.map(\.summary).joined(separator: "; "))); run `audio-server migrate generate` and `migrate apply`, then reload"
                )
            }
            let pending = try await MigrationRunner(client: client, directory: migrations, logger: logger).pending()
            if !pending.isEmpty {
                return .refused("migrations not applied yet: \(pending.joined(separator: ", ")); run `audio-server migrate apply`, then reload")
            }
        } catch {
            return .refused("cannot compare kinds with the database: \(error)")
        }
        registry.replace(with: catalog)
        return .reloaded(catalog.names)
    }
}
