/// Splits a migration file into statements: PostgreSQL's extended protocol runs one statement per
/// query. Aware of quotes, quoted identifiers, comments and dollar-quoted bodies, so a `;` inside
/// a function body or a string does not split.
public enum SQLStatementSplitter {
    public static func split(_ sql: String) -> [String] {
        let chars = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var i = 0
        func flush() {
            let text = String(current).trimmingWhitespace()
            if !text.isEmpty && !isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        while i < chars.count {
            let c = chars[i]
            let next: Unicode.Scalar? = i + 1 < chars.count ? chars[i + 1] : nil
            if c == "-" && next == "-" {
                while i < chars.count && chars[i] != "\n" {
                    current.append(chars[i])
                    i += 1
                }
                continue
            }
            if c == "/" && next == "*" {
                var depth = 0
                repeat {
                    if chars[i] == "/" && i + 1 < chars.count && chars[i + 1] == "*" {
                        depth += 1
                        current.append(chars[i])
                        i += 1
                    } else if chars[i] == "*" && i + 1 < chars.count && chars[i + 1] == "/" {
                        depth -= 1
                        current.append(chars[i])
                        i += 1
                    }
                    current.append(chars[i])
                    i += 1
                } while i < chars.count && depth > 0
                continue
            }
            if c == "'" || c == "\"" {
                // E'...' strings allow backslash escapes (E'it\'s'); standard strings do not.
                let escapes =
                    c == "'" && i > 0 && (chars[i - 1] == "E" || chars[i - 1] == "e")
                    && (i < 2 || !isIdentifierScalar(chars[i - 2]))
                current.append(c)
                i += 1
                while i < chars.count {
                    current.append(chars[i])
                    if escapes && chars[i] == "\\" && i + 1 < chars.count {
                        current.append(chars[i + 1])
                        i += 2
                        continue
                    }
                    if chars[i] == c {
                        if i + 1 < chars.count && chars[i + 1] == c {
                            current.append(chars[i + 1])
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    i += 1
                }
                continue
            }
            if c == "$", let tagEnd = dollarTagEnd(chars, from: i) {
                let tag = chars[i...tagEnd]
                current.append(contentsOf: tag)
                i = tagEnd + 1
                while i < chars.count {
                    if chars[i] == "$", i + tag.count <= chars.count, chars[i..<i + tag.count].elementsEqual(tag) {
                        current.append(contentsOf: tag)
                        i += tag.count
                        break
                    }
                    current.append(chars[i])
                    i += 1
                }
                continue
            }
            if c == ";" {
                flush()
                i += 1
                continue
            }
            current.append(c)
            i += 1
        }
        flush()
        return statements
    }

    /// A statement without the `--` comment lines before it (the step summaries of a generated
    /// file), trimmed: what to show in an error and to match against.
    public static func stripComments(_ statement: String) -> String {
        var lines = statement.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let first = lines.first, first.trimmingWhitespace().isEmpty || first.trimmingWhitespace().hasPrefix("--") {
            lines = lines.dropFirst()
        }
        return lines.joined(separator: "\n").trimmingWhitespace()
    }

    /// The `--` comment lines before a statement, without the dashes (empty when there are none).
    public static func leadingComments(_ statement: String) -> [String] {
        var out: [String] = []
        for line in statement.split(separator: "\n") {
            let t = line.trimmingWhitespace()
            if t.isEmpty { continue }
            guard t.hasPrefix("--") else { break }
            out.append(String(t.dropFirst(2)).trimmingWhitespace())
        }
        return out
    }

    private static func isIdentifierScalar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c == "$" || c.properties.isAlphabetic || ("0"..."9").contains(c)
    }

    /// `$tag$` or `$$` starting at `start`: index of the closing `$` of the opening tag.
    private static func dollarTagEnd(_ chars: [Unicode.Scalar], from start: Int) -> Int? {
        var j = start + 1
        while j < chars.count {
            let c = chars[j]
            if c == "$" { return j }
            guard c == "_" || c.properties.isAlphabetic || (j > start + 1 && ("0"..."9").contains(c)) else { return nil }
            j += 1
        }
        return nil
    }

    private static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { $0.trimmingWhitespace().isEmpty || $0.trimmingWhitespace().hasPrefix("--") }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
