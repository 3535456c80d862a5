import Foundation
import Yams

/// Reads `kinds/*.yaml` into a `KindCatalog`, or reports every problem in every file at once.
///
/// We walk Yams' node tree instead of using `Decodable` so that each problem carries the line and
/// column of the offending key, and so that unknown keys are errors rather than silently ignored.
public enum KindLoader {
    /// Loads every `.yaml`/`.yml` file of `directory`, in file-name order.
    public static func load(directory: String) throws(KindLintError) -> KindCatalog {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else {
            throw KindLintError(problems: [
                KindProblem(
                    file: directory, line: 0, column: 0,
                    message: "cannot read the kinds folder; create it or point KINDS_DIR at it")
            ])
        }
        let label = (directory as NSString).lastPathComponent
        var sources: [(file: String, text: String)] = []
        var problems: [KindProblem] = []
        for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = fm.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                problems.append(KindProblem(file: "\(label)/\(name)", line: 0, column: 0, message: "cannot read file as UTF-8"))
                continue
            }
            sources.append(("\(label)/\(name)", text))
        }
        do {
            let catalog = try parse(sources)
            if problems.isEmpty { return catalog }
        } catch {
            problems += error.problems
        }
        throw KindLintError(problems: problems)
    }

    /// Parses kind files given as (display path, YAML text) and checks them together
    /// (duplicate names and aliases across files).
    public static func parse(_ sources: [(file: String, text: String)]) throws(KindLintError) -> KindCatalog {
        var problems: [KindProblem] = []
        var kinds: [(kind: KindDefinition, file: String, nameMark: Mark?, aliasMarks: [Mark?])] = []
        for source in sources {
            var reader = KindFileReader(file: source.file)
            if let kind = reader.read(source.text) {
                kinds.append((kind, source.file, reader.nameMark, reader.aliasMarks))
            }
            problems += reader.problems
        }
        var owners: [String: String] = [:]
        for (kind, file, nameMark, aliasMarks) in kinds {
            // Each token is reported where it is written: the name at `name:`, an alias in `aliases:`.
            for (token, mark) in [(kind.name, nameMark)] + Array(zip(kind.aliases, aliasMarks)) {
                if let owner = owners[token] {
                    problems.append(
                        KindProblem(
                            file: file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                            message: "kind name or alias '\(token)' is already used by \(owner); names and aliases must be unique"))
                } else {
                    owners[token] = "kind '\(kind.name)' (\(file))"
                }
            }
        }
        if !problems.isEmpty { throw KindLintError(problems: problems) }
        return KindCatalog(kinds.map(\.kind))
    }

    /// The rule every kind, alias and field name follows: it becomes a SQL identifier and a URL token.
    public static func isValidName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (1...48).contains(scalars.count), ("a"..."z").contains(scalars[0]) else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Kind names that would collide with fixed routes (`POST /api/audio/create`).
    public static let reservedKindNames: Set<String> = ["create"]
}
