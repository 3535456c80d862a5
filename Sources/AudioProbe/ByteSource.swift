/// Random access to the bytes being probed.
///
/// The storage layer implements it over a file with `pread`, so probing a 1 GiB file reads only
/// the few headers and tails that matter and never loads the file into memory.
public protocol ByteSource {
    var size: Int64 { get }
    /// Up to `count` bytes starting at `offset`; fewer when the read runs past the end.
    /// Errors thrown here (I/O failures) propagate out of ``AudioProbe/probe(_:)`` unchanged.
    func read(at offset: Int64, count: Int) throws -> [UInt8]
}

/// A ``ByteSource`` over bytes already in memory, for small uploads and tests.
public struct InMemoryByteSource: ByteSource, Sendable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var size: Int64 { Int64(bytes.count) }

    public func read(at offset: Int64, count: Int) -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        let start = Int(offset)
        return Array(bytes[start..<start + min(count, bytes.count - start)])
    }
}
