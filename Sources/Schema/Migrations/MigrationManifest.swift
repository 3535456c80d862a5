import Foundation

/// A generated migration's steps as data (Django keeps its operations; this keeps ours), written
/// by `migrate generate` beside the SQL file as `NNNN_name.steps.json`. The runner and the dry run
/// apply a generated file from it — each statement with what it checks of existing rows — instead of
/// re-reading the SQL they generated. The SQL file stays what is reviewed, committed and checksummed:
/// a manifest counts only while `sqlSHA256` matches that file, so a file edited by hand, like a file
/// written by hand, is read with the SQL reader.
public struct MigrationManifest: Codable, Sendable, Equatable {
    public var format = 1
    /// The checksum of the SQL file the steps were generated with.
    public var sqlSHA256: String
    public var steps: [Step]

    public struct Step: Codable, Sendable, Equatable {
        public var summary: String
        public var safety: String
        public var statements: [PlannedStatement]
    }

    enum CodingKeys: String, CodingKey {
        case format, sqlSHA256 = "sql_sha256", steps
    }

    init(plan: MigrationPlan, sqlSHA256: String) {
        self.sqlSHA256 = sqlSHA256
        steps = plan.steps.map { Step(summary: $0.summary, safety: $0.safety.rawValue, statements: $0.planned) }
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

extension MigrationDirectory {
    static let manifestSuffix = ".steps.json"

    /// The manifest of the migration `name`, if it has one written for exactly `text`.
    func manifest(named name: String, matching text: String) -> MigrationManifest? {
        let path = (self.path as NSString).appendingPathComponent(name + Self.manifestSuffix)
        guard let data = FileManager.default.contents(atPath: path),
            let manifest = try? JSONDecoder().decode(MigrationManifest.self, from: data),
            manifest.format == 1,
            manifest.sqlSHA256 == MigrationFile(name: name, number: 0, path: "", text: text).checksum
        else { return nil }
        return manifest
    }
}
