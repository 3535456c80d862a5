import Testing

@testable import KindModel

/// `upload.resumable:` only tunes resumable uploads (every kind accepts them).
@Suite struct ResumableLintTests {
    static func kind(_ upload: String) throws -> KindDefinition {
        let catalog = try KindLoader.parse([("kinds/sample.yaml", "name: sample\nfields:\n  d: {type: integer}\nupload:\n\(upload)")])
        return try #require(catalog.kind(named: "sample"))
    }

    @Test func defaultsAndValues() throws {
        #expect(try Self.kind("  max_size: 1GB\n").upload?.resumable == nil)
        #expect(ResumableRules.defaults == ResumableRules(expiresSeconds: 86_400, maxAppend: 64 << 20))
        let tuned = try Self.kind("  resumable:\n    expires: 2h\n    max_append: 8MiB\n").upload?.resumable
        #expect(tuned == ResumableRules(expiresSeconds: 7200, maxAppend: 8 << 20))
        // What is left out keeps its default.
        #expect(try Self.kind("  resumable: {expires: 7d}\n").upload?.resumable == ResumableRules(expiresSeconds: 7 * 86_400))
        for (text, seconds) in [("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86_400), ("1d", 86_400), (" 5 m ", 300)] as [(String, Int64)] {
            #expect(ResumableRules.parseDuration(text) == seconds, "\(text)")
        }
        for text in ["", "0", "-1h", "h", "1.5h", "1w", "99999999999999999999d"] { #expect(ResumableRules.parseDuration(text) == nil, "\(text)") }
    }

    @Test func problems() {
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  resumable: 24h\n", "must be a mapping", line: 4)
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  resumable:\n    expires: soon\n", "expires 'soon' must be a duration", line: 5)
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  resumable:\n    expires: 31d\n", "from 1s to 30d")
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  resumable:\n    max_append: 0\n", "max_append '0' is not a size")
        expectProblem(
            "fields:\n  d: {type: integer}\nupload:\n  resumable:\n    chunk: 1MB\n",
            "unknown upload.resumable key 'chunk'; expected one of: expires, max_append")
    }
}
