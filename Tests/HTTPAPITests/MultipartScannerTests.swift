import Testing

@testable import HTTPAPI

/// `MultipartScanner` on its own: every way a body can be cut into chunks gives the same parts.
@Suite struct MultipartScannerTests {
    struct Part: Equatable {
        var headers: [String] = []
        var body: [UInt8] = []
    }

    /// Feeds `body` in chunks of the given sizes (cycled) and collects the parts.
    static func parse(_ body: [UInt8], boundary: String = "XyZ", chunks: [Int]) throws -> (parts: [Part], closed: Bool, open: Part?) {
        var scanner = MultipartScanner(boundary: boundary)
        var parts: [Part] = []
        var current: Part?
        var offset = 0
        var k = 0
        while offset < body.count {
            let n = min(max(1, chunks[k % chunks.count]), body.count - offset)
            k += 1
            try body[offset..<offset + n].withUnsafeBytes { bytes in
                try scanner.feed(bytes) { event in
                    switch event {
                    case .header(let name, let value):
                        current = current ?? Part()
                        current!.headers.append("\(name)=\(value)")
                    case .body(let b):
                        current = current ?? Part()
                        current!.body += Array(b)
                    case .partComplete:
                        parts.append(current ?? Part())
                        current = nil
                    }
                }
            }
            offset += n
        }
        return (parts, scanner.isClosed, current)
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Bodies full of what looks like a delimiter: CR, LF, '--', the boundary's prefixes.
    static let trickyData: [UInt8] = bytes("\r\n\r\n--\r\n--X\r\n--Xy\r\n--XyY\r--XyZ\n-") + (0...255).map(UInt8.init) + bytes("\r\n--Xy")

    static func sample() -> [UInt8] {
        bytes("preamble text\r\n--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n--XyZ  \r\n")
            + bytes("Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n")
            + trickyData
            + bytes("\r\n--XyZ\r\n\r\nno headers\r\n--XyZ--\r\nepilogue \r\n--XyZ\r\n ignored")
    }

    static let expected = [
        Part(headers: ["content-disposition=form-data; name=\"title\""], body: bytes("hello")),
        Part(headers: ["content-disposition=form-data; name=\"file\"; filename=\"a.wav\"", "content-type=audio/wav"], body: trickyData),
        Part(headers: [], body: bytes("no headers")),
    ]

    @Test(arguments: [[1], [2], [3], [7], [13], [64], [1 << 20], [1, 5, 2, 11, 3], [17, 1, 1, 40]])
    func sameParts(chunks: [Int]) throws {
        let result = try Self.parse(Self.sample(), chunks: chunks)
        #expect(result.parts == Self.expected)
        #expect(result.closed)
    }

    @Test func bodyMayStartWithTheDelimiterAndPartsMayBeEmpty() throws {
        let result = try Self.parse(Self.bytes("--XyZ\r\nA: 1\r\n\r\n\r\n--XyZ\r\nB: 2\r\n continued\r\n\r\nx\r\n--XyZ--"), chunks: [4])
        #expect(result.parts == [Part(headers: ["a=1"], body: []), Part(headers: ["b=2 continued"], body: Self.bytes("x"))])
        #expect(result.closed)
    }

    @Test func aCutBodyIsNotClosedAndKeepsItsOpenPart() throws {
        let body = Self.sample()
        let cut = Array(body[..<(body.count - 120)])
        let result = try Self.parse(cut, chunks: [9])
        #expect(!result.closed)
        #expect(result.parts.count == 1)
        // The open file part got its headers and bytes short of where a delimiter could begin.
        #expect(result.open?.headers.count == 2)
    }

    @Test func malformedBodiesAreRefused() {
        let cases: [[UInt8]] = [
            Self.bytes("--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--"),
            Self.bytes("--XyZgarbage\r\n\r\nx\r\n--XyZ--"),
            Self.bytes("--XyZ") + Array(repeating: UInt8(ascii: " "), count: 300) + Self.bytes("\r\n\r\nx\r\n--XyZ--"),
            Self.bytes("--XyZ\r\n") + Array(repeating: UInt8(ascii: "a"), count: MultipartScanner.maxHeaderBytes + 10),
            Array(repeating: UInt8(ascii: "p"), count: MultipartScanner.maxPreambleBytes + 100),
        ]
        // Refused however the body is cut into chunks.
        for body in cases {
            for chunks in [[1], [5, 1000], [1 << 20]] {
                #expect(throws: MultipartScanner.Failure.self, "chunks \(chunks)") { try Self.parse(body, chunks: chunks) }
            }
        }
    }

    @Test func megabytesOfRandomBytesComeThroughIntact() throws {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let body = Self.bytes("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n") + data + Self.bytes("\r\n--XyZ--\r\n")
        let result = try Self.parse(body, chunks: [65_536, 1, 100_003])
        #expect(result.parts.count == 1 && result.parts[0].body == data)
    }
}
