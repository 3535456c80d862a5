/// What probing learned about an audio file: enough to store alongside it and to describe it to clients.
public struct AudioProbeResult: Sendable, Equatable, Codable {
    public var format: AudioFormat
    /// The codec in FFmpeg's vocabulary ("pcm_s16le", "flac", "mp3", "vorbis", "opus", "aac", "alac", ...),
    /// since that is the naming people who handle audio already know.
    public var codec: String
    public var durationSeconds: Double
    public var sampleRate: Int?
    public var channels: Int?
    /// Bits per second: the container's figure where it states one (PCM, CBR MP3, Vorbis nominal),
    /// otherwise the audio payload size divided by the duration.
    public var bitrate: Int?

    public init(
        format: AudioFormat, codec: String, durationSeconds: Double,
        sampleRate: Int?, channels: Int?, bitrate: Int?
    ) {
        self.format = format
        self.codec = codec
        self.durationSeconds = durationSeconds
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitrate = bitrate
    }
}

extension AudioProbeResult {
    /// Builds a result from a duration computed by dividing untrusted header fields, rejecting the
    /// non-finite or negative values a corrupt header can produce instead of storing them.
    init(
        checking format: AudioFormat, codec: String, duration: Double,
        sampleRate: Int?, channels: Int?, bitrate: Int?
    ) throws(AudioProbeError) {
        guard duration.isFinite, duration >= 0 else {
            throw .corrupt(format, "the header fields give an impossible duration")
        }
        self.init(
            format: format, codec: codec, durationSeconds: duration,
            sampleRate: sampleRate, channels: channels, bitrate: bitrate)
    }
}
