/// RIFF/WAVE: a `fmt ` chunk describing the samples and a `data` chunk holding them.
///
/// Duration is the data chunk's size over the byte rate. A data chunk that claims more bytes than
/// the file holds is reported as truncated — that includes the 0xFFFFFFFF "size unknown" that
/// streaming recorders leave behind when they are never finalised.
enum WAVProbe {
    /// Files rarely have more than a handful of chunks; the cap keeps a corrupt file from looping long.
    private static let maxChunks = 1024

    static func probe(_ reader: SourceReader) throws -> AudioProbeResult {
        var offset: Int64 = 12
        var format: WAVFormat?
        var dataSize: Int64?
        for _ in 0..<maxChunks {
            let header = try reader.read(at: offset, count: 8)
            guard let id = header.fourCC(at: 0), let size32 = header.le32(at: 4) else {
                throw AudioProbeError.truncated(
                    .wav,
                    format == nil
                        ? "the file ends before the fmt chunk" : "the file ends before the data chunk")
            }
            let size = Int64(size32)
            let body = offset + 8
            switch id {
            case "fmt ":
                let fmt = try reader.readExactly(Int(min(size, 40)), at: body, format: .wav, part: "fmt chunk")
                format = try WAVFormat(fmt)
            case "data":
                guard size <= reader.size - body else {
                    throw AudioProbeError.truncated(.wav, "the data chunk declares \(size) bytes but only \(reader.size - body) are present")
                }
                dataSize = size
            default:
                break
            }
            if let format, let dataSize { return try result(format, dataSize: dataSize) }
            offset = body + size + (size & 1)  // chunks are padded to an even length
        }
        throw AudioProbeError.corrupt(.wav, "more than \(maxChunks) chunks precede the audio")
    }

    private static func result(_ format: WAVFormat, dataSize: Int64) throws -> AudioProbeResult {
        try AudioProbeResult(
            checking: .wav, codec: format.codec,
            duration: Double(dataSize) / Double(format.byteRate),
            sampleRate: Int(format.sampleRate), channels: Int(format.channels),
            bitrate: Int(format.byteRate) * 8)
    }
}

/// The `fmt ` chunk, including the WAVE_FORMAT_EXTENSIBLE form whose real format tag sits in the
/// sub-format GUID.
struct WAVFormat {
    let tag: UInt16
    let channels: UInt16
    let sampleRate: UInt32
    let byteRate: UInt32
    let bitsPerSample: UInt16

    private static let extensible: UInt16 = 0xFFFE

    init(_ body: [UInt8]) throws {
        guard var tag = body.le16(at: 0), let channels = body.le16(at: 2), let sampleRate = body.le32(at: 4),
            let byteRate = body.le32(at: 8), let bits = body.le16(at: 14)
        else {
            throw AudioProbeError.corrupt(.wav, "the fmt chunk is shorter than 16 bytes")
        }
        if tag == Self.extensible {
            guard let subFormat = body.le16(at: 24) else {
                throw AudioProbeError.corrupt(.wav, "the extensible fmt chunk lacks its sub-format")
            }
            tag = subFormat
        }
        guard channels > 0 else { throw AudioProbeError.corrupt(.wav, "the fmt chunk declares 0 channels") }
        guard sampleRate > 0 else { throw AudioProbeError.corrupt(.wav, "the fmt chunk declares a sample rate of 0") }
        guard byteRate > 0 else { throw AudioProbeError.corrupt(.wav, "the fmt chunk declares a byte rate of 0") }
        // Duration is data size over byte rate, so a PCM byte rate below what its samples need
        // would stretch a few bytes into hours: it must cover rate × channels × bytes per sample.
        if let sampleBytes = Self.pcmSampleBytes(tag: tag, bits: bits) {
            let needed = UInt64(sampleRate) * UInt64(channels) * sampleBytes
            guard UInt64(byteRate) >= needed else {
                throw AudioProbeError.corrupt(
                    .wav,
                    "the fmt chunk's byte rate \(byteRate) is below the \(needed) bytes/s "
                        + "that \(sampleRate) Hz × \(channels) channels × \(sampleBytes) bytes need")
            }
        }
        self.tag = tag
        self.channels = channels
        self.sampleRate = sampleRate
        self.byteRate = byteRate
        self.bitsPerSample = bits
    }

    /// Bytes per sample of the uncompressed tags (PCM, float, A-law, µ-law); nil for others.
    static func pcmSampleBytes(tag: UInt16, bits: UInt16) -> UInt64? {
        switch tag {
        case 1, 3: bits == 0 ? nil : (UInt64(bits) + 7) / 8
        case 6, 7: 1
        default: nil
        }
    }

    var codec: String {
        switch tag {
        case 1: bitsPerSample <= 8 ? "pcm_u8" : "pcm_s\((Int(bitsPerSample) + 7) / 8 * 8)le"
        case 3: bitsPerSample == 64 ? "pcm_f64le" : "pcm_f32le"
        case 2: "adpcm_ms"
        case 6: "pcm_alaw"
        case 7: "pcm_mulaw"
        case 0x11: "adpcm_ima_wav"
        case 0x55: "mp3"
        default: "wav_format_0x" + String(tag, radix: 16)
        }
    }
}
