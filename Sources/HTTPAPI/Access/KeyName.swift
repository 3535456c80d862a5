/// What an API key's name may be, written once: `KeyRequest.parse` checks it and the OpenAPI
/// request schema states it (`APIKeyRequest.name`), so the contract accepts exactly what the server
/// does. Before, the check counted grapheme clusters and refused Unicode digits (`½`), vertical tabs
/// and U+2028 where the schema's pattern allowed them, and schemathesis drew names the schema called
/// valid that the server refused.
enum KeyName {
    /// In Unicode code points, as JSON Schema's `maxLength` counts.
    static let maxLength = 100

    /// A name is on one line: none of the line breaks Swift's `Character.isNewline` knows.
    static let lineBreaks: [Unicode.Scalar] = ["\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}"]

    /// A name of only ASCII digits would read as an id (`audio-server keys revoke 12`).
    static func accepts(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        return (1...maxLength).contains(scalars.count)
            && !scalars.allSatisfy { ("0"..."9").contains($0) }
            && !scalars.contains { lineBreaks.contains($0) }
    }

    /// `accepts` as an ECMA-262 pattern that Python's `re` (schemathesis, jsonschema) reads the same
    /// way: `(?![\s\S])` is the end of the text, where Python's `$` would also match before a
    /// final newline. The length is the schema's `minLength` / `maxLength`.
    static let pattern: String = {
        let breaks = lineBreaks.map { scalar in
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
        return "^(?![0-9]+(?![\\s\\S]))[^\(breaks.joined())]+(?![\\s\\S])"
    }()

    static let problem = "'name' must be 1–\(maxLength) characters on one line, not only digits (digits are ids)"
}
