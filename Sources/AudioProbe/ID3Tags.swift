/// ID3v2 tags precede MP3 audio (and sometimes FLAC); they can be hundreds of kilobytes when a
/// cover picture is embedded, so they are skipped by their declared size, never read.
enum ID3v2 {
    /// The length of the tag at the start of `bytes` (header, body and optional v2.4 footer),
    /// or nil when `bytes` do not start with a well-formed ID3v2 header.
    static func tagLength(_ bytes: [UInt8]) -> Int64? {
        guard bytes.matches("ID3", at: 0), let major = bytes.byte(at: 3), (2...4).contains(major),
            let revision = bytes.byte(at: 4), revision != 0xFF, let flags = bytes.byte(at: 5),
            let size = bytes.be32(at: 6), size & 0x8080_8080 == 0
        else { return nil }
        // The size is "syncsafe": 7 bits per byte, so it never contains a false frame sync.
        let body = Int64(size & 0x7F | (size >> 8 & 0x7F) << 7 | (size >> 16 & 0x7F) << 14 | (size >> 24 & 0x7F) << 21)
        let footer: Int64 = major == 4 && flags & 0x10 != 0 ? 10 : 0
        return 10 + body + footer
    }
}

/// Tags appended after the last MP3 frame, which a frame scan must not mistake for audio.
enum TrailingTags {
    /// Where the audio ends once a trailing ID3v1 tag ("TAG", 128 bytes) and APEv2 tag
    /// ("APETAGEX" footer) are cut off; never before `start`.
    static func audioEnd(_ reader: SourceReader, after start: Int64) throws -> Int64 {
        var end = reader.size
        // Up to two tags: an APEv2 tag usually sits just before the ID3v1 tag, but either order occurs.
        for _ in 0..<2 {
            if end - 128 >= start, try reader.read(at: end - 128, count: 3).matches("TAG", at: 0) {
                end -= 128
            } else if end - 32 >= start, let apeLength = try apeTagLength(reader.read(at: end - 32, count: 32)),
                apeLength <= end - start
            {
                end -= apeLength
            }
        }
        return end
    }

    /// The APEv2 tag length from its 32-byte footer: the declared size covers items and footer;
    /// flag bit 31 says a 32-byte header precedes them.
    private static func apeTagLength(_ footer: [UInt8]) -> Int64? {
        guard footer.matches("APETAGEX", at: 0), let size = footer.le32(at: 12), let flags = footer.le32(at: 20) else { return nil }
        return Int64(size) + (flags & 0x8000_0000 != 0 ? 32 : 0)
    }
}
