import Foundation
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

@testable import HTTPAPI

/// `STATEMENT_TIMEOUT`: a list whose filters no index serves is stopped by PostgreSQL instead of
/// holding a pooled connection for as long as the table takes to read (issue 21's "behave
/// predictably"); a write stuck behind a lock is rolled back and may be retried.
@Suite struct StatementTimeoutTests {
    /// 100 `contains` filters over 60,000 songs take PostgreSQL well over a second on this machine
    /// (each row is lowered and searched 100 times); 150 ms stops it.
    @Test func aListThatReadsTheWholeTableIsStoppedWithAProblemThatSaysHowToNarrowIt() async throws {
        try await TestServer.run(statementTimeout: 150) { client, server in
            try await server.sql { db in
                try await db.query(
                    "INSERT INTO song (name, duration) SELECT 'song ' || g, 1 + g % 3600 FROM generate_series(1, 60000) g",
                    logger: TestDatabase.logger)
            }
            let many = Array(repeating: "name%5Bcontains%5D=ong", count: 99).joined(separator: "&")
            let rare = "name%5Bcontains%5D=zzzz"
            // (PostgreSQL tests the filters in their order and stops at the first false one, so the rare one goes last.)
            for query in ["\(many)&\(rare)&sort=duration", "\(many)&\(rare)&count=exact&limit=1", "\(many)&\(rare)"] {
                let started = ContinuousClock.now
                let slow = try await client.get("/api/audio/song?\(query)")
                #expect(slow.status == .badRequest && slow.isProblem, "\(slow.status) \(slow.text.prefix(300))")
                let problem = try slow.json()
                #expect(problem["type"]?.stringValue?.hasSuffix("/problems/query-too-slow") == true, "\(problem)")
                let detail = problem["detail"]?.stringValue ?? ""
                #expect(detail.contains("statement timeout") && detail.contains("browsing field"), "\(detail)")
                #expect(try slow.errorCodes() == ["query:too_slow"])
                // Stopped at the timeout, not when the scan would have ended (seconds); generous for a loaded machine.
                #expect(ContinuousClock.now - started < .seconds(5))
            }
            // The pool is fine afterwards, and pages an index serves are unaffected.
            let page = try await client.get("/api/audio/song?duration%5Bgte%5D=3000&sort=duration&limit=5")
            #expect(page.status == .ok, "\(page.text)")
            #expect(try page.json()["items"]?.arrayValue?.count == 5)
        }
    }

    /// A PATCH waiting on a row another transaction holds runs into the timeout: 503 with
    /// `Retry-After`, nothing changed, and the same PATCH succeeds once the lock is gone.
    @Test func aWriteStuckBehindALockIsRolledBackWithARetryableProblem() async throws {
        try await TestServer.run(statementTimeout: 200) { client, server in
            let id = try await client.create(#"{"filetype":"song","name":"Held","duration":60}"#)
            let answer: TestResponse = try await server.sql { db in
                try await db.withConnection { connection in
                    try await connection.query("BEGIN", logger: TestDatabase.logger)
                    try await connection.query("SELECT 1 FROM song WHERE id = \(id) FOR UPDATE", logger: TestDatabase.logger)
                    let answer = try await client.execute(
                        uri: "/api/audio/song/\(id)", method: .patch, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"name":"Changed"}"#))
                    try await connection.query("ROLLBACK", logger: TestDatabase.logger)
                    return answer
                }
            }
            #expect(answer.status == .serviceUnavailable && answer.isProblem, "\(answer.status) \(answer.text)")
            #expect(try answer.json()["type"]?.stringValue?.hasSuffix("/problems/database-busy") == true, "\(answer.text)")
            #expect(answer.headers[.retryAfter] == "1")
            #expect(try await client.get("/api/audio/song/\(id)").json()["name"] == "Held")
            let retried = try await client.execute(
                uri: "/api/audio/song/\(id)", method: .patch, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"name":"Changed"}"#))
            let renamed = try retried.json()["name"]
            #expect(retried.status == .ok && renamed == "Changed", "\(retried.text)")
        }
    }
}
