/// MPEG-4 audio (.m4a): walk the top-level boxes to `moov`, then read the movie header and the
/// first sound track.
///
/// `moov` may come before or after the media data; `mdat` is stepped over by its size, never
/// read. A box running past the end of the file, or a file with no `moov` at all (what an
/// interrupted recorder leaves), is truncated. Fragmented MP4 is accepted only when its movie
/// header states the duration.
enum MP4Probe {
    /// Enough for any plain file; fragmented files have two top-level boxes per fragment.
    private static let maxTopLevelBoxes = 100_000

    /// `ftyp` brands of files that may hold plain audio. The generic ISO brands are included
    /// because many encoders use them; probing then insists on a sound track.
    private static let audioBrands: Set<String> = [
        "M4A ", "M4B ", "M4P ", "F4A ", "F4B ", "mp41", "mp42", "isom", "iso2", "iso3", "iso4", "iso5", "iso6",
    ]

    static func hasAudioBrand(_ bytes: [UInt8]) -> Bool {
        guard let size = bytes.be32(at: 0), size >= 16 else { return false }
        let end = min(Int(size), bytes.count)
        let brandOffsets = [8] + Array(stride(from: 16, to: end - 3, by: 4))
        return brandOffsets.contains { bytes.fourCC(at: $0).map(audioBrands.contains) ?? false }
    }

    static func probe(_ reader: SourceReader) throws -> AudioProbeResult {
        var offset: Int64 = 0
        var movie: MP4Movie?
        var mediaBytes: Int64 = 0
        var boxCount = 0
        while let box = try MP4Box.read(reader, at: offset, limit: reader.size) {
            guard box.end <= reader.size else {
                throw AudioProbeError.truncated(.m4a, "the '\(box.type)' box runs past the end of the file")
            }
            boxCount += 1
            guard boxCount <= maxTopLevelBoxes else {
                throw AudioProbeError.corrupt(.m4a, "the file holds more than \(maxTopLevelBoxes) top-level boxes")
            }
            switch box.type {
            case "moov" where movie == nil: movie = try MP4Movie(box, reader)
            case "mdat": mediaBytes += box.end - box.bodyStart
            default: break
            }
            offset = box.end
        }
        guard let movie else {
            throw AudioProbeError.truncated(.m4a, "the file has no movie header ('moov' box), as when a recording is interrupted")
        }
        guard let track = movie.audioTrack else { throw AudioProbeError.unrecognized }
        guard let duration = movie.duration ?? track.duration else {
            throw AudioProbeError.corrupt(.m4a, "the movie does not state its duration (fragmented MP4 without one is not supported)")
        }
        return try AudioProbeResult(
            checking: .m4a, codec: track.codec, duration: duration,
            sampleRate: track.sampleRate, channels: track.channels,
            bitrate: derivedBitrate(bytes: mediaBytes, seconds: duration))
    }
}

/// The `moov` box: the movie header's duration and the first sound track.
struct MP4Movie {
    /// From `mvhd`: the presentation length, which excludes the encoder priming that edit lists trim.
    let duration: Double?
    let audioTrack: MP4AudioTrack?

    init(_ moov: MP4Box, _ reader: SourceReader) throws {
        var duration: Double?
        var audioTrack: MP4AudioTrack?
        for child in try moov.children(reader) {
            switch child.type {
            case "mvhd" where duration == nil:
                duration = try MP4MediaTiming(child, reader).seconds
            case "trak" where audioTrack == nil:
                audioTrack = try MP4AudioTrack(child, reader)
            default:
                break
            }
        }
        self.duration = duration
        self.audioTrack = audioTrack
    }
}

/// The timescale and duration that `mvhd` and `mdhd` share, in version 0 (32-bit) or 1 (64-bit) layout.
struct MP4MediaTiming {
    let timescale: UInt32
    /// 0 when unknown (all ones in the file).
    let duration: UInt64

    init(_ box: MP4Box, _ reader: SourceReader) throws {
        let body = try box.body(reader, count: 32)
        let timescale: UInt32?
        let duration: UInt64?
        if body.byte(at: 0) == 1 {
            timescale = body.be32(at: 20)
            duration = body.be64(at: 24).map { $0 == .max ? 0 : $0 }
        } else {
            timescale = body.be32(at: 12)
            duration = body.be32(at: 16).map { $0 == .max ? 0 : UInt64($0) }
        }
        guard let timescale, let duration else {
            throw AudioProbeError.corrupt(.m4a, "the '\(box.type)' box is too short")
        }
        self.timescale = timescale
        self.duration = duration
    }

    /// The duration in seconds, or nil when it is unknown or the timescale is 0.
    var seconds: Double? {
        timescale > 0 && duration > 0 ? Double(duration) / Double(timescale) : nil
    }
}
