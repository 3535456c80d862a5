/// The 4-byte header of an MPEG-1/2/2.5 audio frame, layers I–III.
///
/// Every field is validated (reserved version and layer, free-format and invalid bitrates,
/// reserved sample rate and emphasis), because an 11-bit sync alone is common in random data.
struct MPEGFrameHeader {
    enum Version { case mpeg1, mpeg2, mpeg25 }

    let version: Version
    let layer: Int
    let bitrate: Int
    let sampleRate: Int
    let padding: Bool
    let isMono: Bool

    private static let bitrates: [[Int]] = [  // kbit/s by table, then index 1...14
        [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],  // MPEG-1 layer I
        [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],  // MPEG-1 layer II
        [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],  // MPEG-1 layer III
        [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],  // MPEG-2/2.5 layer I
        [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],  // MPEG-2/2.5 layers II, III
    ]

    init?(_ bytes: [UInt8], at index: Int) {
        guard bytes.byte(at: index) == 0xFF, let word = bytes.be32(at: index), word >> 21 == 0x7FF else { return nil }
        let versionBits = word >> 19 & 3
        let layerBits = word >> 17 & 3
        let bitrateIndex = Int(word >> 12 & 0xF)
        let rateIndex = Int(word >> 10 & 3)
        guard versionBits != 1, layerBits != 0, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3,
            word & 3 != 2
        else { return nil }
        version = versionBits == 3 ? .mpeg1 : versionBits == 2 ? .mpeg2 : .mpeg25
        layer = 4 - Int(layerBits)
        let table = version == .mpeg1 ? layer - 1 : layer == 1 ? 3 : 4
        bitrate = Self.bitrates[table][bitrateIndex - 1] * 1000
        let baseRate = [44100, 48000, 32000][rateIndex]
        sampleRate = version == .mpeg1 ? baseRate : version == .mpeg2 ? baseRate / 2 : baseRate / 4
        padding = word >> 9 & 1 == 1
        isMono = word >> 6 & 3 == 3
    }

    var samplesPerFrame: Int {
        layer == 1 ? 384 : layer == 3 && version != .mpeg1 ? 576 : 1152
    }

    /// Bytes in the frame, header included. Never less than 16 for a valid header.
    var frameLength: Int {
        if layer == 1 { return (12 * bitrate / sampleRate + (padding ? 1 : 0)) * 4 }
        return samplesPerFrame / 8 * bitrate / sampleRate + (padding ? 1 : 0)
    }

    /// Frames of one stream share version, layer and sample rate; bitrate and padding may vary.
    func continues(_ other: MPEGFrameHeader) -> Bool {
        version == other.version && layer == other.layer && sampleRate == other.sampleRate
    }

    var codec: String { "mp\(layer)" }

    /// Whether `bytes` start with a frame header and, if the next frame's position lies within
    /// them, a second header of the same stream there — one header alone is too easy to fake.
    static func startsStream(_ bytes: [UInt8]) -> Bool {
        guard let first = MPEGFrameHeader(bytes, at: 0) else { return false }
        guard first.frameLength + 4 <= bytes.count else { return true }
        return MPEGFrameHeader(bytes, at: first.frameLength).map(first.continues) ?? false
    }
}
