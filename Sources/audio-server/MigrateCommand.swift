import ArgumentParser
import Foundation
import KindModel
import Logging
import PostgresNIO
import Schema
import Storage

/// `audio-server migrate generate|plan|apply|status|check`. The logic lives in `Schema`; this is wiring and printing.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Generate, review and apply schema migrations (see docs/migrations.md).",
        subcommands: [Generate.self, Plan.self, Apply.self, Status.self, Check.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the next migration for what kinds/ changed (needs no database; given one, patterns are compiled by PostgreSQL too).")
        @OptionGroup var settings: Settings
        @Option(help: "Name for the file (NNNN_NAME.sql).") var name: String?
        @Flag(help: "Allow dropping kinds and fields (their data is lost).") var allowDestructive = false

        func run() async throws {
            let catalog = try settings.loadKinds()
            let directory = MigrationDirectory(path: settings.migrationsDirectory)
            // With a database at hand, refuse patterns PostgreSQL cannot compile before writing them into CHECKs.
            if let url = try settings.optionalDatabaseURL() {
                let logger = settings.makeLogger()
                var problems: [String] = []
                do {
                    problems = try await withDatabase(url, logger: logger) { client in
                        try await PatternCheck.problems(in: catalog.kinds, on: client, logger: logger)
                    }
                } catch {
                    print("(Could not reach the database to compile patterns with PostgreSQL: \(describe(error)); `migrate check` does it later.)")
                }
                if !problems.isEmpty {
                    printError("Cannot generate a migration: PostgreSQL refuses these patterns:")
                    for problem in problems { printError("  - " + problem) }
                    printError("Nothing was written.")
                    throw ExitCode(1)
                }
            }
            do {
                if let file = try directory.generate(for: catalog, name: name, options: PlanningOptions(allowDestructive: allowDestructive)) {
                    print("wrote \(file.path)")
                    print(file.text.split(separator: "\n").prefix { $0.hasPrefix("--") }.joined(separator: "\n"))
                    print(
                        "Review it, run `audio-server migrate plan` against a database to see which rows would break a new rule, then commit it with its .kinds.json."
                    )
                } else {
                    print("No changes: kinds/ matches \(settings.migrationsDirectory); nothing written.")
                }
            } catch let error as MigrationPlanningError {
                printPlanningProblems(error)
                throw ExitCode(1)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dry run: print the pending SQL and, given a database, how many rows would break each new rule.",
            discussion: """
                Shows the migrations that are not applied yet plus the one `migrate generate` would write for kinds/.
                With DATABASE_URL (or --database-url) it runs them in a transaction that is rolled back and counts, for
                every data-dependent step, the rows that would break it. Exits 1 when applying would fail.
                """)
        @OptionGroup var settings: Settings
        @Flag(help: "Include drops of kinds and fields in the would-be migration.") var allowDestructive = false
        @Flag(help: "Do not connect to a database even if DATABASE_URL is set.") var noDatabase = false

        func run() async throws {
            let catalog = try settings.loadKinds()
            let directory = MigrationDirectory(path: settings.migrationsDirectory)
            let next: MigrationPlan
            do {
                next = try directory.pendingPlan(for: catalog, options: PlanningOptions(allowDestructive: allowDestructive))
            } catch let error as MigrationPlanningError {
                printPlanningProblems(error)
                throw ExitCode(1)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            let files: [MigrationFile]
            do { files = try directory.files() } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            let nextName = String(format: "%04d", files.count + 1) + "_(not generated yet)"
            let extra = next.isEmpty ? [] : [(name: nextName, text: next.fileText(name: nextName))]

            guard !noDatabase, let url = try settings.optionalDatabaseURL() else {
                if extra.isEmpty { print("kinds/ matches \(settings.migrationsDirectory): nothing to generate.") }
                for file in extra { print(file.text) }
                print("(No database given: pending files and row counts need DATABASE_URL or --database-url.)")
                return
            }
            let logger = settings.makeLogger()
            let (pending, report) = try await withDatabase(url, logger: logger) { client in
                let runner = MigrationRunner(client: client, directory: directory, logger: logger)
                return (try await runner.pending(), try await runner.dryRun(extra: extra))
            }
            if pending.isEmpty && extra.isEmpty {
                print("Nothing pending: the database has every migration and kinds/ matches \(settings.migrationsDirectory).")
                return
            }
            for name in pending {
                if let file = files.first(where: { $0.name == name }) { print("-- pending file \(file.path)\n" + file.text) }
            }
            for file in extra { print("-- not generated yet (run `migrate generate`):\n" + file.text) }
            print("Data check against \(url) (rolled back, nothing changed):")
            if report.checks.isEmpty && report.failures.isEmpty { print("  no data-dependent steps") }
            for check in report.checks {
                print(
                    check.passes
                        ? "  ok    \(check.file): \(check.step)"
                        : "  FAILS \(check.file): \(check.step)\n        \(check.violations)")
            }
            for failure in report.failures {
                print("  ERROR \(failure.file): \(failure.step)\n        \(failure.message)")
            }
            if !report.wouldSucceed {
                printError("applying now would fail and roll back; fix the rows listed above first")
                throw ExitCode(1)
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending migrations, each once, in its own transaction, under an advisory lock.")
        @OptionGroup var settings: Settings

        func run() async throws {
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            let applied = try await withDatabase(url, logger: logger) { client in
                try await MigrationRunner(client: client, directory: MigrationDirectory(path: settings.migrationsDirectory), logger: logger).apply()
            }
            print(applied.isEmpty ? "Database is up to date." : "Applied: \(applied.joined(separator: ", "))")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migration files.")
        @OptionGroup var settings: Settings

        func run() async throws {
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            let directory = MigrationDirectory(path: settings.migrationsDirectory)
            let status = try await withDatabase(url, logger: logger) { client in
                try await MigrationRunner(client: client, directory: directory, logger: logger).status()
            }
            for entry in status {
                print("\(entry.appliedAt.map { "applied \(RFC3339.format($0))" } ?? "pending")  \(entry.name)")
            }
            let pending = status.filter { $0.appliedAt == nil }.count
            print("\(status.count - pending) applied, \(pending) pending\(pending > 0 ? " (run `audio-server migrate apply`)" : "")")
            if let catalog = try? KindLoader.load(directory: settings.kindsDirectory),
                let plan = try? directory.pendingPlan(for: catalog, options: PlanningOptions(allowDestructive: true)), !plan.isEmpty
            {
                print(
                    "kinds/ has \(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") with no migration yet (run `audio-server migrate generate`)"
                )
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit non-zero when kinds/ has changes with no migration, or the database drifts from the migrations.",
            discussion: """
                Without a database it checks kinds/ against migrations/ only (what CI runs). With DATABASE_URL it also
                reports pending files and compares the database's tables, columns, types, nullability, defaults,
                constraints, indexes and sequences (read from pg_catalog) with what the applied migrations produce.
                """)
        @OptionGroup var settings: Settings
        @Flag(help: "Do not connect to a database even if DATABASE_URL is set.") var noDatabase = false

        func run() async throws {
            let catalog = try settings.loadKinds()
            let directory = MigrationDirectory(path: settings.migrationsDirectory)
            var problems: [String] = []
            var checkedDatabase = false
            do {
                let plan = try directory.pendingPlan(for: catalog, options: PlanningOptions(allowDestructive: true))
                if let layout = try directory.outdatedLayout() {
                    problems.append(
                        layout.upgradeAdvice + ":\n" + plan.steps.map { "      [\($0.safety.rawValue)] \($0.summary)" }.joined(separator: "\n"))
                } else if !plan.isEmpty {
                    problems.append(
                        "kinds/ has changes with no migration; run `audio-server migrate generate`:\n"
                            + plan.steps.map { "      [\($0.safety.rawValue)] \($0.summary)" }.joined(separator: "\n"))
                }
            } catch let error as MigrationPlanningError {
                problems.append("kinds/ has changes that cannot become a migration:\n" + error.problems.map { "      \($0)" }.joined(separator: "\n"))
            } catch {
                problems.append("\(error)")
            }
            if !noDatabase, let url = try settings.optionalDatabaseURL() {
                let logger = settings.makeLogger()
                let (report, patterns) = try await withDatabase(url, logger: logger) { client in
                    (
                        try await MigrationRunner(client: client, directory: directory, logger: logger).checkDrift(),
                        try await PatternCheck.problems(in: catalog.kinds, on: client, logger: logger)
                    )
                }
                checkedDatabase = true
                if !patterns.isEmpty {
                    problems.append(
                        "PostgreSQL cannot compile these patterns (its CHECK constraints would refuse every write):\n"
                            + patterns.map { "      \($0)" }.joined(separator: "\n"))
                }
                if !report.pending.isEmpty {
                    problems.append(
                        "\(report.pending.count) migration\(report.pending.count == 1 ? " is" : "s are") not applied: \(report.pending.joined(separator: ", ")); run `audio-server migrate apply`"
                    )
                }
                if !report.differences.isEmpty {
                    problems.append(
                        "the database drifts from \(report.comparedWith.map { "what migrations up to \($0) produce" } ?? "an empty schema"):\n"
                            + report.differences.map { "      \($0)" }.joined(separator: "\n"))
                }
            } else {
                print("(No database given: checked kinds/ against migrations/ only.)")
            }
            if problems.isEmpty {
                print("OK: kinds/ matches \(settings.migrationsDirectory)\(checkedDatabase ? ", and the database matches its migrations" : "").")
                return
            }
            for problem in problems { printError("  - " + problem) }
            throw ExitCode(1)
        }
    }
}

func printPlanningProblems(_ error: MigrationPlanningError) {
    printError("Cannot generate a migration for these changes of kinds/:")
    for problem in error.problems { printError("  - " + problem) }
    printError("Nothing was written.")
}

extension Settings {
    /// The database URL when one is configured (flag or DATABASE_URL), nil otherwise.
    func optionalDatabaseURL() throws -> DatabaseURL? {
        let text = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"]
        guard let text, !text.isEmpty else { return nil }
        return try requireDatabaseURL()
    }
}

/// Runs `body` with a connected client, retrying the first connection a few times, and reports
/// failures as one clear line instead of a stack of NIO errors.
func withDatabase<T: Sendable>(_ url: DatabaseURL, logger: Logger, _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
    let client = PostgresClient(configuration: url.configuration(maximumConnections: 4), backgroundLogger: poolLogger(logger))
    do {
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            try await waitForDatabase(url, logger: logger)
            return try await body(client)
        }
    } catch let error as ExitCode {
        throw error
    } catch {
        printError(describe(error))
        throw ExitCode(1)
    }
}

/// Tries `SELECT 1` a few times with backoff, each attempt bounded: a database that is still
/// starting is common in `make run` and CI, one that is down must not hang startup.
func waitForDatabase(_ url: DatabaseURL, logger: Logger, attempts: Int = 5) async throws {
    var delay: Duration = .milliseconds(250)
    var lastError = "no answer"
    // Each attempt is a connection of its own, so the failure is PostgreSQL's own answer (refused,
    // no such database, bad password) rather than the pool's silence while it retries.
    let configuration = try url.connectionConfiguration()
    for attempt in 1...attempts {
        let answered = await DatabaseHealth.probe(configuration, id: attempt, timeout: .seconds(3), logger: logger)
        guard let failure = answered else { return }
        lastError = failure
        logger.warning("database not reachable yet, retrying", metadata: ["attempt": "\(attempt)", "error": "\(failure)"])
        if attempt < attempts { try await Task.sleep(for: delay) }
        delay *= 2
    }
    printError("cannot reach the database at \(url) after \(attempts) attempts: \(lastError)")
    throw ExitCode(1)
}

/// A one-line description of an error; PSQLError's own description is redacted.
func describe(_ error: any Error) -> String {
    if let psql = error as? PSQLError {
        if let message = psql.serverInfo?[.message] { return message }
        return "\(psql.code)"
    }
    return "\(error)"
}

/// The logger for PostgresNIO's pool: its own events at `info` ("Connection creation failed" for a
/// connection the pool closes on shutdown, one line per retry during an outage) are noise at the
/// default level, so they show only from `LOG_LEVEL=debug` down; warnings and errors always.
func poolLogger(_ logger: Logger) -> Logger {
    var pool = logger
    if logger.logLevel > .debug { pool.logLevel = max(logger.logLevel, .notice) }
    return pool
}
