/// MPEG audio (layer III, and layers I/II which share the container): skip the ID3v2 tags, find
/// the first frame, then take the length from a Xing/Info/VBRI header or, without one, from a
/// frame scan.
///
/// A file cut short is reported as truncated only when a Xing/VBRI header records the stream
/// size and the file is smaller than that; without such a header a shortened MP3 is
/// indistinguishable from a shorter recording, and its complete frames are counted.
enum MP3Probe {
    private static let maxTags = 8
    /// How far past the tags the first frame may start; some taggers leave padding there.
    private static let syncSearchLength = 64 * 1024
    /// The longest possible frame (MPEG-2.5 layer II, 160 kbit/s at 8 kHz, padded).
    private static let maxFrameLength = 2881

    static func probe(_ reader: SourceReader) throws -> AudioProbeResult {
        let start = try skipID3v2Tags(reader)
        // Some taggers put ID3v2 in front of FLAC too.
        if try reader.read(at: start, count: 4).matches("fLaC", at: 0) {
            return try FLACProbe.probe(reader, at: start)
        }
        let end = try TrailingTags.audioEnd(reader, after: start)
        guard start < end else { throw AudioProbeError.truncated(.mp3, "the file ends after its ID3v2 tag") }
        guard let (offset, first) = try firstFrame(reader, from: start, to: end) else {
            throw AudioProbeError.corrupt(.mp3, "no MPEG audio frame was found")
        }
        let frame = try reader.read(at: offset, count: first.frameLength)
        if let vbr = MPEGVBRHeader(frame: frame, header: first) {
            return try result(vbr, first: first, offset: offset, end: end)
        }
        let scan = try MPEGFrameScanner.scan(reader, from: offset, to: end, stream: first)
        guard scan.frames > 0 else { throw AudioProbeError.truncated(.mp3, "the file ends inside the first audio frame") }
        let duration = Double(scan.frames * Int64(first.samplesPerFrame)) / Double(first.sampleRate)
        return try AudioProbeResult(
            checking: .mp3, codec: first.codec, duration: duration,
            sampleRate: first.sampleRate, channels: first.isMono ? 1 : 2,
            bitrate: scan.constantBitrate ?? derivedBitrate(bytes: end - offset, seconds: duration))
    }

    private static func result(_ vbr: MPEGVBRHeader, first: MPEGFrameHeader, offset: Int64, end: Int64) throws -> AudioProbeResult {
        // Encoders differ on whether the recorded size includes the ID3v2 tag, so compare it with
        // everything up to the trailing tags: that never flags a complete file.
        if let declared = vbr.bytes, Int64(declared) > end {
            let header = vbr.isConstantBitrate ? "Info" : "VBR"
            throw AudioProbeError.truncated(.mp3, "the \(header) header declares \(declared) bytes of audio but the file holds \(end - offset)")
        }
        let coded = Int64(vbr.frames) * Int64(first.samplesPerFrame)
        let samples = Int64(vbr.paddingSamples) < coded ? coded - Int64(vbr.paddingSamples) : coded
        let duration = Double(samples) / Double(first.sampleRate)
        let bitrate = vbr.isConstantBitrate ? first.bitrate : derivedBitrate(bytes: end - offset, seconds: duration)
        return try AudioProbeResult(
            checking: .mp3, codec: first.codec, duration: duration,
            sampleRate: first.sampleRate, channels: first.isMono ? 1 : 2, bitrate: bitrate)
    }

    /// The offset just past any ID3v2 tags at the start of the file.
    private static func skipID3v2Tags(_ reader: SourceReader) throws -> Int64 {
        var offset: Int64 = 0
        for _ in 0..<maxTags {
            guard let length = try ID3v2.tagLength(reader.read(at: offset, count: 10)) else { return offset }
            guard length <= reader.size - offset else {
                throw AudioProbeError.truncated(.mp3, "the ID3v2 tag declares \(length) bytes but the file ends sooner")
            }
            offset += length
        }
        throw AudioProbeError.corrupt(.mp3, "more than \(maxTags) ID3v2 tags precede the audio")
    }

    /// The first frame header at or after `start` that the next frame's header confirms (or that is the last frame).
    private static func firstFrame(_ reader: SourceReader, from start: Int64, to end: Int64) throws -> (Int64, MPEGFrameHeader)? {
        let window = try reader.read(at: start, count: syncSearchLength + 2 * maxFrameLength)
        for index in 0..<min(window.count, syncSearchLength) {
            guard let header = MPEGFrameHeader(window, at: index) else { continue }
            let next = index + header.frameLength
            if start + Int64(next) >= end || MPEGFrameHeader(window, at: next)?.continues(header) == true {
                return (start + Int64(index), header)
            }
        }
        return nil
    }
}
