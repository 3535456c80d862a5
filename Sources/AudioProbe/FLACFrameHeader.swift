/// The header of one FLAC audio frame: where it sits in the sample stream and how long it is.
///
/// Used to find the real end of the audio. A frame header has no length field, so it is found by
/// its sync code and accepted only if its CRC-8 matches and every field agrees with STREAMINFO —
/// compressed audio contains stray sync codes, but almost never one that passes all of that.
struct FLACFrameHeader {
    let firstSample: UInt64
    let blockSize: UInt64

    var endSample: UInt64 { firstSample + blockSize }

    private static let sampleRates: [UInt32] = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000]
    private static let sampleSizes: [Int] = [0, 8, 12, 0, 16, 20, 24, 32]

    /// The last frame header in the file's tail, or nil when none is found there.
    static func last(in reader: SourceReader, after audioStart: Int64, stream: FLACStreamInfo) throws -> FLACFrameHeader? {
        // The tail must hold the whole last frame; STREAMINFO's maximum frame size says how big that can be.
        let window = min(max(64 * 1024, Int64(stream.maxFrameSize) * 2), Int64(SourceReader.maxRead))
        let start = max(audioStart, reader.size - window)
        let tail = try reader.read(at: start, count: Int(reader.size - start))
        for index in stride(from: tail.count - 1, through: 0, by: -1) {
            guard let header = FLACFrameHeader(tail, at: index, stream: stream) else { continue }
            if stream.totalSamples == 0 || header.firstSample < stream.totalSamples { return header }
        }
        return nil
    }

    /// Parses the frame header at `index`, or returns nil when those bytes are not one of this stream.
    init?(_ bytes: [UInt8], at index: Int, stream: FLACStreamInfo) {
        guard bytes.byte(at: index) == 0xFF, let sync = bytes.byte(at: index + 1), sync & 0xFE == 0xF8,
            let sizeAndRate = bytes.byte(at: index + 2), let channelsAndBits = bytes.byte(at: index + 3)
        else { return nil }
        let variableBlockSize = sync & 1 == 1
        let blockSizeCode = sizeAndRate >> 4
        let rateCode = Int(sizeAndRate & 0xF)
        let channelCode = channelsAndBits >> 4
        let sampleSizeCode = Int(channelsAndBits >> 1 & 0x7)
        guard blockSizeCode != 0, rateCode != 15, channelCode <= 10, sampleSizeCode != 3, channelsAndBits & 1 == 0,
            let (number, numberLength) = Self.codedNumber(bytes, at: index + 4),
            variableBlockSize || numberLength <= 6
        else { return nil }
        var cursor = index + 4 + numberLength

        let blockSize: UInt64
        switch blockSizeCode {
        case 1: blockSize = 192
        case 2...5: blockSize = 576 << UInt64(blockSizeCode - 2)
        case 6:
            guard let value = bytes.byte(at: cursor) else { return nil }
            blockSize = UInt64(value) + 1
            cursor += 1
        case 7:
            guard let value = bytes.be16(at: cursor) else { return nil }
            blockSize = UInt64(value) + 1
            cursor += 2
        default: blockSize = 256 << UInt64(blockSizeCode - 8)
        }
        let sampleRate: UInt32
        switch rateCode {
        case 0: sampleRate = stream.sampleRate
        case 12:
            guard let value = bytes.byte(at: cursor) else { return nil }
            sampleRate = UInt32(value) * 1000
            cursor += 1
        case 13:
            guard let value = bytes.be16(at: cursor) else { return nil }
            sampleRate = UInt32(value)
            cursor += 2
        case 14:
            guard let value = bytes.be16(at: cursor) else { return nil }
            sampleRate = UInt32(value) * 10
            cursor += 2
        default: sampleRate = Self.sampleRates[rateCode]
        }
        guard let crc = bytes.byte(at: cursor), crc == Self.crc8(bytes[index..<cursor]) else { return nil }

        let channels = channelCode < 8 ? Int(channelCode) + 1 : 2
        guard channels == stream.channels, sampleRate == stream.sampleRate,
            sampleSizeCode == 0 || Self.sampleSizes[sampleSizeCode] == stream.bitsPerSample,
            blockSize <= UInt64(stream.maxBlockSize)
        else { return nil }
        // Fixed-block-size streams number frames; variable ones number samples.
        firstSample = variableBlockSize ? number : number * UInt64(stream.maxBlockSize)
        self.blockSize = blockSize
    }

    /// FLAC's UTF-8-style variable-length integer (up to 36 bits in 7 bytes) and its length.
    private static func codedNumber(_ bytes: [UInt8], at index: Int) -> (UInt64, Int)? {
        guard let first = bytes.byte(at: index) else { return nil }
        if first < 0x80 { return (UInt64(first), 1) }
        let length = (~first).leadingZeroBitCount
        guard (2...7).contains(length) else { return nil }
        var value = UInt64(first & (0x7F >> UInt8(length)))
        for offset in 1..<length {
            guard let next = bytes.byte(at: index + offset), next & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt64(next & 0x3F)
        }
        return (value, length)
    }

    /// CRC-8 with polynomial x^8 + x^2 + x + 1, as FLAC frame headers use.
    private static func crc8(_ bytes: ArraySlice<UInt8>) -> UInt8 {
        var crc: UInt8 = 0
        for byte in bytes {
            crc ^= byte
            for _ in 0..<8 { crc = crc & 0x80 != 0 ? crc << 1 ^ 0x07 : crc << 1 }
        }
        return crc
    }
}
