/// Ogg Vorbis and Ogg Opus: the first page's identification header gives channels and rate;
/// the granule position of the stream's last page gives the length.
///
/// The last page is found by searching backwards from the end of the file, never reading the
/// middle. If the file ends inside a page it is truncated — the usual result of an interrupted
/// upload. A file cut exactly at a page boundary cannot be told from a complete one and reports
/// the length it has.
enum OggProbe {
    /// How much of the tail is searched at a time; a page is at most 65307 bytes.
    private static let searchWindow: Int64 = 64 * 1024

    static func sniff(_ bytes: [UInt8]) -> AudioFormat? {
        guard let page = OggPage(bytes, at: 0) else { return nil }
        if bytes.matches("\u{01}vorbis", at: page.headerLength) { return .ogg }
        if bytes.matches("OpusHead", at: page.headerLength) { return .opus }
        return nil
    }

    static func probe(_ reader: SourceReader) throws -> AudioProbeResult {
        let head = try reader.read(at: 0, count: OggPage.maxHeaderLength + 64)
        guard let format = sniff(head), let first = OggPage(head, at: 0) else { throw AudioProbeError.unrecognized }
        guard first.isBeginningOfStream, let packetLength = first.firstPacketLength else {
            throw AudioProbeError.corrupt(format, "the first page does not hold a complete identification header")
        }
        let packet = try reader.readExactly(
            min(packetLength, 64), at: Int64(first.headerLength),
            format: format, part: "identification header")
        let stream = try format == .ogg ? OggStream(vorbis: packet) : OggStream(opus: packet)
        let granule = try finalGranule(reader, serial: first.serial, format: format)
        guard granule >= 0 else { throw AudioProbeError.corrupt(format, "the last page has a negative granule position") }
        guard granule > stream.preSkip else { throw AudioProbeError.truncated(format, "the stream holds no audio") }
        let duration = Double(granule - stream.preSkip) / Double(stream.sampleRate)
        return try AudioProbeResult(
            checking: format, codec: stream.codec, duration: duration,
            sampleRate: stream.sampleRate, channels: stream.channels,
            bitrate: stream.nominalBitrate ?? derivedBitrate(bytes: reader.size, seconds: duration))
    }

    /// The granule position of the stream's last page that has one, searching backwards from the end.
    private static func finalGranule(_ reader: SourceReader, serial: UInt32, format: AudioFormat) throws -> Int64 {
        var windowEnd = reader.size
        var isNearestPage = true
        while windowEnd > 0 {
            let windowStart = max(0, windowEnd - searchWindow)
            // Three bytes of overlap find a capture pattern that straddles two windows.
            let bytes = try reader.read(at: windowStart, count: Int(min(reader.size, windowEnd + 3) - windowStart))
            for index in stride(from: Int(windowEnd - windowStart) - 1, through: 0, by: -1) where bytes.matches("OggS", at: index) {
                let offset = windowStart + Int64(index)
                let page = try OggPage(reader.read(at: offset, count: OggPage.maxHeaderLength), at: 0)
                let isComplete = page.map { Int64($0.length) <= reader.size - offset } ?? false
                if isNearestPage, !isComplete {
                    throw AudioProbeError.truncated(format, "the file ends inside the Ogg page that starts at byte \(offset)")
                }
                isNearestPage = false
                guard let page, isComplete, page.serial == serial else { continue }
                guard try OggPage.checksumMatches(reader.read(at: offset, count: page.length)) else {
                    throw AudioProbeError.corrupt(format, "the Ogg page at byte \(offset) fails its checksum")
                }
                if page.granulePosition != -1 { return page.granulePosition }
            }
            windowEnd = windowStart
        }
        throw AudioProbeError.corrupt(format, "no page of the stream records a granule position")
    }
}

/// What the identification header says about a Vorbis or Opus stream.
struct OggStream {
    let codec: String
    /// Vorbis: the coded rate. Opus: always 48000, the rate its granule positions count in,
    /// whatever input rate the encoder noted.
    let sampleRate: Int
    let channels: Int
    /// Opus: samples the decoder discards at the start, counted in the granule positions.
    let preSkip: Int64
    let nominalBitrate: Int?

    init(vorbis packet: [UInt8]) throws {
        guard let version = packet.le32(at: 7), let channels = packet.byte(at: 11), let rate = packet.le32(at: 12),
            let nominal = packet.le32(at: 20), let framing = packet.byte(at: 29)
        else {
            throw AudioProbeError.corrupt(.ogg, "the Vorbis identification header is too short")
        }
        guard version == 0, channels > 0, rate > 0, framing & 1 == 1 else {
            throw AudioProbeError.corrupt(.ogg, "the Vorbis identification header has invalid fields")
        }
        codec = "vorbis"
        sampleRate = Int(rate)
        self.channels = Int(channels)
        preSkip = 0
        let bitrate = Int32(bitPattern: nominal)
        nominalBitrate = bitrate > 0 ? Int(bitrate) : nil
    }

    init(opus packet: [UInt8]) throws {
        guard let version = packet.byte(at: 8), let channels = packet.byte(at: 9), let preSkip = packet.le16(at: 10) else {
            throw AudioProbeError.corrupt(.opus, "the OpusHead header is too short")
        }
        guard version >> 4 == 0, channels > 0 else {
            throw AudioProbeError.corrupt(.opus, "the OpusHead header has invalid fields")
        }
        codec = "opus"
        sampleRate = 48000
        self.channels = Int(channels)
        self.preSkip = Int64(preSkip)
        nominalBitrate = nil
    }
}
