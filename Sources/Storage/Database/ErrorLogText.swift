import PostgresNIO

/// How an error is written into a log line. PostgresNIO's `String(reflecting:)` of a `PSQLError`
/// carries the whole statement text, which for a list page with many filters ran to megabytes per
/// line: this keeps what a reader needs (code, SQLSTATE, message, where in our code) and names the
/// statement by its first words only.
public enum ErrorLogText {
    public static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return String(reflecting: error) }
        var parts = ["PSQLError \(psql.code)"]
        if let info = psql.serverInfo {
            if let state = info[.sqlState] { parts.append("SQLSTATE \(state)") }
            if let message = info[.message] { parts.append(message) }
            if let constraint = info[.constraintName] { parts.append("constraint \(constraint)") }
        }
        if let underlying = psql.underlying { parts.append("cause: \(underlying)") }
        if let query = psql.query?.sql { parts.append("statement: \(query.prefix(80))\(query.count > 80 ? "…" : "")") }
        if let file = psql.file, let line = psql.line { parts.append("at \(file.split(separator: "/").last ?? ""):\(line)") }
        return parts.joined(separator: "; ")
    }
}
