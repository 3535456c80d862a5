/// Counts the frames of an MP3 that has no Xing/VBRI header.
///
/// Without such a header a constant-bitrate file cannot be told from a variable-bitrate one
/// except by looking at every frame header, so the scan walks frame to frame through the whole
/// file (usually few kilobytes per frame, read in 64 KiB chunks: bounded memory, linear time).
/// After junk it re-synchronises byte by byte, accepting a header only when the next frame's
/// header confirms it. A partial last frame is not counted.
enum MPEGFrameScanner {
    struct Result {
        let frames: Int64
        /// The bitrate every frame shares, or nil for variable bitrate.
        let constantBitrate: Int?
    }

    static func scan(_ reader: SourceReader, from start: Int64, to end: Int64, stream first: MPEGFrameHeader) throws -> Result {
        var window = ReadWindow(reader: reader)
        var offset = start
        var frames: Int64 = 0
        var bitrate: Int? = first.bitrate
        var inSync = true
        while offset + 4 <= end {
            if let header = try window.header(at: offset), header.continues(first) {
                let next = offset + Int64(header.frameLength)
                if next > end { break }
                let confirmed = try inSync || next + 4 > end || window.header(at: next)?.continues(first) == true
                if confirmed {
                    frames += 1
                    if header.bitrate != bitrate { bitrate = nil }
                    offset = next
                    inSync = true
                    continue
                }
            }
            inSync = false
            offset += 1
        }
        return Result(frames: frames, constantBitrate: bitrate)
    }
}

/// A forward-moving read buffer: serves the scan's 4-byte reads from one chunk and refills when a
/// read falls outside it.
private struct ReadWindow {
    let reader: SourceReader
    private var base: Int64 = 0
    private var buffer: [UInt8] = []
    private static let chunkSize = 64 * 1024

    init(reader: SourceReader) {
        self.reader = reader
    }

    mutating func header(at offset: Int64) throws -> MPEGFrameHeader? {
        if offset < base || offset - base > Int64(buffer.count - 4) {
            buffer = try reader.read(at: offset, count: Self.chunkSize)
            base = offset
        }
        return MPEGFrameHeader(buffer, at: Int(offset - base))
    }
}
