import Foundation
public import Logging
public import PostgresNIO

/// The parts of a PostgreSQL schema that migrations manage, read from `pg_catalog`: tables with
/// their columns (type, nullability, default, identity), named constraints, indexes, and sequences.
///
/// Column *order* is not part of it: `ALTER TABLE ... ADD COLUMN` can only append, so a field
/// added later sits after the system columns, while a fresh table lists fields first. Nothing
/// reads columns by position (records are built from the kind's field order).
public struct DatabaseCatalog: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        /// `format_type` text: `character varying(100)`, `bigint`, `text[]`, ...
        public var type: String
        public var notNull: Bool
        /// `pg_get_expr` of the default, nil for none.
        public var defaultExpression: String?
        /// `a` (always), `d` (by default) or empty: the identity kind.
        public var identity: String
    }

    public struct Constraint: Sendable, Equatable {
        /// `c` check, `u` unique, `p` primary key, `f` foreign key, `x` exclusion.
        public var type: String
        /// `pg_get_constraintdef` text (ends with `NOT VALID` while not validated).
        public var definition: String
        public var validated: Bool
    }

    public struct Table: Sendable, Equatable {
        public var columns: [String: Column] = [:]
        public var constraints: [String: Constraint] = [:]
        /// Index name → `pg_get_indexdef` with the schema qualifier removed.
        public var indexes: [String: String] = [:]
    }

    public var tables: [String: Table] = [:]
    /// Sequence names (identity sequences included), sorted.
    public var sequences: [String] = []

    public init(tables: [String: Table] = [:], sequences: [String] = []) {
        self.tables = tables
        self.sequences = sequences
    }

    /// Reads the catalog of `schema` on `connection`.
    public static func introspect(
        schema: String = "public", on connection: PostgresConnection,
        logger: Logger
    ) async throws -> DatabaseCatalog {
        var catalog = DatabaseCatalog()
        let tables = try await connection.query(
            """
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema) AND c.relkind IN ('r', 'p')
            """, logger: logger)
        for try await name in tables.decode(String.self) { catalog.tables[name] = Table() }

        let columns = try await connection.query(
            """
            SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attidentity::text
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE n.nspname = \(schema) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
            """, logger: logger)
        for try await (table, name, type, notNull, def, identity) in columns.decode((String, String, String, Bool, String?, String).self) {
            catalog.tables[table, default: Table()].columns[name] = Column(type: type, notNull: notNull, defaultExpression: def, identity: identity)
        }

        let constraints = try await connection.query(
            """
            SELECT c.relname::text, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid), con.convalidated
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema)
            """, logger: logger)
        for try await (table, name, type, definition, validated) in constraints.decode((String, String, String, String, Bool).self) {
            catalog.tables[table, default: Table()].constraints[name] = Constraint(type: type, definition: definition, validated: validated)
        }

        let indexes = try await connection.query(
            """
            SELECT t.relname::text, i.relname::text, pg_get_indexdef(i.oid), quote_ident(n.nspname)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = \(schema)
            """, logger: logger)
        for try await (table, name, definition, quotedSchema) in indexes.decode((String, String, String, String).self) {
            let unqualified = definition.replacingOccurrences(of: " ON \(quotedSchema).", with: " ON ")
            catalog.tables[table, default: Table()].indexes[name] = unqualified
        }

        let sequences = try await connection.query(
            """
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema) AND c.relkind = 'S' ORDER BY 1
            """, logger: logger)
        for try await name in sequences.decode(String.self) { catalog.sequences.append(name) }
        catalog.sequences.sort()
        return catalog
    }

    /// Every way `actual` differs from `self` (the expected catalog), one line each, sorted.
    /// Empty when they are the same.
    public func differences(from actual: DatabaseCatalog, ignoringTables ignored: Set<String> = []) -> [String] {
        var out: [String] = []
        func describe(_ c: Column) -> String {
            var s = c.type + (c.notNull ? " NOT NULL" : "")
            if let d = c.defaultExpression { s += " DEFAULT \(d)" }
            if !c.identity.isEmpty { s += " IDENTITY(\(c.identity))" }
            return s
        }
        for name in Set(tables.keys).union(actual.tables.keys).sorted() where !ignored.contains(name) {
            guard let want = tables[name] else {
                out.append("table \"\(name)\" exists in the database, but no migration creates it")
                continue
            }
            guard let have = actual.tables[name] else {
                out.append("table \"\(name)\" is missing from the database")
                continue
            }
            for col in Set(want.columns.keys).union(have.columns.keys).sorted() {
                switch (want.columns[col], have.columns[col]) {
                case (let w?, let h?) where w != h:
                    out.append("table \"\(name)\": column \"\(col)\" is \(describe(h)) in the database, but the migrations make it \(describe(w))")
                case (nil, _?): out.append("table \"\(name)\": column \"\(col)\" exists in the database, but no migration creates it")
                case (_?, nil): out.append("table \"\(name)\": column \"\(col)\" is missing from the database")
                default: break
                }
            }
            for con in Set(want.constraints.keys).union(have.constraints.keys).sorted() {
                switch (want.constraints[con], have.constraints[con]) {
                case (let w?, let h?) where w != h:
                    out.append(
                        "table \"\(name)\": constraint \"\(con)\" is \(h.definition) in the database, but the migrations make it \(w.definition)")
                case (nil, let h?):
                    out.append("table \"\(name)\": constraint \"\(con)\" (\(h.definition)) exists in the database, but no migration creates it")
                case (let w?, nil): out.append("table \"\(name)\": constraint \"\(con)\" (\(w.definition)) is missing from the database")
                default: break
                }
            }
            for index in Set(want.indexes.keys).union(have.indexes.keys).sorted() {
                switch (want.indexes[index], have.indexes[index]) {
                case (let w?, let h?) where w != h:
                    out.append("table \"\(name)\": index \"\(index)\" is `\(h)` in the database, but the migrations make it `\(w)`")
                case (nil, let h?): out.append("table \"\(name)\": index \"\(index)\" (`\(h)`) exists in the database, but no migration creates it")
                case (let w?, nil): out.append("table \"\(name)\": index \"\(index)\" (`\(w)`) is missing from the database")
                default: break
                }
            }
        }
        let wantSeq = Set(sequences)
        let haveSeq = Set(actual.sequences)
        for s in wantSeq.subtracting(haveSeq).sorted() { out.append("sequence \"\(s)\" is missing from the database") }
        for s in haveSeq.subtracting(wantSeq).sorted() where !ignored.contains(where: { s.hasPrefix($0 + "_") }) {
            out.append("sequence \"\(s)\" exists in the database, but no migration creates it")
        }
        return out
    }
}
