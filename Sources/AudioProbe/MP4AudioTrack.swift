/// A `trak` whose handler is `soun`: its media header and the first sample description.
///
/// The path walked is fixed (trak/mdia/minf/stbl/stsd), so the nesting depth is bounded by
/// construction; sample tables and media data are never read.
struct MP4AudioTrack {
    let codec: String
    let sampleRate: Int?
    let channels: Int?
    /// From `mdhd`, used when the movie header has none.
    let duration: Double?

    /// Nil when the track is not a sound track.
    init?(_ trak: MP4Box, _ reader: SourceReader) throws {
        guard let mdia = try trak.children(reader).first(where: { $0.type == "mdia" }) else { return nil }
        let media = try mdia.children(reader)
        guard let hdlr = media.first(where: { $0.type == "hdlr" }),
            try hdlr.body(reader, count: 12).matches("soun", at: 8)
        else { return nil }
        guard let mdhd = media.first(where: { $0.type == "mdhd" }) else {
            throw AudioProbeError.corrupt(.m4a, "the sound track has no media header ('mdhd')")
        }
        let timing = try MP4MediaTiming(mdhd, reader)
        guard let entry = try Self.firstSampleEntry(in: media, reader) else {
            throw AudioProbeError.corrupt(.m4a, "the sound track has no sample description ('stsd')")
        }
        let description = try MP4SoundDescription(entry, reader)
        codec = description.codec
        channels = description.channels
        sampleRate = description.sampleRate ?? (timing.timescale > 0 ? Int(timing.timescale) : nil)
        duration = timing.seconds
    }

    private static func firstSampleEntry(in media: [MP4Box], _ reader: SourceReader) throws -> MP4Box? {
        guard let minf = media.first(where: { $0.type == "minf" }),
            let stbl = try minf.children(reader).first(where: { $0.type == "stbl" }),
            let stsd = try stbl.children(reader).first(where: { $0.type == "stsd" })
        else { return nil }
        // stsd: version and flags, entry count, then the entries as boxes.
        return try MP4Box.sequence(reader, from: stsd.bodyStart + 8, to: stsd.end, parent: "stsd").first
    }
}

/// An audio sample entry (`mp4a`, `alac`, ...): codec, channel count and sample rate.
///
/// The entry's own fields are often placeholders: its rate is a 16.16 fixed-point number, too
/// small for rates above 65535 Hz, and its channel count is a template value for AAC. So the
/// AAC decoder configuration (`esds`), ALAC's configuration box and QuickTime's version 2
/// layout are preferred when present.
struct MP4SoundDescription {
    let codec: String
    let sampleRate: Int?
    let channels: Int?

    private static let codecs = ["mp4a": "aac", "alac": "alac", "ac-3": "ac3", "ec-3": "eac3", "Opus": "opus", "fLaC": "flac", ".mp3": "mp3"]

    init(_ entry: MP4Box, _ reader: SourceReader) throws {
        let body = try entry.body(reader, count: 48)
        // reserved(6) data-reference(2) version(2) revision(2) vendor(4) channels(2) sample size(2)
        // compression(2) packet size(2) rate(4, 16.16); version 1 adds 16 bytes, version 2 adds 36.
        guard let version = body.be16(at: 8), let channels16 = body.be16(at: 16), let rate = body.be32(at: 24) else {
            throw AudioProbeError.corrupt(.m4a, "the '\(entry.type)' sample description is too short")
        }
        var channels = Int(channels16)
        var sampleRate = Int(rate >> 16)
        if version == 2, let rateBits = body.be64(at: 32), let channels32 = body.be32(at: 40) {
            channels = Int(channels32)
            sampleRate = Int(roundingChecked: Double(bitPattern: rateBits)) ?? 0
        }
        var codec = Self.codecs[entry.type] ?? entry.type.withoutTrailingSpaces()
        for child in try Self.extensionBoxes(entry, start: entry.bodyStart + 28 + (version == 1 ? 16 : version == 2 ? 36 : 0), reader) {
            switch (entry.type, child.type) {
            case ("alac", "alac"):
                // Version and flags, then ALACSpecificConfig: channels 9 bytes in, sample rate 20 bytes in.
                let config = try child.body(reader, count: 28)
                if let alacChannels = config.byte(at: 13), let alacRate = config.be32(at: 24) {
                    channels = Int(alacChannels)
                    sampleRate = Int(alacRate)
                }
            case ("mp4a", "esds"):
                if let descriptor = try MP4ESDescriptor(child.body(reader, count: 256)) {
                    codec = descriptor.codec
                    channels = descriptor.channels ?? channels
                    sampleRate = descriptor.sampleRate ?? sampleRate
                }
            default:
                break
            }
        }
        self.codec = codec
        self.channels = channels > 0 ? channels : nil
        self.sampleRate = sampleRate > 0 ? sampleRate : nil
    }

    /// The boxes after the entry's fixed fields. They only refine what the entry says, so damage
    /// there is ignored rather than failing the whole file.
    private static func extensionBoxes(_ entry: MP4Box, start: Int64, _ reader: SourceReader) throws -> [MP4Box] {
        guard start <= entry.end else { return [] }
        do {
            return try MP4Box.sequence(reader, from: start, to: entry.end, parent: entry.type)
        } catch is AudioProbeError {
            return []
        }
    }
}
