import Foundation
import KindModel
import PostgresNIO
import TestSupport
import Testing

@testable import Schema

/// `IndexEntrySize` against a real PostgreSQL: the longest values the linter lets each index
/// declaration hold are stored, and where the rule is exact, one character more is refused with
/// SQLSTATE 54000 — so the rule is never below PostgreSQL's limit, and not needlessly above it.
@Suite struct IndexEntrySizeDatabaseTests {
    /// Every kind of declaration at the largest `max_length` lint accepts for it.
    static let edge = """
        name: edge
        fields:
          tagged: {type: string, max_length: 673, index: true}
          code: {type: text, max_length: 673, unique: true}
          browsed: {type: string, max_length: 671, browse: true}
          a: {type: string, max_length: 223}
          b: {type: string, max_length: 223}
          c: {type: string, max_length: 223}
        indexes:
          - [a, b, c]
        """

    /// `count` random characters of 4 UTF-8 bytes each (noncharacters left out), which
    /// PostgreSQL's compression of long index values cannot shrink.
    static func worstCase(_ count: Int) -> String {
        var text = ""
        while text.unicodeScalars.count < count {
            let v = UInt32.random(in: 0x10000...0x10FFFF)
            if v & 0xFFFE != 0xFFFE { text.unicodeScalars.append(Unicode.Scalar(v)!) }
        }
        return text
    }

    @Test func theLargestValuesLintAllowsAreStored() async throws {
        #expect(try kinds(Self.edge).kinds.count == 1, "lint accepts every declaration at its limit")
        try await withFixture("ixsize") { f in
            try await f.migrate(try kinds(Self.edge))
            for _ in 0..<3 {
                let values = [673, 673, 671, 223, 223, 223].map { "'\(Self.worstCase($0))'" }.joined(separator: ", ")
                try await f.execute("INSERT INTO edge (tagged, code, browsed, a, b, c) VALUES (\(values))")
            }
            #expect(try await f.column("SELECT count(*)::text FROM edge") == ["3"])
        }
    }

    @Test func oneCharacterMoreIsRefusedByPostgreSQL() async throws {
        try await withFixture("ixsize-over") { f in
            // The same indexes without the kinds' length CHECKs, as one made by hand would be.
            try await f.execute(
                "CREATE TABLE raw (id bigint PRIMARY KEY, s text, t text)", "CREATE INDEX raw_s ON raw (s)", "CREATE INDEX raw_t_id ON raw (t, id)")
            try await f.execute("INSERT INTO raw VALUES (1, '\(Self.worstCase(673))', '\(Self.worstCase(671))')")
            for (id, column, length) in [(2, "s", 674), (3, "t", 672)] {
                do {
                    try await f.execute("INSERT INTO raw (id, \(column)) VALUES (\(id), '\(Self.worstCase(length))')")
                    Issue.record("\(column) of \(length) characters was stored")
                } catch let error as PSQLError {
                    #expect(error.serverInfo?[.sqlState] == "54000", "\(String(reflecting: error))")
                    #expect(error.serverInfo?[.message]?.contains("maximum \(IndexEntrySize.limit)") == true, "\(String(reflecting: error))")
                }
            }
        }
    }
}
