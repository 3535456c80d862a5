/// FLAC: the mandatory STREAMINFO block gives the sample rate, channels and total sample count.
///
/// STREAMINFO is written before the audio, so a file cut short still carries the full length.
/// To catch that, the header of the last audio frame is found in the file's tail: if it ends
/// before the declared total, the file is truncated. A total of 0 means "unknown" in FLAC; the
/// length is then taken from that last frame header instead.
enum FLACProbe {
    private static let maxMetadataBlocks = 1024

    /// Probes a FLAC stream starting at `start` (0, or the end of an ID3v2 tag some taggers prepend).
    static func probe(_ reader: SourceReader, at start: Int64) throws -> AudioProbeResult {
        let head = try reader.readExactly(42, at: start, format: .flac, part: "STREAMINFO block")
        guard let type = head.byte(at: 4), type & 0x7F == 0, let length = head.be24(at: 5), length >= 34 else {
            throw AudioProbeError.corrupt(.flac, "the first metadata block is not STREAMINFO")
        }
        let stream = try FLACStreamInfo(Array(head[8..<42]))
        let audioStart = try endOfMetadata(reader, from: start + 4)
        guard audioStart < reader.size else {
            throw AudioProbeError.truncated(.flac, "the file ends before the first audio frame")
        }
        let last = try FLACFrameHeader.last(in: reader, after: audioStart, stream: stream)
        let totalSamples: UInt64
        if stream.totalSamples > 0 {
            if let last, last.endSample < stream.totalSamples {
                throw AudioProbeError.truncated(
                    .flac,
                    "the audio stops at sample \(last.endSample) "
                        + "of the \(stream.totalSamples) that STREAMINFO declares")
            }
            totalSamples = stream.totalSamples
        } else {
            guard let last else {
                throw AudioProbeError.corrupt(.flac, "STREAMINFO does not state the length and no audio frame was found")
            }
            totalSamples = last.endSample
        }
        let duration = Double(totalSamples) / Double(stream.sampleRate)
        return try AudioProbeResult(
            checking: .flac, codec: "flac", duration: duration,
            sampleRate: Int(stream.sampleRate), channels: stream.channels,
            bitrate: derivedBitrate(bytes: reader.size - audioStart, seconds: duration))
    }

    /// The offset just past the metadata block flagged as last, where the audio frames begin.
    private static func endOfMetadata(_ reader: SourceReader, from start: Int64) throws -> Int64 {
        var offset = start
        for _ in 0..<maxMetadataBlocks {
            let header = try reader.readExactly(4, at: offset, format: .flac, part: "metadata blocks")
            guard let flags = header.byte(at: 0), let length = header.be24(at: 1) else {
                throw AudioProbeError.truncated(.flac, "the file ends inside the metadata blocks")
            }
            offset += 4 + Int64(length)
            guard offset <= reader.size else {
                throw AudioProbeError.truncated(.flac, "a metadata block runs past the end of the file")
            }
            if flags & 0x80 != 0 { return offset }
        }
        throw AudioProbeError.corrupt(.flac, "more than \(maxMetadataBlocks) metadata blocks precede the audio")
    }
}

/// The STREAMINFO metadata block (34 bytes, big-endian bit fields).
struct FLACStreamInfo {
    let maxBlockSize: UInt16
    let maxFrameSize: UInt32
    let sampleRate: UInt32
    let channels: Int
    let bitsPerSample: Int
    /// 0 when the encoder did not know the length.
    let totalSamples: UInt64

    init(_ body: [UInt8]) throws {
        guard let minBlock = body.be16(at: 0), let maxBlock = body.be16(at: 2),
            let maxFrame = body.be24(at: 7), let packed = body.be64(at: 10)
        else {
            throw AudioProbeError.truncated(.flac, "the file ends inside the STREAMINFO block")
        }
        sampleRate = UInt32(packed >> 44)
        channels = Int((packed >> 41) & 0x7) + 1
        bitsPerSample = Int((packed >> 36) & 0x1F) + 1
        totalSamples = packed & 0xF_FFFF_FFFF
        maxBlockSize = maxBlock
        maxFrameSize = maxFrame
        guard sampleRate > 0 else { throw AudioProbeError.corrupt(.flac, "STREAMINFO declares a sample rate of 0") }
        guard maxBlock >= 16, minBlock <= maxBlock else {
            throw AudioProbeError.corrupt(.flac, "STREAMINFO declares impossible block sizes (\(minBlock)–\(maxBlock))")
        }
    }
}
