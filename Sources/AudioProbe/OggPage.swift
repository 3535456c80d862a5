/// One page of an Ogg bitstream: a 27-byte header, a segment ("lacing") table and the body.
///
/// Pages carry the granule position — for audio, the sample count at the end of the last packet
/// completed on the page — which is how an Ogg file states its length.
struct OggPage {
    /// The longest header: 27 fixed bytes plus a full segment table.
    static let maxHeaderLength = 27 + 255

    let flags: UInt8
    /// -1 when no packet ends on this page.
    let granulePosition: Int64
    let serial: UInt32
    let lacing: [UInt8]

    var headerLength: Int { 27 + lacing.count }
    var length: Int { headerLength + lacing.reduce(0) { $0 + Int($1) } }
    var isBeginningOfStream: Bool { flags & 0x02 != 0 }

    /// The page header at `index`, or nil when the bytes there are not a version-0 page header
    /// or stop before its segment table does.
    init?(_ bytes: [UInt8], at index: Int) {
        guard bytes.matches("OggS", at: index), bytes.byte(at: index + 4) == 0, let flags = bytes.byte(at: index + 5),
            let granule = bytes.le64(at: index + 6), let serial = bytes.le32(at: index + 14),
            let segments = bytes.byte(at: index + 26), Int(segments) <= bytes.count - index - 27
        else { return nil }
        self.flags = flags
        granulePosition = Int64(bitPattern: granule)
        self.serial = serial
        lacing = Array(bytes[index + 27..<index + 27 + Int(segments)])
    }

    /// The length of the first packet, or nil when it continues onto the next page.
    var firstPacketLength: Int? {
        var total = 0
        for value in lacing {
            total += Int(value)
            if value < 255 { return total }
        }
        return nil
    }

    /// Whether the CRC-32 stored in a complete page's header matches its contents.
    static func checksumMatches(_ page: [UInt8]) -> Bool {
        guard let stored = page.le32(at: 22) else { return false }
        var crc: UInt32 = 0
        for (index, byte) in page.enumerated() {
            let value = (22..<26).contains(index) ? 0 : byte  // the CRC field counts as zero
            crc = crc << 8 ^ crcTable[Int(crc >> 24 ^ UInt32(value))]
        }
        return crc == stored
    }

    /// Ogg's CRC-32: polynomial 0x04C11DB7, most significant bit first, no reflection or final XOR.
    private static let crcTable: [UInt32] = (0..<256).map { index in
        var remainder = UInt32(index) << 24
        for _ in 0..<8 { remainder = remainder & 0x8000_0000 != 0 ? remainder << 1 ^ 0x04C1_1DB7 : remainder << 1 }
        return remainder
    }
}
