import AudioProbe

/// A large file that exists only as a few defined regions (zeros elsewhere), counting what is
/// read — to show probing jumps over media data instead of reading it.
final class SparseByteSource: ByteSource {
    let size: Int64
    private let regions: [(offset: Int64, bytes: [UInt8])]
    private(set) var bytesRead = 0

    init(size: Int64, regions: [(offset: Int64, bytes: [UInt8])]) {
        self.size = size
        self.regions = regions
    }

    func read(at offset: Int64, count: Int) -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        let length = Int(min(Int64(count), size - offset))
        var result = [UInt8](repeating: 0, count: length)
        for region in regions {
            let start = max(offset, region.offset)
            let end = min(offset + Int64(length), region.offset + Int64(region.bytes.count))
            guard start < end else { continue }
            let source = Int(start - region.offset)..<Int(end - region.offset)
            result.replaceSubrange(Int(start - offset)..<Int(end - offset), with: region.bytes[source])
        }
        bytesRead += length
        return result
    }
}

/// A source whose reads fail, standing in for a disk error.
struct FailingByteSource: ByteSource {
    struct DiskError: Error, Equatable {}
    let prefix: [UInt8]
    var size: Int64 { 1 << 30 }

    func read(at offset: Int64, count: Int) throws -> [UInt8] {
        guard offset == 0 else { throw DiskError() }
        return Array(prefix.prefix(count))
    }
}

/// SplitMix64: a tiny seeded generator, so every fuzz case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
