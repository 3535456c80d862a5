extension AudioFormat {
    /// How many leading bytes ``sniff(_:)`` looks at; callers may pass more, the rest is ignored.
    static let sniffLength = 64 * 1024

    /// Recognises a format from the first bytes of a file (give at least 64 bytes when the file
    /// has them). Returns nil when the bytes are not one of the accepted audio formats.
    ///
    /// Only magic numbers and the smallest structures behind them are checked — enough to reject
    /// other files early; ``AudioProbe/probe(_:)`` does the full validation.
    public static func sniff(_ prefix: some Collection<UInt8>) -> AudioFormat? {
        let bytes = Array(prefix.prefix(sniffLength))
        if bytes.matches("RIFF", at: 0), bytes.matches("WAVE", at: 8) { return .wav }
        if bytes.matches("FORM", at: 0), bytes.matches("AIFF", at: 8) || bytes.matches("AIFC", at: 8) { return .aiff }
        if bytes.matches("fLaC", at: 0) { return .flac }
        if bytes.matches("OggS", at: 0) { return OggProbe.sniff(bytes) }
        if bytes.matches("ftyp", at: 4) { return MP4Probe.hasAudioBrand(bytes) ? .m4a : nil }
        if ID3v2.tagLength(bytes) != nil || MPEGFrameHeader.startsStream(bytes) { return .mp3 }
        return nil
    }
}
