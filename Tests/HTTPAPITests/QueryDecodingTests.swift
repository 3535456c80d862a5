import Foundation
import Testing

@testable import HTTPAPI

/// `ListQueryParser.formDecoded` replaced Foundation's `+`-then-percent decoding on every list
/// request; it must give the same answer, including nil for what Foundation refuses.
/// (`"%A9"` is one of the known cases: Foundation answers U+FFFD, this nil.)
@Suite struct QueryDecodingTests {
    /// Foundation's answer, except that Foundation repairs a few bytes that are not UTF-8 (`%A9`
    /// alone becomes U+FFFD, while `%80` alone is refused): those are refused here, as the API
    /// promises for every escape that is not UTF-8 (the alphabets below contain no U+FFFD).
    static func foundation(_ text: String) -> String? {
        guard let decoded = text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else { return nil }
        return decoded.unicodeScalars.contains("\u{FFFD}") ? nil : decoded
    }

    @Test func knownCasesMatchFoundation() {
        let cases = [
            "", "limit", "50", "duration%5Bgte%5D", "duration%5bgte%5d", "the+host", "the%20host", "a%2Bb", "%E2%82%AC",
            "caf%C3%A9", "%", "%2", "%ZZ", "%G1", "%FF", "%C3", "%C3%28", "100%25", "%00", "+%2B+", "2026-12-06T10:00:00+01:00",
            "ünïcode", "%F0%9F%8E%B5", "%ED%A0%80", "%A9", "a%A9b", "%80",
        ]
        for text in cases {
            #expect(ListQueryParser.formDecoded(Substring(text)) == Self.foundation(text), "\(text)")
        }
        #expect(ListQueryParser.formDecoded("duration%5Bgte%5D") == "duration[gte]")
        #expect(ListQueryParser.formDecoded("%ZZ") == nil)
    }

    /// Random strings from an alphabet heavy in `%`, `+`, hex digits and multi-byte text.
    @Test func randomTextMatchesFoundation() {
        let alphabet = "%%%+0123456789abcdefABCDEFgz é€".map(String.init) + ["%C3", "%A9", "%E2%82", "%AC", "%F0", "%9F"]
        var generator = SystemRandomNumberGenerator()
        var refused = 0
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            let expected = Self.foundation(text)
            if expected == nil { refused += 1 }
            #expect(ListQueryParser.formDecoded(Substring(text)) == expected, "\(text)")
        }
        // Both outcomes were exercised many times.
        #expect(refused > 250 && refused < 4_750, "\(refused)")
    }
}
