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
        switch format {
        case .wav: return try WAVProbe.probe(reader)
        case .aiff: return try AIFFProbe.probe(reader)
        case .flac: return try FLACProbe.probe(reader, at: 0)
        case .mp3: return try MP3Probe.probe(reader)
        case .ogg, .opus: return try OggProbe.probe(reader)
        case .m4a: return try MP4Probe.probe(reader)
        }
    }
}
