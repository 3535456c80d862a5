/// A field's `pattern` is checked twice: by ICU in the server (`RecordValidator`) and by PostgreSQL's
/// regular expressions in the table's CHECK constraint. The two dialects share most syntax, and a
/// pattern that only one of them compiles is caught by compiling it with both (the reader with ICU,
/// `migrate check`/`generate`/`apply` with PostgreSQL: `PatternCheck`). What compiles in both but
/// *means* something else is refused here, by name.
public enum PatternDialect {
    /// Escapes both dialects accept with different meanings, and what to write instead.
    static let divergentEscapes: [Character: String] = [
        "b": "`\\b` is a word boundary in ICU but a backspace in PostgreSQL; spell the boundary out, e.g. `(^|[^A-Za-z0-9_])`",
        "B": "`\\B` is a non-boundary in ICU but a backslash in PostgreSQL; write `\\\\` for a backslash",
        "Z": "`\\Z` also matches before a final newline in ICU but only at the very end in PostgreSQL; use `$`",
    ]

    /// Why `pattern` would mean different things to the server and the database, or nil.
    public static func divergence(in pattern: String) -> String? {
        var escaped = false
        for character in pattern {
            if escaped {
                if let why = divergentEscapes[character] { return why }
                escaped = false
            } else if character == "\\" {
                escaped = true
            }
        }
        return nil
    }
}
