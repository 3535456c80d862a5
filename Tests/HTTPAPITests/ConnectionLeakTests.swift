import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing

/// Requests that PostgreSQL rejects after their statement started (a unique value taken by a
/// concurrent or earlier write) must each give their pooled connection back: a black-box audit
/// found a server that hung for good after enough 409s. This is the end-to-end guard; the leak
/// itself is timing-dependent here (this in-process test did not reproduce it on the old code),
/// and `SharedRoundTripDatabaseTests.statementsFailingAfterTheirFirstRowReturnTheirConnection`
/// reproduces it deterministically.
@Suite struct ConnectionLeakTests {
    static let labelYAML = """
        name: label
        fields:
          code: {type: string, required: true, max_length: 100, unique: true}
          note: {type: string, max_length: 100}
        """

    struct Hung: Error {}

    @Test func manyConflictsLeaveThePoolUsable() async throws {
        try await TestServer.run(extraKinds: ["label.yaml": Self.labelYAML]) { client, _ in
            let kept = try await client.create(#"{"filetype":"label","code":"kept"}"#)
            let mine = try await client.create(#"{"filetype":"label","code":"mine"}"#)
            // The test server's pool has 8 connections; far more conflicts than that, concurrent
            // and sequential, on create (shared statements and single ones) and on PATCH.
            for round in 0..<12 {
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for n in 0..<16 {
                        // Fresh codes and a taken one in the same shared INSERTs: PostgreSQL sends
                        // rows for the fresh ones before it rejects the taken one.
                        group.addTask {
                            try await client.postJSON("/api/audio/create", #"{"filetype":"label","code":"fresh-\#(round)-\#(n)"}"#).status
                        }
                        group.addTask {
                            try await client.postJSON("/api/audio/create", #"{"filetype":"label","code":"kept"}"#).status
                        }
                        group.addTask {
                            try await client.execute(
                                uri: "/api/audio/label/\(mine)", method: .patch,
                                headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"code":"kept"}"#)
                            ).status
                        }
                    }
                    return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .created }.count == 16)
                #expect(statuses.filter { $0 == .conflict }.count == 32)
            }
            // Still answering, well within the time a hung pool would take.
            let answer = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                group.addTask { try await client.get("/api/audio/label/\(kept)").status }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    throw Hung()
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            #expect(answer == .ok)
        }
    }
}
