import ArgumentParser
import Foundation
import KindModel
import Logging
import Storage

/// Settings every subcommand shares. Each flag falls back to the environment variable of the same
/// name, then to a default, so `make run`, CI and a shell all configure the server the same way.
struct Settings: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (env DATABASE_URL).")
    var databaseURL: String?
    @Option(name: .customLong("kinds-dir"), help: "Folder of kind YAML files (env KINDS_DIR, default ./kinds).")
    var kindsDir: String?
    @Option(name: .customLong("migrations-dir"), help: "Folder of migration files (env MIGRATIONS_DIR, default ./migrations).")
    var migrationsDir: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical (env LOG_LEVEL, default info).")
    var logLevel: String?

    private static var env: [String: String] { ProcessInfo.processInfo.environment }

    var kindsDirectory: String { kindsDir ?? Self.env["KINDS_DIR"] ?? "./kinds" }
    var migrationsDirectory: String { migrationsDir ?? Self.env["MIGRATIONS_DIR"] ?? "./migrations" }

    /// The database URL, or a usage error naming how to set it.
    func requireDatabaseURL() throws -> DatabaseURL {
        guard let text = databaseURL ?? Self.env["DATABASE_URL"], !text.isEmpty else {
            throw ValidationError(
                "DATABASE_URL is not set; export DATABASE_URL=postgres://user@127.0.0.1:5432/db or pass --database-url (make run starts a local database for you)"
            )
        }
        do { return try DatabaseURL(text) } catch { throw ValidationError("\(error)") }
    }

    func makeLogger(_ label: String = "audio-server") -> Logger {
        _ = Self.loggingSystem
        var logger = Logger(label: label)
        let level = logLevel ?? Self.env["LOG_LEVEL"] ?? "info"
        logger.logLevel = Logger.Level(rawValue: level.lowercased()) ?? .info
        return logger
    }

    /// Lines to stderr, each carrying the request id of the request it was written for
    /// (`RequestLogContext`), database lines included. Installed once, before the first logger.
    static let loggingSystem: Void = LoggingSystem.bootstrap(
        { label, provider in
            StreamLogHandler.standardError(label: label, metadataProvider: provider)
        }, metadataProvider: RequestLogContext.metadataProvider)

    /// Loads and lints `kinds/`; prints every problem and exits non-zero when there is one.
    func loadKinds() throws -> KindCatalog {
        do {
            return try KindLoader.load(directory: kindsDirectory)
        } catch {
            printError(error.description)
            printError("\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in \(kindsDirectory); fix them and try again")
            throw ExitCode(1)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
