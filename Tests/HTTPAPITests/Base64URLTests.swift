import Foundation
import Testing

@testable import HTTPAPI

/// The cursor alphabet, held to Foundation's base64 with RFC 4648 §5's substitutions.
@Suite struct Base64URLTests {
    @Test func agreesWithFoundationForEveryLengthUpTo200() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...200 {
            for _ in 0..<5 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let expected = Data(bytes).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
                let encoded = Base64URL.encode(bytes)
                #expect(encoded == expected)
                #expect(Base64URL.decode(Substring(encoded).utf8) == bytes)
            }
        }
    }

    @Test func refusesWhatNoEncoderWrites() {
        for text in ["A", "AAAAA", "AB", "AAC", "a+b/", "QQ==", "Q Q", "é"] {
            #expect(Base64URL.decode(Substring(text).utf8) == nil, "\(text)")
        }
        #expect(Base64URL.decode(Substring("QQ").utf8) == [0x41])
        #expect(Base64URL.decode(Substring("").utf8) == [])
    }
}
