import Foundation
import KindModel
import PostgresNIO
import TestSupport
import Testing

@testable import HTTPAPI

/// A value PostgreSQL refuses as too large for an index (SQLSTATE 54000, "index row size … exceeds
/// btree version 4 maximum 2704") is the client's 400, naming the field, not a 500. The linter
/// keeps the kinds' own indexes within the limit, so these indexes are made by hand, as an
/// operator (or an older engine) might have.
@Suite struct IndexLimitTests {
    static let memo = "name: memo\naccess: {read: public}\nfields:\n  notes: {type: text}\n  title: {type: string, max_length: 100}\n"

    /// `count` random characters of 4 UTF-8 bytes each (noncharacters left out), which PostgreSQL
    /// cannot compress.
    static func incompressible(_ count: Int) -> String {
        var text = ""
        while text.unicodeScalars.count < count {
            let v = UInt32.random(in: 0x10000...0x10FFFF)
            if v & 0xFFFE != 0xFFFE { text.unicodeScalars.append(Unicode.Scalar(v)!) }
        }
        return text
    }

    @Test func aValueTooLargeForAnIndexIsA400NamingTheField() async throws {
        try await TestServer.run(extraKinds: ["memo.yaml": Self.memo]) { client, server in
            _ = try await server.sql { db in
                try await db.query("CREATE INDEX memo_notes_by_hand ON memo (title, notes)", logger: TestDatabase.logger)
            }
            let notes = Self.incompressible(1000)
            let refused = try await client.postJSON("/api/audio/create", #"{"filetype":"memo","title":"t","notes":"\#(notes)"}"#)
            #expect(refused.status == .badRequest && refused.isProblem, "\(refused.status) \(refused.text)")
            #expect(try refused.errorCodes() == ["title:too_large_to_index", "notes:too_large_to_index"], "\(refused.text)")
            let message = try refused.json()["errors"]?.arrayValue?.last?.objectValue?["message"]?.stringValue ?? ""
            #expect(message.contains("memo_notes_by_hand") && message.contains("2704 bytes"), "\(message)")
            // Several at once share an INSERT; each is still answered as if alone.
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let body = i % 2 == 0 ? #"{"filetype":"memo","notes":"\#(notes)"}"# : #"{"filetype":"memo","notes":"short"}"#
                        return try await client.postJSON("/api/audio/create", body).status.code
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }.sorted()
            }
            #expect(answers == [201, 201, 201, 201, 400, 400, 400, 400])
            let id = try await client.create(#"{"filetype":"memo","notes":"short"}"#)
            let patched = try await client.execute(
                uri: "/api/audio/memo/\(id)", method: .patch, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"notes":"\#(notes)"}"#))
            #expect(patched.status == .badRequest, "\(patched.text)")
            #expect(try patched.errorCodes() == ["title:too_large_to_index", "notes:too_large_to_index"], "\(patched.text)")
        }
    }

    @Test func anIndexOnAnExpressionNamesNoFieldButIsStillA400() async throws {
        try await TestServer.run(extraKinds: ["memo.yaml": Self.memo]) { client, server in
            _ = try await server.sql { db in
                try await db.query("CREATE INDEX memo_notes_expression ON memo ((notes || ''))", logger: TestDatabase.logger)
            }
            let refused = try await client.postJSON("/api/audio/create", #"{"filetype":"memo","notes":"\#(Self.incompressible(1000))"}"#)
            #expect(refused.status == .badRequest && refused.isProblem, "\(refused.status) \(refused.text)")
            let problem = try refused.json()
            #expect(problem["type"]?.stringValue?.hasSuffix("/constraint") == true, "\(problem)")
            let detail = problem["detail"]?.stringValue ?? ""
            #expect(detail.contains("larger than the database can hold") && detail.contains("memo_notes_expression"), "\(detail)")
        }
    }
}
