/// The header of one ISO base media (MP4) box: type and extent, read without touching the body.
///
/// Sizes are 32-bit, or 64-bit when the 32-bit size is 1; a size of 0 means "to the end of the
/// enclosing box" (in practice: an `mdat` written by a recorder that never went back to patch it).
struct MP4Box {
    let type: String
    let bodyStart: Int64
    let end: Int64

    /// The box starting at `offset`, whose size 0 extends to `limit`; nil when fewer than 8 bytes remain before `limit`.
    static func read(_ reader: SourceReader, at offset: Int64, limit: Int64) throws -> MP4Box? {
        guard limit - offset >= 8 else { return nil }
        let header = try reader.read(at: offset, count: 16)
        guard let size32 = header.be32(at: 0), let type = header.fourCC(at: 4) else {
            throw AudioProbeError.truncated(.m4a, "the file ends inside a box header")
        }
        var headerLength: Int64 = 8
        let size: Int64
        switch size32 {
        case 0:
            size = limit - offset
        case 1:
            guard limit - offset >= 16, let large = header.be64(at: 8) else {
                throw AudioProbeError.truncated(.m4a, "the file ends inside the header of the '\(type)' box")
            }
            guard let value = Int64(exactly: large) else {
                throw AudioProbeError.corrupt(.m4a, "the '\(type)' box declares an impossible size")
            }
            size = value
            headerLength = 16
        default:
            size = Int64(size32)
        }
        guard size >= headerLength, let end = offset.adding(size) else {
            throw AudioProbeError.corrupt(.m4a, "the '\(type)' box declares an impossible size")
        }
        return MP4Box(type: type, bodyStart: offset + headerLength, end: end)
    }

    /// The first `count` bytes of the body, fewer when the box is shorter, so fields are never read
    /// from whatever follows the box.
    func body(_ reader: SourceReader, count: Int) throws -> [UInt8] {
        try reader.read(at: bodyStart, count: Int(min(end - bodyStart, Int64(count))))
    }

    /// The boxes directly inside this one, in order.
    func children(_ reader: SourceReader) throws -> [MP4Box] {
        try MP4Box.sequence(reader, from: bodyStart, to: end, parent: type)
    }

    /// The boxes laid end to end from `start` to `end`, each required to fit inside `end`.
    /// Capped in number, since a hostile file could otherwise declare millions of tiny boxes.
    static func sequence(_ reader: SourceReader, from start: Int64, to end: Int64, parent: String) throws -> [MP4Box] {
        var boxes: [MP4Box] = []
        var offset = start
        while let box = try read(reader, at: offset, limit: end) {
            guard box.end <= end else {
                throw AudioProbeError.corrupt(.m4a, "the '\(box.type)' box overruns the '\(parent)' box that contains it")
            }
            guard boxes.count < 1024 else {
                throw AudioProbeError.corrupt(.m4a, "the '\(parent)' box holds more than 1024 boxes")
            }
            boxes.append(box)
            offset = box.end
        }
        return boxes
    }
}
