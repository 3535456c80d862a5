public import KindModel

/// How risky a migration step is, printed beside it in the file header.
public enum StepSafety: String, Sendable, Codable {
    /// Cannot fail on existing data and loses nothing.
    case safe
    /// May fail when existing rows break a new rule; applied with `NOT VALID` + `VALIDATE`.
    case dataDependent = "data-dependent"
    /// Loses data (drops a table or a column); generated only with `--allow-destructive`.
    case destructive
}

/// A database object renamed so that its name keeps following the kind and field names
/// (constraint and index names are derived from them; later migrations find objects by name).
public struct ObjectRename: Sendable, Equatable {
    public enum Object: String, Sendable, Equatable {
        /// A table constraint (renaming a UNIQUE or PRIMARY KEY constraint renames its index too).
        case constraint
        case index
        case sequence
    }
    public var object: Object
    public var from: String
    public var to: String

    public init(_ object: Object, from: String, to: String) {
        self.object = object
        self.from = from
        self.to = to
    }
}

/// One change to the database schema, as data (like Django's migration operations):
/// the planner produces steps, and each step knows its SQL, its safety class and its summary.
public enum MigrationStep: Sendable, Equatable {
    /// Creates the `audio_server` schema and the helper functions list constraints call.
    case installHelpers
    case createKind(KindDefinition)
    case dropKind(String)
    case renameKind(from: String, to: String)
    /// Renames constraints, indexes and the id sequence of a table after a kind or field rename.
    case renameObjects(kind: String, renames: [ObjectRename])
    case addField(kind: String, field: FieldDefinition)
    case dropField(kind: String, field: String)
    case renameField(kind: String, from: String, to: String)
    /// A lossless type change (integer → number, string → text, widening `max_length`).
    case changeColumnType(kind: String, field: FieldDefinition, fromSQL: String)
    /// A type change that is lossless only if every existing value fits (narrowing `max_length`,
    /// integer → number beyond ±2^53): a temporary CHECK is validated first, so the migration
    /// fails with the offending rows instead of truncating or rounding anything.
    case guardedChangeColumnType(kind: String, field: FieldDefinition, fromSQL: String, guardCheck: String, reason: String)
    /// Adds NOT NULL; existing NULLs make it fail (validated through a temporary CHECK first).
    case setNotNull(kind: String, field: String)
    /// Fills existing NULLs with the field's default, then adds NOT NULL.
    case fillNullsAndSetNotNull(kind: String, field: FieldDefinition)
    case dropNotNull(kind: String, field: String)
    case setDefault(kind: String, field: FieldDefinition)
    case dropDefault(kind: String, field: String)
    /// A new or tightened rule: existing rows may break it.
    case addConstraint(kind: String, constraint: NamedConstraint)
    /// A rule existing rows cannot break (it is looser than the one it replaces, or its column is new);
    /// still added `NOT VALID` + `VALIDATE` so the result is the same as a fresh table's.
    case addConstraintSafely(kind: String, constraint: NamedConstraint, because: String)
    case dropConstraint(kind: String, name: String, rule: ConstraintRule)
    case createIndex(kind: String, field: String)
    case dropIndex(kind: String, field: String)
    /// Creates the index of an `indexes:` entry.
    case createKindIndex(kind: String, index: KindIndex)
    /// Drops the index of a removed `indexes:` entry; `name` is the one it has in the database
    /// (derived from the committed kind, which a rename in the same migration may have changed).
    case dropKindIndex(kind: String, name: String, index: KindIndex)

    public var safety: StepSafety {
        switch self {
        case .dropKind, .dropField: .destructive
        case .setNotNull, .addConstraint, .guardedChangeColumnType: .dataDependent
        default: .safe
        }
    }

    /// The step in plain words.
    public var summary: String {
        switch self {
        case .installHelpers: "install helper functions in schema \(ServerSchema.name)"
        case .createKind(let k):
            "create kind '\(k.name)' (table with \(k.fields.count) field\(k.fields.count == 1 ? "" : "s"): \(k.fields.map(\.name).joined(separator: ", ")))"
        case .dropKind(let k): "drop kind '\(k)' and ALL its rows"
        case .renameKind(let from, let to): "rename kind '\(from)' to '\(to)' (rows kept)"
        case .renameObjects(let k, let renames):
            "rename \(renames.count) constraint/index/sequence name\(renames.count == 1 ? "" : "s") of '\(k)' to follow the new names: "
                + renames.map { "\($0.from) → \($0.to)" }.joined(separator: ", ")
        case .addField(let k, let f):
            "add field '\(k).\(f.name)' (\(ColumnType.sql(for: f))\(f.required && !f.isList ? ", required" : "")"
                + (f.defaultValue.map { $0 == .null ? "" : ", existing rows get the default \(SQLText.literal($0, for: f))" } ?? "") + ")"
        case .dropField(let k, let f): "drop field '\(k).\(f)' and its values in every row"
        case .renameField(let k, let from, let to): "rename field '\(k).\(from)' to '\(to)' (values kept)"
        case .changeColumnType(let k, let f, let from): "change type of '\(k).\(f.name)' from \(from) to \(ColumnType.sql(for: f)) (lossless)"
        case .guardedChangeColumnType(let k, let f, let from, _, let reason):
            "change type of '\(k).\(f.name)' from \(from) to \(ColumnType.sql(for: f)); fails if \(reason)"
        case .setNotNull(let k, let f): "make '\(k).\(f)' required (NOT NULL); fails if a row has no value"
        case .fillNullsAndSetNotNull(let k, let f):
            "make '\(k).\(f.name)' required (NOT NULL); rows without a value get the default \(f.defaultValue.map { SQLText.literal($0, for: f) } ?? "NULL")"
        case .dropNotNull(let k, let f): "make '\(k).\(f)' optional"
        case .setDefault(let k, let f): "set default of '\(k).\(f.name)' to \(Self.defaultSQL(f) ?? "NULL")"
        case .dropDefault(let k, let f): "drop default of '\(k).\(f)'"
        case .addConstraint(let k, let c): "add constraint \(c.name) on '\(k)' (\(c.rule.rawValue): \(c.definition)); fails if existing rows break it"
        case .addConstraintSafely(let k, let c, let because):
            "add constraint \(c.name) on '\(k)' (\(c.rule.rawValue): \(c.definition)); existing rows satisfy it: \(because)"
        case .dropConstraint(let k, let name, let rule): "drop constraint \(name) on '\(k)' (\(rule.rawValue))"
        case .createIndex(let k, let f): "create index on '\(k).\(f)'"
        case .dropIndex(let k, let f): "drop index on '\(k).\(f)'"
        case .createKindIndex(let k, let index):
            "create index \(FieldConstraints.indexName(table: k, index: index)) on '\(k)' for sorting by [\(index)]"
        case .dropKindIndex(let k, let name, let index): "drop index \(name) on '\(k)' (was for sorting by [\(index)])"
        }
    }

    /// The default expression a field's column has, as `TableDDL` writes it; nil for none.
    public static func defaultSQL(_ field: FieldDefinition, in layout: SchemaLayout = .current) -> String? {
        if field.isList { return field.defaultValue.map { SQLText.literal($0, for: field, in: layout) } ?? "'{}'" }
        guard let d = field.defaultValue, d != .null else { return nil }
        return SQLText.literal(d, for: field, in: layout)
    }

    /// The SQL statements of this step, without trailing semicolons.
    public var sql: [String] { planned.map(\.sql) }

    /// The statements with what each checks of existing rows (`DataProbe`), known from the step
    /// itself: the runner and the dry run read it from the manifest instead of re-reading the SQL.
    public var planned: [PlannedStatement] {
        func table(_ k: String) -> String { SQLText.identifier(k) }
        func col(_ f: String) -> String { SQLText.identifier(f) }
        /// NOT VALID then VALIDATE: the table is not locked against writes while old rows are
        /// checked, and a failure names the constraint, so the runner can count the rows breaking it.
        func checked(_ k: String, _ name: String, _ body: String) -> [PlannedStatement] {
            [
                PlannedStatement("ALTER TABLE \(table(k)) ADD CONSTRAINT \(col(name)) \(body) NOT VALID"),
                PlannedStatement("ALTER TABLE \(table(k)) VALIDATE CONSTRAINT \(col(name))", probe: .validate(table: k, constraint: name)),
            ]
        }
        func addNamed(_ k: String, _ c: NamedConstraint) -> [PlannedStatement] {
            // PostgreSQL has no NOT VALID for UNIQUE: building the index checks every row at once.
            if c.rule == .unique, c.definition.hasPrefix("UNIQUE ("), c.definition.hasSuffix(")") {
                let columns = String(c.definition.dropFirst("UNIQUE (".count).dropLast())
                return [
                    PlannedStatement(
                        "ALTER TABLE \(table(k)) ADD CONSTRAINT \(col(c.name)) \(c.definition)",
                        probe: .unique(table: k, constraint: c.name, columns: columns))
                ]
            }
            return checked(k, c.name, c.definition)
        }
        func plain(_ statements: [String]) -> [PlannedStatement] { statements.map { PlannedStatement($0) } }
        switch self {
        case .installHelpers:
            return plain(HelperFunction.statements)
        case .createKind(let kind):
            return plain(TableDDL.create(kind))
        case .dropKind(let k):
            return plain(["DROP TABLE \(table(k))"])
        case .renameKind(let from, let to):
            return plain(["ALTER TABLE \(table(from)) RENAME TO \(table(to))"])
        case .renameObjects(let k, let renames):
            return plain(
                renames.map {
                    switch $0.object {
                    case .constraint: "ALTER TABLE \(table(k)) RENAME CONSTRAINT \(col($0.from)) TO \(col($0.to))"
                    case .index: "ALTER INDEX \(col($0.from)) RENAME TO \(col($0.to))"
                    case .sequence: "ALTER SEQUENCE \(col($0.from)) RENAME TO \(col($0.to))"
                    }
                })
        case .addField(let k, let f):
            return plain(["ALTER TABLE \(table(k)) ADD COLUMN \(TableDDL.columnDefinition(f))"])
        case .dropField(let k, let f):
            return plain(["ALTER TABLE \(table(k)) DROP COLUMN \(col(f))"])
        case .renameField(let k, let from, let to):
            return plain(["ALTER TABLE \(table(k)) RENAME COLUMN \(col(from)) TO \(col(to))"])
        case .changeColumnType(let k, let f, _):
            // No USING: the assignment cast refuses a value that does not fit instead of
            // truncating it, as an explicit `::varchar(n)` would.
            return plain(["ALTER TABLE \(table(k)) ALTER COLUMN \(col(f.name)) TYPE \(ColumnType.sql(for: f))"])
        case .guardedChangeColumnType(let k, let f, _, let guardCheck, _):
            let name = ConstraintName.make(k, f.name, "type_guard")
            return checked(k, name, "CHECK (\(guardCheck))")
                + plain([
                    "ALTER TABLE \(table(k)) ALTER COLUMN \(col(f.name)) TYPE \(ColumnType.sql(for: f))",
                    "ALTER TABLE \(table(k)) DROP CONSTRAINT \(col(name))",
                ])
        case .setNotNull(let k, let f):
            // A validated CHECK (col IS NOT NULL) lets SET NOT NULL skip its own scan, and a
            // failure is a named check violation the runner can count.
            let name = ConstraintName.make(k, f, "not_null_guard")
            return checked(k, name, "CHECK (\(col(f)) IS NOT NULL)") + [
                PlannedStatement("ALTER TABLE \(table(k)) ALTER COLUMN \(col(f)) SET NOT NULL", probe: .notNull(table: k, column: f)),
                PlannedStatement("ALTER TABLE \(table(k)) DROP CONSTRAINT \(col(name))"),
            ]
        case .fillNullsAndSetNotNull(let k, let f):
            let value = f.defaultValue.map { SQLText.literal($0, for: f) } ?? "NULL"
            return [
                PlannedStatement("UPDATE \(table(k)) SET \(col(f.name)) = \(value) WHERE \(col(f.name)) IS NULL"),
                PlannedStatement("ALTER TABLE \(table(k)) ALTER COLUMN \(col(f.name)) SET NOT NULL", probe: .notNull(table: k, column: f.name)),
            ]
        case .dropNotNull(let k, let f):
            return plain(["ALTER TABLE \(table(k)) ALTER COLUMN \(col(f)) DROP NOT NULL"])
        case .setDefault(let k, let f):
            return plain(["ALTER TABLE \(table(k)) ALTER COLUMN \(col(f.name)) SET DEFAULT \(Self.defaultSQL(f) ?? "NULL")"])
        case .dropDefault(let k, let f):
            return plain(["ALTER TABLE \(table(k)) ALTER COLUMN \(col(f)) DROP DEFAULT"])
        case .addConstraint(let k, let c), .addConstraintSafely(let k, let c, _):
            return addNamed(k, c)
        case .dropConstraint(let k, let name, _):
            return plain(["ALTER TABLE \(table(k)) DROP CONSTRAINT \(col(name))"])
        case .createIndex(let k, let f):
            return plain([TableDDL.createIndex(kind: k, field: f)])
        case .dropIndex(let k, let f):
            return plain(["DROP INDEX \(col(FieldConstraints.indexName(table: k, field: f)))"])
        case .createKindIndex(let k, let index):
            return plain([TableDDL.createIndex(kind: k, index)])
        case .dropKindIndex(_, let name, _):
            return plain(["DROP INDEX \(col(name))"])
        }
    }
}

/// One statement of a step, and what it checks of existing rows (nil: nothing data-dependent).
public struct PlannedStatement: Sendable, Equatable, Codable {
    public var sql: String
    public var probe: DataProbe?

    public init(_ sql: String, probe: DataProbe? = nil) {
        self.sql = sql
        self.probe = probe
    }
}
