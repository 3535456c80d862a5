import Testing

@testable import KindModel

/// Every index declaration — `index: true`, `unique: true`, `browse:`, an `indexes:` entry — is held
/// to PostgreSQL's 2,704-byte b-tree entry (`IndexEntrySize`): a worst-case value that cannot fit
/// is refused at the declaration as FILE:LINE:COL, instead of a 500 on the first write of one.
@Suite struct IndexSizeLintTests {
    /// The kind of the audit that found the gap: each declaration on its own line.
    static let memo = """
        name: memo
        access: {read: public}
        fields:
          notes: {type: text, index: true}
          body:  {type: text}
          a: {type: string, max_length: 600}
          b: {type: string, max_length: 600}
          c: {type: string, max_length: 600}
          big: {type: string, max_length: 5000, unique: true}
        indexes:
          - [body]
          - [a, b, c]
        """

    @Test func everyDeclarationThatCanPassTheLimitIsRefusedWhereItIsWritten() {
        let found = problems(Self.memo, file: "kinds/memo.yaml")
        #expect(found.count == 4, "\(found)")
        func expect(_ prefix: String, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(
                found.contains { problem in problem.hasPrefix(prefix) && fragments.allSatisfy(problem.contains) },
                "expected \(prefix) with \(fragments), got \(found)", sourceLocation: sourceLocation)
        }
        expect(
            "kinds/memo.yaml:4:30: field 'notes': `index: true` cannot index every value",
            ["'notes' has no size bound", "give 'notes' `max_length` of at most 673", "or remove `index: true`", "2704 bytes"])
        expect(
            "kinds/memo.yaml:9:49: field 'big': `unique: true`",
            ["an entry can take up to 20016 bytes", "lower max_length of 'big' to 673 or less", "or remove `unique: true`"])
        expect("kinds/memo.yaml:11:5: index [body]", ["'body' has no size bound", "give 'body' `max_length` of at most 671", "or remove the entry"])
        expect(
            "kinds/memo.yaml:12:5: index [a, b, c]",
            ["an entry can take up to 7232 bytes", "lower the max_length of 'a', 'b', 'c' (each at most 223 fits)", "or remove the entry"])
    }

    /// The advised lengths are the boundary: one character more is refused.
    @Test func theAdvisedLengthsFitAndOneMoreDoesNot() {
        func kind(_ fields: String, indexes: String = "") -> String { "name: sample\nfields:\n\(fields)" + indexes }
        #expect(problems(kind("  t: {type: text, max_length: 673, index: true}\n")).isEmpty)
        expectProblem(kind("  t: {type: text, max_length: 674, index: true}\n"), "lower max_length of 't' to 673 or less", line: 3)
        #expect(problems(kind("  s: {type: string, max_length: 673, unique: true}\n")).isEmpty)
        expectProblem(kind("  s: {type: string, max_length: 674, unique: true}\n"), "`unique: true` cannot index every value", line: 3)
        #expect(problems(kind("  s: {type: string, max_length: 671, browse: true}\n")).isEmpty)
        expectProblem(kind("  s: {type: string, max_length: 672, browse: true}\n"), "lower max_length of 's' to 671 or less", line: 3)
        let three = "  a: {type: string, max_length: 223}\n  b: {type: string, max_length: 223}\n  c: {type: string, max_length: LEN}\n"
        #expect(problems(kind(three.replacingOccurrences(of: "LEN", with: "223"), indexes: "indexes:\n  - [a, b, c]\n")).isEmpty)
        expectProblem(
            kind(three.replacingOccurrences(of: "LEN", with: "224"), indexes: "indexes:\n  - [a, b, c]\n"), "index [a, b, c] cannot index", line: 7)
        // Fixed-width keys and the appended id count too; an entry ending in id gets no second one.
        let wide = "  s: {type: string, max_length: 670}\n  n: {type: integer}\n"
        #expect(problems(kind(wide, indexes: "indexes:\n  - [s, n]\n")).count == 1, "8 + 4 + 2680, padded to 2696, + 8 + 8 (id) > 2704")
        #expect(problems(kind(wide, indexes: "indexes:\n  - [s, id]\n")).isEmpty, "8 + 4 + 2680, padded to 2696, + 8")
    }

    @Test func listsAndEnumsAreSizedByTheirRules() {
        func kind(_ field: String) -> String { "name: sample\nfields:\n  f: {\(field)}\n" }
        expectProblem(kind("type: list, items: {type: integer}, index: true"), "list 'f' has no size bound (no `max_items`)", line: 3)
        #expect(problems(kind("type: list, items: {type: integer}, max_items: 100, index: true")).isEmpty)
        expectProblem(
            kind("type: list, items: {type: string}, max_items: 10, index: true"), "lower the sizes of 'f' (`max_items`, items' `max_length`)")
        #expect(problems(kind("type: enum, values: [a, b], index: true, unique: true")).isEmpty)
    }

    @Test func theBrowseLimitIsTheSameRule() {
        #expect(IndexEntrySize.largestBrowsableStringLength == 671)
        let string = FieldDefinition(name: "s", type: .string, rules: ValueRules(maxLength: 671))
        #expect(IndexEntrySize.worstCase([string, KindDefinition.idColumn]) == IndexEntrySize.limit)
    }

    @Test func shippedKindsPass() throws {
        let catalog = try KindLoader.load(directory: repoRoot + "/kinds")
        for kind in catalog.kinds {
            for field in kind.fields where field.index || field.unique {
                #expect(IndexEntrySize.fits([field]), "\(kind.name).\(field.name)")
            }
            for index in kind.allIndexes {
                #expect(IndexEntrySize.fits(kind.indexColumns(index.keys.map(\.field), appendsID: index.needsIDTiebreaker)), "\(index)")
            }
        }
    }
}
