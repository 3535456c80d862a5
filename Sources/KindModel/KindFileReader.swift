import Foundation
import Yams

/// Reads one kind file, collecting problems instead of stopping at the first.
struct KindFileReader {
    let file: String
    private(set) var problems: [KindProblem] = []
    private(set) var nameMark: Mark?
    /// Where each of the kind's aliases is written (in `aliases` order), so that a problem with one
    /// alias, such as its use by another kind, points at that alias rather than at the list or `name:`.
    private(set) var aliasMarks: [Mark?] = []

    init(file: String) { self.file = file }

    static let kindKeys: Set<String> = [
        "name", "description", "aliases", "additional_fields", "fields", "upload", "indexes", "renamed_from", "access",
    ]
    static let commonFieldKeys: Set<String> = ["type", "description", "required", "default", "unique", "index", "browse", "renamed_from"]
    static let uploadKeys: Set<String> = ["formats", "max_size", "duration_field", "duration_tolerance", "resumable", "download"]
    static let resumableKeys: Set<String> = ["expires", "max_append"]

    /// Constraint keys each type accepts, beyond the common ones.
    static let constraintKeys: [FieldType: Set<String>] = [
        .string: ["min_length", "max_length", "pattern"],
        .text: ["min_length", "max_length", "pattern"],
        .integer: ["min", "max"],
        .number: ["min", "max"],
        .boolean: [],
        .datetime: ["not_in_past"],
        .date: ["not_in_past"],
        .enum: ["values"],
        .list: ["items", "min_items", "max_items"],
    ]
    static let allConstraintKeys = constraintKeys.values.reduce(Set<String>()) { $0.union($1) }

    static var defaultStringMaxLength: Int { FieldDefinition.defaultStringMaxLength }
    /// PostgreSQL's `varchar(n)` limit, which tables of the first layout (`SchemaLayout`) still have.
    static let largestStringMaxLength = 10_485_760

    mutating func problem(_ node: Node?, _ message: String) {
        let mark = node?.mark
        problems.append(KindProblem(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    mutating func read(_ text: String) -> KindDefinition? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            problems.append(syntaxProblem(error))
            return nil
        } catch {
            problems.append(KindProblem(file: file, line: 1, column: 1, message: "malformed YAML: \(error)"))
            return nil
        }
        guard let root, let mapping = root.mapping else {
            problem(root, "a kind file must be a mapping with at least `fields:`")
            return nil
        }
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        var kind = KindDefinition(name: stem, fields: [])
        var fieldsNode: Node?
        var indexesNode: Node?
        var aliasNodes: [Node] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                problem(keyNode, "keys must be strings")
                continue
            }
            switch key {
            case "name":
                nameMark = value.mark
                if let s = scalarString(value, "name") { kind.name = s }
            case "description": kind.description = scalarString(value, "description")
            case "aliases":
                let aliases = stringNodes(value, "aliases")
                kind.aliases = aliases.map(\.string)
                aliasNodes = aliases.map(\.node)
            case "additional_fields":
                if let s = scalarString(value, key) {
                    if let policy = AdditionalFieldsPolicy(rawValue: s) {
                        kind.additionalFields = policy
                    } else {
                        problem(value, "additional_fields must be 'reject' or 'ignore', not '\(s)'")
                    }
                }
            case "fields": fieldsNode = value
            case "upload": kind.upload = readUpload(value)
            case "indexes": indexesNode = value
            case "renamed_from": kind.renamedFrom = scalarString(value, key)
            case "access": kind.access = readAccess(value)
            default:
                problem(keyNode, "unknown kind key '\(key)'; expected one of: \(Self.kindKeys.sorted().joined(separator: ", "))")
            }
        }
        if nameMark == nil { nameMark = root.mark }
        checkName(kind.name, what: "kind name", at: mapping["name"] ?? root)
        checkNotSystemColumn(kind.name, what: "kind name", at: mapping["name"] ?? root)
        if Self.reservedKindNamesContain(kind.name) { problem(root, "kind name '\(kind.name)' is reserved (it is a fixed route)") }
        aliasMarks = aliasNodes.map(\.mark)
        for (alias, node) in zip(kind.aliases, aliasNodes) {
            checkName(alias, what: "alias", at: node)
            checkNotSystemColumn(alias, what: "alias", at: node)
            if Self.reservedKindNamesContain(alias) { problem(node, "alias '\(alias)' is reserved (it is a fixed route)") }
            if alias == kind.name { problem(node, "alias '\(alias)' repeats the kind's own name") }
        }
        if let renamed = kind.renamedFrom { checkName(renamed, what: "renamed_from", at: mapping["renamed_from"]) }
        guard let fieldsNode else {
            problem(root, "missing `fields:`; declare at least one field")
            return nil
        }
        guard let fieldMap = fieldsNode.mapping, !fieldMap.isEmpty else {
            problem(fieldsNode, "`fields:` must be a non-empty mapping of field name to definition")
            return nil
        }
        var seen = Set<String>()
        for (nameNode, definition) in fieldMap {
            guard let name = nameNode.string else {
                problem(nameNode, "field names must be strings")
                continue
            }
            checkName(name, what: "field name", at: nameNode)
            checkNotSystemColumn(name, what: "field name", at: nameNode)
            if !seen.insert(name).inserted { problem(nameNode, "duplicate field '\(name)'") }
            if let field = readField(name: name, node: definition) { kind.fields.append(field) }
        }
        checkRenames(kind, fieldMap)
        if let upload = kind.upload { checkUpload(upload, kind: kind, node: mapping["upload"]) }
        if let indexesNode { kind.indexes = readIndexes(indexesNode, kind: kind) }
        return kind
    }

    private static func reservedKindNamesContain(_ name: String) -> Bool { KindLoader.reservedKindNames.contains(name) }

    private mutating func syntaxProblem(_ error: YamlError) -> KindProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return KindProblem(file: file, line: mark.line, column: mark.column, message: "malformed YAML: \(detail)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return KindProblem(
                file: file, line: context.mark.line, column: context.mark.column,
                message: "duplicate keys: \(duplicates.joined(separator: ", "))")
        default:
            return KindProblem(file: file, line: 1, column: 1, message: "malformed YAML: \(error)")
        }
    }

    mutating func checkName(_ name: String, what: String, at node: Node?) {
        if !KindLoader.isValidName(name) {
            problem(
                node, "\(what) '\(name)' must match [a-z][a-z0-9_]{0,47} (lowercase letter, then up to 47 lowercase letters, digits or underscores)")
        }
    }

    /// Every name a kind file declares stays clear of the system columns (docs/kinds.md): a field
    /// would collide with the column, and a kind or alias named `id` or `file` would be a
    /// `filetype` value and URL segment read as the system name beside it (`/api/audio/file/…`).
    mutating func checkNotSystemColumn(_ name: String, what: String, at node: Node?) {
        if SystemColumn.names.contains(name) {
            problem(node, "\(what) '\(name)' clashes with a system column (\(SystemColumn.names.sorted().joined(separator: ", "))); rename it")
        }
    }

    private mutating func checkRenames(_ kind: KindDefinition, _ fieldMap: Node.Mapping) {
        for field in kind.fields {
            guard let old = field.renamedFrom else { continue }
            let node = fieldMap[field.name]?.mapping?["renamed_from"]
            checkName(old, what: "renamed_from", at: node)
            if kind.field(named: old) != nil {
                problem(node, "field '\(field.name)' is renamed_from '\(old)', but '\(old)' is still declared")
            }
        }
    }

    // MARK: scalars

    mutating func scalarString(_ node: Node, _ key: String) -> String? {
        guard case .scalar(let scalar) = node else {
            problem(node, "'\(key)' must be a single value")
            return nil
        }
        return scalar.string
    }

    mutating func stringList(_ node: Node, _ key: String) -> [String] {
        stringNodes(node, key).map(\.string)
    }

    /// A list of strings with the node of each, for problems reported at one entry.
    mutating func stringNodes(_ node: Node, _ key: String) -> [(string: String, node: Node)] {
        guard case .sequence(let seq) = node else {
            problem(node, "'\(key)' must be a list")
            return []
        }
        return seq.compactMap { item in scalarString(item, key).map { (string: $0, node: item) } }
    }

    mutating func nonNegativeInt(_ node: Node, _ key: String) -> Int? {
        guard case .scalar = node, let value = node.int, value >= 0 else {
            problem(node, "'\(key)' must be a whole number ≥ 0")
            return nil
        }
        return value
    }

    mutating func number(_ node: Node, _ key: String) -> Double? {
        guard case .scalar = node else {
            problem(node, "'\(key)' must be a number")
            return nil
        }
        if let i = node.int { return Double(i) }
        if let d = node.float, d.isFinite { return d }
        problem(node, "'\(key)' must be a number")
        return nil
    }

    mutating func boolean(_ node: Node, _ key: String) -> Bool {
        guard case .scalar = node, let b = node.bool else {
            problem(node, "'\(key)' must be true or false")
            return false
        }
        return b
    }
}
