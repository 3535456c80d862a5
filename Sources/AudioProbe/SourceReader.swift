/// The probers' view of a ``ByteSource``.
///
/// It clamps every request into the file and caps its length, so a corrupt size field can neither
/// read out of bounds nor make the prober allocate gigabytes; a source that returns more than
/// was asked for is trimmed rather than trusted.
struct SourceReader {
    /// The largest single read; probers that need more read in steps.
    static let maxRead = 1 << 20

    private let source: any ByteSource
    let size: Int64

    init(_ source: some ByteSource) {
        self.source = source
        self.size = max(0, source.size)
    }

    /// Up to `count` bytes at `offset` (at most ``maxRead``); empty outside the file.
    func read(at offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        let wanted = Int(min(Int64(min(count, Self.maxRead)), size - offset))
        let bytes = try source.read(at: offset, count: wanted)
        return bytes.count > wanted ? Array(bytes.prefix(wanted)) : bytes
    }

    /// Exactly `count` bytes, or `truncated` naming the `part` of the file that was cut off.
    func readExactly(_ count: Int, at offset: Int64, format: AudioFormat, part: String) throws -> [UInt8] {
        let bytes = try read(at: offset, count: count)
        guard bytes.count == count else {
            throw AudioProbeError.truncated(format, "the file ends inside the \(part)")
        }
        return bytes
    }
}
