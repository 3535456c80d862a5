/// Reads the duration and stream parameters of an audio file from its headers, without decoding
/// and without external tools.
public enum AudioProbe {
    /// Probes the bytes of one file.
    ///
    /// Throws ``AudioProbeError`` when the bytes are not an accepted format, or are truncated or
    /// corrupt. An error thrown by `source` itself (an I/O failure) propagates unchanged, so the
    /// caller can tell a bad upload (415) from a failing disk (500).
    public static func probe(_ source: some ByteSource) throws -> AudioProbeResult {
        let reader = SourceReader(source)
        // Enough for every check sniff makes, including the second frame of the largest MP3 frames.
        let head = try reader.read(at: 0, count: 4096)
        guard let format = AudioFormat.sniff(head) else { throw AudioProbeError.unrecognized }
        let result: AudioProbeResult
        switch format {
        case .wav: result = try WAVProbe.probe(reader)
        case .aiff: result = try AIFFProbe.probe(reader)
        case .flac: result = try FLACProbe.probe(reader, at: 0)
        case .mp3: result = try MP3Probe.probe(reader)
        case .ogg, .opus: result = try OggProbe.probe(reader)
        case .m4a: result = try MP4Probe.probe(reader)
        }
        try PlausibleSize.check(result, fileSize: reader.size)
        return result
    }
}

/// The cross-check of a duration a header claims against the bytes the file has.
///
/// Every duration here comes from a header field (AIFF COMM frames, WAV data size over byte rate,
/// FLAC STREAMINFO samples, MP4 mvhd/mdhd, MP3 Xing/VBRI frames, Ogg granule), and a header costs
/// nothing to forge: a 1.6 KB AIFF claimed 536,870 s and would have passed a duration check. PCM
/// is checked exactly where its header is read (AIFF: frames × frame size ≤ SSND bytes; WAV: the
/// byte rate is at least what the sample format needs). Here, every format's claim must fit the
/// whole file at a floor bitrate below anything its codec can produce:
///
/// - MP3: 1 kbit/s. MPEG audio frames have fixed bitrates, the lowest 8 kbit/s (MPEG-2.5).
/// - Ogg (Vorbis, Opus), M4A (AAC, ALAC), compressed WAV/AIFF-C: 64 bit/s. A packet or frame is at
///   least a byte and covers at most 120 ms (Opus) or 1,024–4,096 samples at ≥ 8 kHz (AAC,
///   Vorbis, ALAC, ADPCM blocks), so digital silence stays above ~8 bytes/s; 1 kbit/s would refuse
///   real silent Vorbis, Opus or low-rate AAC.
/// - FLAC: 8 bit/s. A frame is ≥ ~10 bytes and may hold 65,535 samples, so silence at 8 kHz
///   can legally be ~1.2 bytes/s.
///
/// Even 8 bit/s refuses the example above (536,870 s needs 537 KB); these floors refuse
/// impossible claims, never unusual but real files.
enum PlausibleSize {
    static func minimumBitsPerSecond(_ format: AudioFormat) -> Double {
        switch format {
        case .mp3: 1000
        case .flac: 8
        case .wav, .aiff, .ogg, .opus, .m4a: 64
        }
    }

    static func check(_ result: AudioProbeResult, fileSize: Int64) throws(AudioProbeError) {
        let needed = result.durationSeconds * minimumBitsPerSecond(result.format) / 8
        guard needed <= Double(fileSize) else {
            throw .corrupt(
                result.format,
                "the header claims \(seconds(result.durationSeconds)) s of audio, which needs at least "
                    + "\(bytes(needed)) bytes even at \(Int(minimumBitsPerSecond(result.format))) bit/s, but the file has \(fileSize) bytes")
        }
    }

    static func seconds(_ value: Double) -> String {
        value < 1e15 ? String(Int64(value.rounded())) : "\(value)"
    }

    static func bytes(_ value: Double) -> String {
        value < 9e18 ? String(Int64(value.rounded(.up))) : "\(value)"
    }
}
