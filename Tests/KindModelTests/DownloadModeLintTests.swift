import Testing

@testable import KindModel

/// `upload.download: proxy | redirect`.
@Suite struct DownloadModeLintTests {
    static func kind(_ upload: String) throws -> KindDefinition {
        let catalog = try KindLoader.parse([("kinds/sample.yaml", "name: sample\nfields:\n  d: {type: integer}\nupload:\n\(upload)")])
        return try #require(catalog.kind(named: "sample"))
    }

    @Test func values() throws {
        #expect(try Self.kind("  max_size: 1GB\n").upload?.download == nil)
        #expect(try Self.kind("  download: proxy\n").upload?.download == .proxy)
        #expect(try Self.kind("  download: redirect\n").upload?.download == .redirect)
    }

    @Test func problems() {
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  download: sideways\n", "upload.download 'sideways' must be proxy", line: 4)
        expectProblem("fields:\n  d: {type: integer}\nupload:\n  download: [redirect]\n", "download")
    }
}
