/// Builders for files no fixture tool produces: 64-bit MP4 box sizes, VBRI headers, APE tags.
enum Synthetic {
    static func be(_ value: UInt64, width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - $0))) }
    }

    static func le(_ value: UInt64, width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    static func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: MP4

    static func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
        be(UInt64(8 + body.count), width: 4) + ascii(type) + body
    }

    /// A box header with size field 1 and the real size in 64 bits.
    static func largeBoxHeader(_ type: String, totalSize: UInt64) -> [UInt8] {
        be(1, width: 4) + ascii(type) + be(totalSize, width: 8)
    }

    /// `mvhd` or `mdhd` in the 64-bit version 1 layout (only the fields the prober reads, padded).
    static func timingV1(_ type: String, timescale: UInt32, duration: UInt64) -> [UInt8] {
        box(
            type,
            [1, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + be(UInt64(timescale), width: 4)
                + be(duration, width: 8) + [UInt8](repeating: 0, count: 20))
    }

    /// An `mp4a` sample entry whose header claims 2 channels, with an `esds` carrying `audioSpecificConfig`.
    static func mp4aEntry(audioSpecificConfig: [UInt8]) -> [UInt8] {
        let decoderSpecific = [0x05, UInt8(audioSpecificConfig.count)] + audioSpecificConfig
        let decoderConfig = [0x04, UInt8(13 + decoderSpecific.count), 0x40, 0x15] + [UInt8](repeating: 0, count: 11) + decoderSpecific
        let esDescriptor = [0x03, UInt8(3 + decoderConfig.count), 0, 1, 0] + decoderConfig
        let entry =
            [UInt8](repeating: 0, count: 6) + be(1, width: 2) + [UInt8](repeating: 0, count: 8)
            + be(2, width: 2) + be(16, width: 2) + [0, 0, 0, 0] + be(44100 << 16, width: 4)
        return box("mp4a", entry + box("esds", [0, 0, 0, 0] + esDescriptor))
    }

    static func moov(handler: String = "soun", movieDuration: UInt64 = 2500, audioSpecificConfig: [UInt8] = [0x12, 0x08]) -> [UInt8] {
        let hdlr = box("hdlr", [0, 0, 0, 0, 0, 0, 0, 0] + ascii(handler) + [UInt8](repeating: 0, count: 13))
        let stsd = box("stsd", [0, 0, 0, 0, 0, 0, 0, 1] + mp4aEntry(audioSpecificConfig: audioSpecificConfig))
        let mdia = box(
            "mdia",
            timingV1("mdhd", timescale: 44100, duration: 110_250) + hdlr
                + box("minf", box("stbl", stsd)))
        return box("moov", timingV1("mvhd", timescale: 1000, duration: movieDuration) + box("trak", mdia))
    }

    static let ftyp = box("ftyp", ascii("M4A ") + [0, 0, 2, 0] + ascii("M4A isomiso2"))

    // MARK: MP3

    /// MPEG-1 layer III, 128 kbit/s, 44.1 kHz, joint stereo: 417-byte frames of silence.
    static let mpegHeader: [UInt8] = [0xFF, 0xFB, 0x90, 0x64]

    static func mpegFrame(payload: [UInt8] = []) -> [UInt8] {
        mpegHeader + payload + [UInt8](repeating: 0, count: 413 - payload.count)
    }

    /// A first frame holding a Fraunhofer VBRI header (at byte 36), then `extraFrames` frames.
    static func vbriFile(frames: UInt32, declaredBytes: UInt32? = nil, extraFrames: Int = 4) -> [UInt8] {
        let total = UInt32(417 * (extraFrames + 1))
        let vbri =
            ascii("VBRI") + be(1, width: 2) + be(0, width: 2) + be(75, width: 2)
            + be(UInt64(declaredBytes ?? total), width: 4) + be(UInt64(frames), width: 4)
        let first = mpegFrame(payload: [UInt8](repeating: 0, count: 32) + vbri)
        return first + (0..<extraFrames).flatMap { _ in mpegFrame() }
    }

    /// An APEv2 tag (header, one item, footer) whose value is `value`.
    static func apeTag(value: [UInt8]) -> [UInt8] {
        let item = le(UInt64(value.count), width: 4) + le(0, width: 4) + ascii("Comment") + [0] + value
        let size = UInt64(item.count + 32)
        func frame(isHeader: Bool) -> [UInt8] {
            ascii("APETAGEX") + le(2000, width: 4) + le(size, width: 4) + le(1, width: 4)
                + le(0x8000_0000 | (isHeader ? 0x2000_0000 : 0), width: 4) + [UInt8](repeating: 0, count: 8)
        }
        return frame(isHeader: true) + item + frame(isHeader: false)
    }

    static func id3v1Tag(title: [UInt8]) -> [UInt8] {
        ascii("TAG") + title + [UInt8](repeating: 0, count: 125 - title.count)
    }

    // MARK: AIFF

    /// An IEEE 754 80-bit extended float, as AIFF stores its sample rate (positive normal values only).
    static func extended(_ value: Double) -> [UInt8] {
        let exponent = UInt64(Int(value.exponent) + 16383)
        let significand = (value.significandBitPattern | 1 << 52) << 11
        return be(exponent, width: 2) + be(significand, width: 8)
    }

    /// An IFF chunk: id, then big-endian size (unlike an MP4 box, which puts the size first).
    static func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
        ascii(id) + be(UInt64(body.count), width: 4) + body + (body.count % 2 == 1 ? [0] : [])
    }

    /// Mono 8-bit AIFF.
    static func aiff(frames: UInt32, sampleRate: Double, soundBytes: Int) -> [UInt8] {
        let comm = chunk("COMM", be(1, width: 2) + be(UInt64(frames), width: 4) + be(8, width: 2) + extended(sampleRate))
        let ssnd = chunk("SSND", [UInt8](repeating: 0, count: 8 + soundBytes))
        return ascii("FORM") + be(UInt64(4 + comm.count + ssnd.count), width: 4) + ascii("AIFF") + comm + ssnd
    }

    // MARK: WAV

    static func wavHeader(dataSize: UInt32, channels: UInt16 = 2, sampleRate: UInt32 = 48000) -> [UInt8] {
        let blockAlign = UInt64(channels) * 2
        let fmt =
            le(1, width: 2) + le(UInt64(channels), width: 2) + le(UInt64(sampleRate), width: 4)
            + le(UInt64(sampleRate) * blockAlign, width: 4) + le(blockAlign, width: 2) + le(16, width: 2)
        return ascii("RIFF") + le(UInt64(dataSize) &+ 36, width: 4) + ascii("WAVE")
            + ascii("fmt ") + le(16, width: 4) + fmt + ascii("data") + le(UInt64(dataSize), width: 4)
    }
}
