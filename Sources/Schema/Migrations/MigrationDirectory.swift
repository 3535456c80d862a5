import Crypto
import Foundation
public import KindModel

/// One migration file in `migrations/`.
public struct MigrationFile: Sendable, Equatable {
    /// `0001_initial` — the file name without `.sql`.
    public var name: String
    public var number: Int
    public var path: String
    public var text: String

    /// SHA-256 of the file's bytes, recorded in the ledger to detect edits after applying.
    public var checksum: String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Errors reading or writing `migrations/`.
public struct MigrationDirectoryError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The `migrations/` folder: numbered SQL files, and the kind snapshot and step manifest written with each.
public struct MigrationDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The `.sql` files in number order; refuses duplicate or missing numbers.
    public func files() throws(MigrationDirectoryError) -> [MigrationFile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var files: [MigrationFile] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            let stem = String(name.dropLast(4))
            guard let number = Int(stem.prefix { $0.isNumber }), stem.prefix(while: { $0.isNumber }).count == 4 else {
                throw MigrationDirectoryError("\(path)/\(name): migration files are named NNNN_name.sql")
            }
            let full = (path as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: full) else {
                throw MigrationDirectoryError("\(full): cannot read")
            }
            files.append(MigrationFile(name: stem, number: number, path: full, text: String(decoding: data, as: UTF8.self)))
        }
        for (i, file) in files.enumerated() where file.number != i + 1 {
            throw MigrationDirectoryError(
                "\(path): expected migration number \(String(format: "%04d", i + 1)) but found \(file.name); migration numbers must run 0001, 0002, ... without gaps or repeats"
            )
        }
        return files
    }

    /// The kinds the committed migrations produce: the newest snapshot, or none.
    public func currentKinds() throws(MigrationDirectoryError) -> [KindDefinition] { try currentState().kinds }

    /// The kinds and the table layout the committed migrations produce.
    public func currentState() throws(MigrationDirectoryError) -> SchemaState {
        guard let last = try files().last else { return .empty }
        return try state(after: last)
    }

    /// The kinds the database holds once `file` (and every file before it) is applied: its snapshot.
    public func kinds(after file: MigrationFile) throws(MigrationDirectoryError) -> [KindDefinition] { try state(after: file).kinds }

    /// The kinds and the table layout the database has once `file` (and every file before it) is applied.
    public func state(after file: MigrationFile) throws(MigrationDirectoryError) -> SchemaState {
        let last = file
        let snapshotPath = (path as NSString).appendingPathComponent(last.name + ".kinds.json")
        guard let data = FileManager.default.contents(atPath: snapshotPath) else {
            throw MigrationDirectoryError("\(snapshotPath) is missing: every migration is committed with the snapshot of kinds it produces")
        }
        do { return try Snapshot.decodeState(String(decoding: data, as: UTF8.self)) } catch {
            throw MigrationDirectoryError("\(snapshotPath): unreadable snapshot: \(error)")
        }
    }

    /// The plan from the committed state to `catalog`, with the upgrade of the tables to the current
    /// layout when the committed migrations made an older one.
    public func pendingPlan(for catalog: KindCatalog, options: PlanningOptions = PlanningOptions()) throws -> MigrationPlan {
        try MigrationPlanner.plan(from: try currentState(), to: catalog.kinds, options: options)
    }

    /// What `catalog` changed of the committed kinds, leaving out a layout upgrade: what a server
    /// must refuse to serve without (a table an older engine made serves the same records).
    public func pendingKindChanges(for catalog: KindCatalog) throws -> MigrationPlan {
        let state = try currentState()
        return try MigrationPlanner.plan(from: SchemaState(kinds: state.kinds, layout: .current), to: catalog.kinds)
    }

    /// The layout the committed migrations made, when it is older than the current one.
    public func outdatedLayout() throws(MigrationDirectoryError) -> SchemaLayout? {
        let layout = try currentState().layout
        return layout < .current ? layout : nil
    }

    /// Writes the next numbered migration and its snapshot; nil when the kinds match the committed state.
    public func generate(
        for catalog: KindCatalog, name: String? = nil,
        options: PlanningOptions = PlanningOptions()
    ) throws -> MigrationFile? {
        let existing = try files()
        let plan = try pendingPlan(for: catalog, options: options)
        if plan.isEmpty { return nil }
        let number = existing.count + 1
        let label = Self.slug(name ?? (existing.isEmpty ? "initial" : Self.defaultName(plan)))
        let stem = String(format: "%04d", number) + "_" + label
        let text = plan.fileText(name: stem)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let sqlPath = (path as NSString).appendingPathComponent(stem + ".sql")
        try Data(text.utf8).write(to: URL(fileURLWithPath: sqlPath), options: .withoutOverwriting)
        let snapshotPath = (path as NSString).appendingPathComponent(stem + ".kinds.json")
        try Data(Snapshot.encode(catalog.kinds).utf8).write(to: URL(fileURLWithPath: snapshotPath), options: .withoutOverwriting)
        let file = MigrationFile(name: stem, number: number, path: sqlPath, text: text)
        let manifestPath = (path as NSString).appendingPathComponent(stem + Self.manifestSuffix)
        // Overwritten, unlike the SQL and the snapshot: a manifest left by a discarded file counts for
        // nothing (it matches no SQL), and the new one is derived, not written by a person.
        try MigrationManifest(plan: plan, sqlSHA256: file.checksum).encoded().write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
        return file
    }

    /// A readable default name from the first step (`add_song_isrc`, `create_jingle`).
    static func defaultName(_ plan: MigrationPlan) -> String {
        // Structural steps name the file; constraint and index steps only when there is nothing else.
        let structural: [String] = plan.steps.compactMap {
            switch $0 {
            case .addConstraint, .addConstraintSafely, .createIndex, .createKindIndex: nil
            default: name(of: $0)
            }
        }
        let parts = structural.isEmpty ? plan.steps.compactMap(name(of:)) : structural
        var unique: [String] = []
        for part in parts where !unique.contains(part) { unique.append(part) }
        return unique.isEmpty ? "change" : unique.prefix(2).joined(separator: "_")
    }

    private static func name(of step: MigrationStep) -> String? {
        switch step {
        case .createKind(let k): "create_\(k.name)"
        case .dropKind(let k): "drop_\(k)"
        case .renameKind(_, let to): "rename_to_\(to)"
        case .addField(let k, let f): "add_\(k)_\(f.name)"
        case .dropField(let k, let f): "drop_\(k)_\(f)"
        case .renameField(let k, _, let to): "rename_\(k)_\(to)"
        case .changeColumnType(let k, let f, _), .guardedChangeColumnType(let k, let f, _, _, _): "change_\(k)_\(f.name)"
        case .setNotNull(let k, let f): "require_\(k)_\(f)"
        case .fillNullsAndSetNotNull(let k, let f): "require_\(k)_\(f.name)"
        case .dropNotNull(let k, let f): "optional_\(k)_\(f)"
        case .addConstraint(let k, _), .addConstraintSafely(let k, _, _): "constrain_\(k)"
        case .createIndex(let k, let f): "index_\(k)_\(f)"
        case .createKindIndex(let k, let index): "index_\(k)_" + index.keys.map(\.field).joined(separator: "_")
        default: nil
        }
    }

    static func slug(_ text: String) -> String {
        let mapped = text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return String(String(mapped).split(separator: "_").joined(separator: "_").prefix(60))
    }
}
