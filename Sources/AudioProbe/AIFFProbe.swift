/// AIFF and AIFF-C: a `COMM` chunk with the frame count and an 80-bit float sample rate, and an
/// `SSND` chunk with the samples.
///
/// Duration is `numSampleFrames / sampleRate`. An `SSND` chunk that claims more bytes than the
/// file holds, or a file that ends before `SSND` although `COMM` promises frames, is truncated.
enum AIFFProbe {
    private static let maxChunks = 1024

    static func probe(_ reader: SourceReader) throws -> AudioProbeResult {
        let isAIFC = try reader.read(at: 8, count: 4).matches("AIFC", at: 0)
        var offset: Int64 = 12
        var common: AIFFCommon?
        var soundBytes: Int64?
        for _ in 0..<maxChunks {
            let header = try reader.read(at: offset, count: 8)
            guard let id = header.fourCC(at: 0), let size32 = header.be32(at: 4) else { return try endOfFile(common) }
            let size = Int64(size32)
            let body = offset + 8
            switch id {
            case "COMM":
                let bytes = try reader.readExactly(Int(min(size, 64)), at: body, format: .aiff, part: "COMM chunk")
                common = try AIFFCommon(bytes, isAIFC: isAIFC)
            case "SSND":
                guard size <= reader.size - body else {
                    throw AudioProbeError.truncated(.aiff, "the SSND chunk declares \(size) bytes but only \(reader.size - body) are present")
                }
                soundBytes = size
            default:
                break
            }
            if let common, let soundBytes { return try result(common, soundBytes: soundBytes) }
            offset = body + size + (size & 1)
        }
        throw AudioProbeError.corrupt(.aiff, "more than \(maxChunks) chunks precede the audio")
    }

    /// The chunks ran out before both COMM and SSND were seen; only a file of zero frames may lack SSND.
    private static func endOfFile(_ common: AIFFCommon?) throws -> AudioProbeResult {
        guard let common else { throw AudioProbeError.truncated(.aiff, "the file ends before the COMM chunk") }
        guard common.frames == 0 else { throw AudioProbeError.truncated(.aiff, "the file ends before the SSND chunk") }
        return try result(common, soundBytes: 0)
    }

    private static func result(_ common: AIFFCommon, soundBytes: Int64) throws -> AudioProbeResult {
        // Uncompressed samples: the frames COMM claims must be in SSND (after its 8-byte offset and
        // block size fields), byte for byte.
        if let frameBytes = common.frameBytes {
            let needed = Int64(common.frames) * frameBytes
            let present = max(0, soundBytes - 8)
            guard needed <= present else {
                throw AudioProbeError.corrupt(
                    .aiff,
                    "COMM claims \(common.frames) sample frames, which need \(needed) bytes, "
                        + "but the SSND chunk holds \(present) bytes of samples")
            }
        }
        return try AudioProbeResult(
            checking: .aiff, codec: common.codec,
            duration: Double(common.frames) / common.sampleRate,
            sampleRate: Int(roundingChecked: common.sampleRate), channels: Int(common.channels),
            bitrate: common.bitrate)
    }
}

/// The `COMM` chunk. AIFF-C adds a compression type; plain AIFF is always big-endian PCM.
struct AIFFCommon {
    let channels: UInt16
    let frames: UInt32
    let bitsPerSample: UInt16
    let sampleRate: Double
    let compression: String

    /// Compression types whose samples are plain PCM or float, so the bitrate follows from the format.
    private static let uncompressed: Set<String> = ["NONE", "twos", "sowt", "fl32", "FL32", "fl64", "FL64", "raw "]

    init(_ body: [UInt8], isAIFC: Bool) throws {
        guard let channels = body.be16(at: 0), let frames = body.be32(at: 2), let bits = body.be16(at: 6),
            let rate = Double(aiffExtended: body, at: 8)
        else {
            throw AudioProbeError.corrupt(.aiff, "the COMM chunk is too short")
        }
        let compression = isAIFC ? body.fourCC(at: 18) : "NONE"
        guard let compression else { throw AudioProbeError.corrupt(.aiff, "the AIFF-C COMM chunk lacks its compression type") }
        guard channels > 0 else { throw AudioProbeError.corrupt(.aiff, "the COMM chunk declares 0 channels") }
        guard rate.isFinite, rate >= 1, rate <= 10_000_000 else {
            throw AudioProbeError.corrupt(.aiff, "the COMM chunk declares an impossible sample rate")
        }
        guard !Self.uncompressed.contains(compression) || (1...64).contains(bits) else {
            throw AudioProbeError.corrupt(.aiff, "the COMM chunk declares \(bits) bits per sample")
        }
        self.channels = channels
        self.frames = frames
        self.bitsPerSample = bits
        self.sampleRate = rate
        self.compression = compression
    }

    var codec: String {
        let bytes = (Int(bitsPerSample) + 7) / 8
        let pcm = bytes == 1 ? "pcm_s8" : "pcm_s\(bytes * 8)"
        switch compression {
        case "NONE", "twos": return bytes == 1 ? pcm : pcm + "be"
        case "sowt": return bytes == 1 ? pcm : pcm + "le"
        case "raw ": return "pcm_u8"
        case "fl32", "FL32": return "pcm_f32be"
        case "fl64", "FL64": return "pcm_f64be"
        case "alaw", "ALAW": return "pcm_alaw"
        case "ulaw", "ULAW": return "pcm_mulaw"
        case "ima4": return "adpcm_ima_qt"
        default: return compression.lowercased().withoutTrailingSpaces()
        }
    }

    /// Bytes per sample frame of uncompressed samples; nil for compressed ones.
    var frameBytes: Int64? {
        guard Self.uncompressed.contains(compression) else { return nil }
        let bytes: Int64 =
            switch compression {
            case "raw ": 1
            case "fl32", "FL32": 4
            case "fl64", "FL64": 8
            default: (Int64(bitsPerSample) + 7) / 8
            }
        return bytes * Int64(channels)
    }

    var bitrate: Int? {
        guard Self.uncompressed.contains(compression) else { return nil }
        let bits = compression == "raw " ? 8 : (Int(bitsPerSample) + 7) / 8 * 8
        return Int(roundingChecked: sampleRate * Double(Int(channels) * bits))
    }
}

extension Double {
    /// Decodes the IEEE 754 80-bit extended float AIFF uses for its sample rate: a sign bit,
    /// a 15-bit exponent biased by 16383 and a 64-bit significand with an explicit integer bit.
    init?(aiffExtended bytes: [UInt8], at offset: Int) {
        guard let signAndExponent = bytes.be16(at: offset), let significand = bytes.be64(at: offset + 2) else { return nil }
        let exponent = Int(signAndExponent & 0x7FFF)
        guard exponent != 0x7FFF else { return nil }  // infinity or NaN
        self.init(
            sign: signAndExponent & 0x8000 == 0 ? .plus : .minus,
            exponent: exponent - 16383 - 63, significand: Double(significand))
    }
}
