public import AudioProbe
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Random access to a stored or uploaded file with `pread`, so the probe reads only the headers
/// and tails it needs and a 1 GiB file is never held in memory.
public final class FileByteSource: ByteSource, @unchecked Sendable {
    private let fd: Int32
    public let size: Int64

    public init(path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileStoreError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw FileStoreError.io("cannot stat \(path)")
        }
        size = Int64(st.st_size)
    }

    deinit { close(fd) }

    public func read(at offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        let wanted = Int(min(Int64(count), size - offset))
        var bytes = [UInt8](repeating: 0, count: wanted)
        let done = try bytes.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        if done < wanted { bytes.removeLast(wanted - done) }
        return bytes
    }

    /// Fills `buffer` from `offset` (fewer bytes at the end of the file); returns how many were read.
    /// Lets the download path read straight into a response buffer, without an intermediate array.
    public func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileStoreError.io("read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }
}
