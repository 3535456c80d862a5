/// Why a file was refused. Each case carries the format it was recognised as, so the HTTP layer can
/// answer 415 with a message that tells the uploader what is wrong with *their* file.
public enum AudioProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not one of the accepted formats.
    case unrecognized
    /// The file stops before the data its headers promise; the reason is in plain words.
    case truncated(AudioFormat, String)
    /// The headers contradict themselves or the format's rules.
    case corrupt(AudioFormat, String)

    public var description: String {
        switch self {
        case .unrecognized:
            "The file is not in a supported audio format (WAV, AIFF, FLAC, MP3, Ogg Vorbis, Ogg Opus or M4A)."
        case .truncated(let format, let reason):
            "The \(format.displayName) file is truncated: \(reason)."
        case .corrupt(let format, let reason):
            "The \(format.displayName) file is corrupt: \(reason)."
        }
    }
}
