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
    /// (`RequestLogContext`), database lines included; formatted only when written
    /// (`LazyLineLogHandler`). Installed once, before the first logger.
    static let loggingSystem: Void = LoggingSystem.bootstrap(
        { label, provider in
            LazyLineLogHandler.standardError(label: label, metadataProvider: provider)
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

/// Where files live: `STORAGE_URL` (`file:///PATH` or `s3://BUCKET/PREFIX?…`), or the older
/// `STORAGE_DIR`; with object storage, `STAGING_DIR` holds uploads in progress. Shared by `serve`
/// and `storage`.
struct StorageOptions: ParsableArguments {
    @Option(
        name: .customLong("storage-url"),
        help:
            "Where audio files live: file:///PATH or s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true, credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (env STORAGE_URL, default file://./storage)."
    )
    var storageURL: String?
    @Option(
        name: .customLong("storage-dir"),
        help: "Where audio files are stored on disk, same as STORAGE_URL=file://DIR (env STORAGE_DIR, default ./storage).")
    var storageDir: String?
    @Option(
        name: .customLong("staging-dir"),
        help:
            "With s3:// storage: the local folder for uploads being received and probed (resumable uploads keep their bytes in the bucket) (env STAGING_DIR, default ./staging)."
    )
    var stagingDir: String?

    /// The local folder (the file store, or staging for object storage) and the object store.
    struct Resolved {
        var localRoot: String
        var objects: ObjectFileStore?
        var backend: FileBackend { objects.map(FileBackend.objectStorage) ?? .disk(FileStore(root: localRoot)) }
    }

    /// Parses the settings and, for object storage, proves with a real request (`checkAccess`) that
    /// the endpoint answers, the bucket exists and the credentials may use it; a usage error names
    /// which is wrong.
    func resolve() async throws -> Resolved {
        let env = ProcessInfo.processInfo.environment
        return try await Self.resolve(
            url: storageURL ?? env["STORAGE_URL"], directory: storageDir ?? env["STORAGE_DIR"], staging: stagingDir ?? env["STAGING_DIR"])
    }

    static func resolve(url: String?, directory: String?, staging: String?) async throws -> Resolved {
        let env = ProcessInfo.processInfo.environment
        guard let text = url, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            return Resolved(localRoot: directory ?? "./storage", objects: nil)
        }
        let parsed: StorageURL
        do { parsed = try StorageURL(parsing: text) } catch { throw ValidationError(error.description) }
        switch parsed {
        case .directory(let path):
            if let directory, directory != path {
                throw ValidationError("STORAGE_URL (\(text)) and STORAGE_DIR (\(directory)) name different folders; set only STORAGE_URL")
            }
            return Resolved(localRoot: path, objects: nil)
        case .objectStorage(let location):
            guard let keyID = env["AWS_ACCESS_KEY_ID"], !keyID.isEmpty, let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                throw ValidationError(
                    "STORAGE_URL is s3:// but the credentials are not set: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)"
                )
            }
            let token = env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            let client = ObjectStorageClient(
                location: location, credentials: ObjectStorageCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token))
            do {
                try await client.checkAccess()
            } catch let error as ObjectStorageError {
                throw ValidationError("STORAGE_URL \(location) cannot be used: \(Self.which(error)) (\(error))")
            }
            return Resolved(localRoot: staging ?? "./staging", objects: ObjectFileStore(client: client))
        }
    }

    /// A short stable name for a destination (its journal's file name), without its text (which
    /// may hold a path or bucket name with characters a file name should not).
    static func shortHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    /// Which setting is wrong, in words an operator acts on.
    static func which(_ error: ObjectStorageError) -> String {
        switch error {
        case .noSuchBucket(let bucket): "the bucket '\(bucket)' does not exist (check the bucket in STORAGE_URL)"
        case .invalidCredentials: "the credentials are rejected (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)"
        case .accessDenied: "the credentials may not list the bucket (check the key's permissions)"
        case .unreachable(let endpoint, _): "the endpoint \(endpoint) does not answer (check endpoint= in STORAGE_URL)"
        case .unexpected(let status, nil, _):
            "the endpoint answered HTTP \(status) without an S3 error: is it an S3 server? (check endpoint= in STORAGE_URL)"
        default: "the object storage answered unexpectedly"
        }
    }
}
