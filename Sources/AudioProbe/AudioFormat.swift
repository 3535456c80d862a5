/// The audio container formats the server accepts, named by what a client would call the file.
public enum AudioFormat: String, Sendable, CaseIterable, Codable {
    case wav, aiff, flac, mp3
    /// Ogg Vorbis.
    case ogg
    /// Ogg Opus. Kept apart from `ogg` because clients and file names distinguish them.
    case opus
    /// MPEG-4 audio (AAC or ALAC).
    case m4a

    /// The media type to serve the file with.
    ///
    /// Ogg Opus is served as `audio/ogg` like Ogg Vorbis: RFC 7845 registers `audio/ogg` for Opus
    /// in Ogg files, while `audio/opus` (RFC 7587) names the bare RTP payload and is not understood
    /// by every browser when it labels a file.
    public var contentType: String {
        switch self {
        case .wav: "audio/wav"
        case .aiff: "audio/aiff"
        case .flac: "audio/flac"
        case .mp3: "audio/mpeg"
        case .ogg, .opus: "audio/ogg"
        case .m4a: "audio/mp4"
        }
    }

    /// The conventional file extension, without a dot.
    public var fileExtension: String {
        switch self {
        case .wav: "wav"
        case .aiff: "aiff"
        case .flac: "flac"
        case .mp3: "mp3"
        case .ogg: "ogg"
        case .opus: "opus"
        case .m4a: "m4a"
        }
    }

    /// How error messages name the format to a person.
    var displayName: String {
        switch self {
        case .wav: "WAV"
        case .aiff: "AIFF"
        case .flac: "FLAC"
        case .mp3: "MP3"
        case .ogg: "Ogg Vorbis"
        case .opus: "Ogg Opus"
        case .m4a: "M4A"
        }
    }
}
