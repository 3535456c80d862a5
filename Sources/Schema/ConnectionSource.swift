public import PostgresNIO

/// Where record statements get a PostgreSQL connection: the server's `DatabasePool`, or a
/// `PostgresClient` (the short-lived commands and some tests). The connection is leased for the
/// closure's lifetime and must not escape it.
public protocol ConnectionSource: Sendable {
    func lease<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result
}

extension PostgresClient: ConnectionSource {
    public func lease<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withConnection(isolation: nil) { connection in try await body(connection) }
    }
}
