/// The header a VBR encoder writes into the first frame in place of audio — Xing/Info (LAME,
/// FFmpeg) or VBRI (Fraunhofer) — which counts the frames so the duration needs no scan.
struct MPEGVBRHeader {
    let frames: UInt32
    /// The stream size in bytes the encoder wrote, when it recorded one.
    let bytes: UInt32?
    /// LAME and FFmpeg name the header "Info" instead of "Xing" in a constant-bitrate file.
    let isConstantBitrate: Bool
    /// Encoder delay plus end padding, in samples, from the LAME extension: samples the decoder
    /// discards, so they are not part of the duration.
    let paddingSamples: Int

    /// Reads the header from the first frame's bytes, or nil when there is none (or it has no frame count).
    init?(frame: [UInt8], header: MPEGFrameHeader) {
        guard header.layer == 3 else { return nil }
        // Xing sits right after the side information, whose size depends on version and channels.
        let sideInfo = header.version == .mpeg1 ? (header.isMono ? 17 : 32) : (header.isMono ? 9 : 17)
        let xing = 4 + sideInfo
        if frame.matches("Xing", at: xing) || frame.matches("Info", at: xing) {
            guard let flags = frame.be32(at: xing + 4), flags & 1 != 0,
                let frames = frame.be32(at: xing + 8), frames > 0
            else { return nil }
            var cursor = xing + 12
            if flags & 2 != 0 {
                bytes = frame.be32(at: cursor)
                cursor += 4
            } else {
                bytes = nil
            }
            if flags & 4 != 0 { cursor += 100 }  // seek table
            if flags & 8 != 0 { cursor += 4 }  // quality
            self.frames = frames
            isConstantBitrate = frame.matches("Info", at: xing)
            paddingSamples = Self.lameDelayAndPadding(frame, at: cursor)
        } else if frame.matches("VBRI", at: 36) {
            // VBRI: version, delay, quality (2 bytes each), then bytes and frames.
            guard let bytes = frame.be32(at: 46), let frames = frame.be32(at: 50), frames > 0 else { return nil }
            self.frames = frames
            self.bytes = bytes
            isConstantBitrate = false
            paddingSamples = 0
        } else {
            return nil
        }
    }

    /// The LAME extension follows the Xing fields: a 9-byte encoder name, then 12 bits of encoder
    /// delay and 12 bits of padding 21 bytes in.
    private static func lameDelayAndPadding(_ frame: [UInt8], at offset: Int) -> Int {
        guard frame.matches("LAME", at: offset) || frame.matches("Lavc", at: offset) || frame.matches("Lavf", at: offset),
            let packed = frame.be24(at: offset + 21)
        else { return 0 }
        return Int(packed >> 12) + Int(packed & 0xFFF)
    }
}
