import Foundation
import Testing

@testable import KindModel

/// The `sort-needs-index` problem recommends a kind change (`BrowseAdvice`); applied to the YAML,
/// that change must pass the linter — the advice once offered `browse: true` for a text field and
/// beside `index: true`, both of which lint refuses.
@Suite struct BrowseAdviceTests {
    /// Field name → its flow-mapping body, each field unsortable by an index as written.
    static let fields: KeyValuePairs<String, String> = [
        "notes": "type: text",
        "summary": "type: text, max_length: 300, index: true",
        "label": "type: string, max_length: 100, index: true",
        "long": "type: string, max_length: 1000",
        "plays": "type: integer",
        "mood": "type: enum, values: [calm, loud]",
    ]

    static func kind(_ fields: [(String, String)]) -> String {
        "name: sample\nfields:\n" + fields.map { "  \($0.0): {\($0.1)}\n" }.joined()
    }

    /// The YAML change the advice describes, made to one field's body.
    static func apply(_ advice: BrowseAdvice, to body: String) -> String {
        var body = body
        if advice.replacesIndex { body = body.replacingOccurrences(of: ", index: true", with: "") }
        func setMaxLength(_ length: Int) {
            if let range = body.range(of: #"max_length: \d+"#, options: .regularExpression) {
                body.replaceSubrange(range, with: "max_length: \(length)")
            } else {
                body += ", max_length: \(length)"
            }
        }
        switch advice.change {
        case .none: break
        case .lowerMaxLength(let length): setMaxLength(length)
        case .makeString(let length):
            body = body.replacingOccurrences(of: "type: text", with: "type: string")
            setMaxLength(length)
        }
        return body + ", browse: true"
    }

    @Test func everyAdvicePassesTheLinterOnceApplied() throws {
        let original = Self.fields.map { ($0.key, $0.value) }
        #expect(problems(Self.kind(original)).isEmpty, "the kind is valid as written")
        let kind = try #require(try KindLoader.parse([("kinds/sample.yaml", Self.kind(original))]).kind(named: "sample"))
        for (name, body) in original {
            let advice = try #require(BrowseAdvice(sortingBy: name, in: kind), "\(name)")
            let advised = original.map { $0.0 == name ? ($0.0, Self.apply(advice, to: body)) : $0 }
            #expect(problems(Self.kind(advised)).isEmpty, "\(name): \(advice.text) → \(advised)")
            let browsed = try #require(try KindLoader.parse([("kinds/sample.yaml", Self.kind(advised))]).kind(named: "sample"))
            #expect(browsed.field(named: name)?.browse == .both, "\(name)")
        }
    }

    @Test func theTextNamesTheChangeLintWillAccept() throws {
        let kind = try #require(
            try KindLoader.parse([("kinds/sample.yaml", Self.kind(Self.fields.map { ($0.key, $0.value) }))]).kind(named: "sample"))
        func text(_ name: String) -> String { BrowseAdvice(sortingBy: name, in: kind)?.text ?? BrowseAdvice.sortByBrowsingField }
        #expect(
            text("notes").contains("field 'notes' is text, which cannot be browsed")
                && text("notes").contains("`type: string` with `max_length` of at most 671"))
        #expect(text("label").contains("replace `index: true` of field 'label' with `browse: true`") && !text("label").contains("add `browse: true`"))
        #expect(text("long").contains("lower `max_length` of field 'long' to 671 or less"))
        #expect(text("plays").contains("add `browse: true` to field 'plays'"))
        #expect(text("summary").contains("is text") && text("summary").contains("replace `index: true`"))
        // System columns and lists cannot be browsing fields: the advice is another sort.
        #expect(BrowseAdvice(sortingBy: "created_at", in: kind) == nil)
        #expect(BrowseAdvice(sortingBy: "id", in: kind) == nil)
    }
}
