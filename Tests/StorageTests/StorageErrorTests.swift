import Logging
import PostgresNIO
@testable import Storage
import Testing
import TestSupport

/// Which database failures are the client's (4xx), which mean "PostgreSQL is unreachable" (503),
/// and which are bugs (500): classified from real PostgresNIO errors, not hand-made ones.
@Suite struct StorageErrorTests {
    @Test func aRefusedConnectionIsUnavailability() async throws {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let configuration = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "nobody",
                                                             password: nil, database: nil, tls: .disable)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test"))
            try await connection.close()
            Issue.record("connected to 127.0.0.1:1")
        } catch {
            #expect(StorageError.unavailability(of: error) != nil, "\(String(reflecting: error))")
            #expect(StorageError.from(error, kind: "song") == nil)
        }
    }

    @Test func valueAndSyntaxErrorsAreNotUnavailability() async throws {
        let url = try await TestDatabase.create(label: "storage-error")
        try await TestDatabase.withClient(url) { client in
            do {
                try await client.query("SELECT 'abc'::bigint")
                Issue.record("no error")
            } catch {
                #expect(StorageError.unavailability(of: error) == nil)
                guard case .invalidValue(let message)? = StorageError.from(error, kind: "song") else {
                    Issue.record("not mapped to invalidValue: \(String(reflecting: error))")
                    return
                }
                #expect(message.contains("bigint"))
            }
            do {
                try await client.query("SELEC 1")
                Issue.record("no error")
            } catch {
                #expect(StorageError.unavailability(of: error) == nil && StorageError.from(error, kind: "song") == nil)
            }
        }
    }
}
