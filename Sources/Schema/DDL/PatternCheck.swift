public import KindModel
public import Logging
public import PostgresNIO

/// Compiles every `pattern` of a catalog with PostgreSQL's regular expressions (`SELECT '' ~ $1`).
/// A CHECK constraint with a pattern PostgreSQL cannot compile is accepted on an empty table and then
/// refuses every insert with an error; ICU (the validator) and PostgreSQL disagree on parts of the
/// syntax (`\p{…}`, named groups, possessive quantifiers), so both must compile it.
public enum PatternCheck {
    /// One line per pattern PostgreSQL refuses: `kind.field: pattern '…' …: <PostgreSQL's message>`.
    public static func problems(in kinds: [KindDefinition], on client: PostgresClient, logger: Logger) async throws -> [String] {
        var problems: [String] = []
        for kind in kinds {
            for field in kind.fields {
                guard let pattern = field.rules.pattern else { continue }
                do {
                    _ = try await client.query("SELECT '' ~ \(pattern)", logger: logger).collect()
                } catch let error as PSQLError where error.code == .server {
                    let message = error.serverInfo?[.message] ?? "invalid"
                    problems.append(
                        "\(kind.name).\(field.name)\(field.isList ? " (items)" : ""): pattern '\(pattern)' is not a PostgreSQL regular expression: \(message); use the syntax common to ICU and PostgreSQL (docs/kinds.md)"
                    )
                }
            }
        }
        return problems
    }
}
