import Foundation
import KindModel
import Logging
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import Schema

/// Kinds from YAML texts, linted as `kinds/` would be (file names k0.yaml, k1.yaml, ...).
func kinds(_ yaml: String...) throws -> KindCatalog {
    try KindLoader.parse(yaml.enumerated().map { (file: "kinds/k\($0.offset).yaml", text: $0.element) })
}

/// The repository's own kinds.
func projectKinds() throws -> KindCatalog {
    try KindLoader.load(directory: TestDatabase.repositoryRoot.appendingPathComponent("kinds").path)
}

let quietLogger: Logger = {
    var l = Logger(label: "schema-tests")
    l.logLevel = .error
    return l
}()

/// A throwaway `migrations/` folder and a fresh database, for one test.
struct Fixture: Sendable {
    let path: String
    let url: DatabaseURL
    var directory: MigrationDirectory { MigrationDirectory(path: path) }

    static func make(_ label: String = "mig") async throws -> Fixture {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("schema-tests-\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return Fixture(path: path, url: try await TestDatabase.create(label: label))
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Generates the next migration; fails the test when nothing was generated.
    @discardableResult
    func generate(
        _ catalog: KindCatalog, allowDestructive: Bool = false, name: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> MigrationFile {
        let file = try directory.generate(for: catalog, name: name, options: PlanningOptions(allowDestructive: allowDestructive))
        return try #require(file, "expected a migration", sourceLocation: sourceLocation)
    }

    @discardableResult
    func apply() async throws -> [String] {
        try await TestDatabase.withClient(url) { client in
            try await MigrationRunner(client: client, directory: directory, logger: quietLogger).apply()
        }
    }

    /// Generates from `catalog` and applies; returns the file.
    @discardableResult
    func migrate(
        _ catalog: KindCatalog, allowDestructive: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> MigrationFile {
        let file = try generate(catalog, allowDestructive: allowDestructive, sourceLocation: sourceLocation)
        let applied = try await apply()
        #expect(applied == [file.name], sourceLocation: sourceLocation)
        return file
    }

    func execute(_ sql: String...) async throws {
        try await TestDatabase.withClient(url) { client in
            for statement in sql { try await client.query(PostgresQuery(unsafeSQL: statement), logger: quietLogger) }
        }
    }

    /// Rows of a query whose columns are all cast to text.
    func rows(_ sql: String) async throws -> [[String?]] {
        try await TestDatabase.withClient(url) { client in
            var out: [[String?]] = []
            let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
            for try await row in rows {
                out.append(try row.makeRandomAccess().map { try $0.decode(String?.self) })
            }
            return out
        }
    }

    /// The first column of every row.
    func column(_ sql: String) async throws -> [String?] { try await rows(sql).map { $0.first ?? nil } }

    func catalog() async throws -> DatabaseCatalog {
        try await TestDatabase.withClient(url) { client in
            try await client.withConnection { try await DatabaseCatalog.introspect(on: $0, logger: quietLogger) }
        }
    }

    func runner<T: Sendable>(_ body: @Sendable (MigrationRunner) async throws -> T) async throws -> T {
        try await TestDatabase.withClient(url) { client in
            try await body(MigrationRunner(client: client, directory: directory, logger: quietLogger))
        }
    }

    func ledger() async throws -> [String] {
        try await column("SELECT name FROM audio_server.migrations ORDER BY name").map { $0 ?? "" }
    }
}

/// Runs `body` with a fixture and removes its folder afterwards.
func withFixture<T>(_ label: String = "mig", _ body: (Fixture) async throws -> T) async throws -> T {
    let fixture = try await Fixture.make(label)
    defer { fixture.remove() }
    return try await body(fixture)
}

/// The planning error of a plan from `old` to `new`; fails the test when planning succeeds.
func planningProblems(
    from old: KindCatalog, to new: KindCatalog, allowDestructive: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [String] {
    do {
        let plan = try MigrationPlanner.plan(from: old.kinds, to: new.kinds, options: PlanningOptions(allowDestructive: allowDestructive))
        Issue.record("planning succeeded: \(plan.steps.map(\.summary))", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.problems
    }
}

func plan(from old: KindCatalog, to new: KindCatalog, allowDestructive: Bool = false) throws -> MigrationPlan {
    try MigrationPlanner.plan(from: old.kinds, to: new.kinds, options: PlanningOptions(allowDestructive: allowDestructive))
}

/// The error `body` throws as a `MigrationError`; fails the test when it throws none or another.
func migrationError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> MigrationError? {
    do {
        try await body()
        Issue.record("expected a MigrationError", sourceLocation: sourceLocation)
    } catch let error as MigrationError {
        return error
    } catch {
        Issue.record("expected a MigrationError, got \(String(reflecting: error))", sourceLocation: sourceLocation)
    }
    return nil
}

/// Common YAML.
enum YAML {
    static let song = """
        name: song
        fields:
          name: {type: string, required: true, min_length: 1, max_length: 100}
          duration: {type: integer, required: true, min: 1, max: 2147483647}
        """

    static func song(
        _ extraFields: String = "", name: String = "name: {type: string, required: true, min_length: 1, max_length: 100}",
        duration: String = "duration: {type: integer, required: true, min: 1, max: 2147483647}", header: String = "name: song"
    ) -> String {
        "\(header)\nfields:\n  \(name)\n  \(duration)\n" + extraFields.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    }
}
