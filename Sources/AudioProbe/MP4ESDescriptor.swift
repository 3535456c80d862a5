/// The `esds` box inside an `mp4a` sample entry: an MPEG-4 elementary stream descriptor.
///
/// It says which codec the entry really carries (`mp4a` also wraps MP3) and, for AAC, holds the
/// AudioSpecificConfig with the true channel count and sample rate. The entry's own channel
/// count is only a template that muxers such as FFmpeg leave at 2 even for mono.
struct MP4ESDescriptor {
    let codec: String
    let channels: Int?
    let sampleRate: Int?

    private static let sampleRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
    /// AAC channel configurations 1–14; 0 (defined in-band) and reserved values map to nil.
    private static let channelCounts: [Int: Int] = [1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8]

    /// Parses the body of an `esds` box (version and flags first), or nil when it is malformed.
    init?(_ body: [UInt8]) {
        var cursor = 4
        guard let esLength = Self.descriptorLength(body, tag: 0x03, at: &cursor), esLength >= 3,
            let flags = body.byte(at: cursor + 2)
        else { return nil }
        cursor += 3  // ES_ID and flags, then optional fields the flags announce
        if flags & 0x80 != 0 { cursor += 2 }
        if flags & 0x40 != 0 {
            guard let urlLength = body.byte(at: cursor) else { return nil }
            cursor += 1 + Int(urlLength)
        }
        if flags & 0x20 != 0 { cursor += 2 }
        guard Self.descriptorLength(body, tag: 0x04, at: &cursor) != nil, let objectType = body.byte(at: cursor) else { return nil }
        cursor += 13  // object type, stream type, buffer size, max and average bitrate
        // 0x69 and 0x6B are MPEG-2 and MPEG-1 audio (MP3); the others in use are AAC variants.
        guard objectType != 0x69, objectType != 0x6B else {
            (codec, channels, sampleRate) = ("mp3", nil, nil)
            return
        }
        codec = "aac"
        guard let configLength = Self.descriptorLength(body, tag: 0x05, at: &cursor),
            configLength <= body.count - cursor
        else {
            (channels, sampleRate) = (nil, nil)
            return
        }
        (channels, sampleRate) = Self.audioSpecificConfig(Array(body[cursor..<cursor + configLength]))
    }

    /// Reads a descriptor's tag and its 1–4 byte length (7 bits per byte), leaving `cursor` at its payload.
    private static func descriptorLength(_ body: [UInt8], tag: UInt8, at cursor: inout Int) -> Int? {
        guard body.byte(at: cursor) == tag else { return nil }
        cursor += 1
        var length = 0
        for _ in 0..<4 {
            guard let byte = body.byte(at: cursor) else { return nil }
            cursor += 1
            length = length << 7 | Int(byte & 0x7F)
            if byte & 0x80 == 0 { return length }
        }
        return length
    }

    /// Channels and output sample rate from an AudioSpecificConfig. HE-AAC (SBR) states its
    /// doubled output rate in an extension field, and HE-AACv2 (parametric stereo) decodes mono
    /// to stereo.
    private static func audioSpecificConfig(_ config: [UInt8]) -> (Int?, Int?) {
        var bits = BitReader(config)
        guard var objectType = bits.read(5) else { return (nil, nil) }
        if objectType == 31 {
            guard let extended = bits.read(6) else { return (nil, nil) }
            objectType = 32 + extended
        }
        var sampleRate = readSampleRate(&bits)
        guard let channelConfiguration = bits.read(4) else { return (nil, sampleRate) }
        var channels = channelCounts[Int(channelConfiguration)]
        if objectType == 5 || objectType == 29 {
            sampleRate = readSampleRate(&bits) ?? sampleRate
            if objectType == 29, channels == 1 { channels = 2 }
        }
        return (channels, sampleRate)
    }

    private static func readSampleRate(_ bits: inout BitReader) -> Int? {
        guard let index = bits.read(4) else { return nil }
        if index == 15 { return bits.read(24).map(Int.init) }
        return index < sampleRates.count ? sampleRates[Int(index)] : nil
    }
}

/// Reads big-endian bit fields of up to 32 bits, returning nil past the end.
private struct BitReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func read(_ count: Int) -> UInt32? {
        guard count <= bytes.count * 8 - position else { return nil }
        var value: UInt32 = 0
        for _ in 0..<count {
            let bit = bytes[position / 8] >> (7 - UInt8(position % 8)) & 1
            value = value << 1 | UInt32(bit)
            position += 1
        }
        return value
    }
}
