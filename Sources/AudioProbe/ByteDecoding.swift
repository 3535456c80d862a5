/// Bounds-checked field access for header bytes.
///
/// Every accessor returns nil instead of trapping when the field does not fit, because the
/// bytes come from untrusted files and from reads that may have come up short.
extension Array where Element == UInt8 {
    /// The unsigned integer of `width` bytes (at most 8) at `offset`.
    func unsigned(at offset: Int, width: Int, bigEndian: Bool) -> UInt64? {
        guard offset >= 0, width > 0, width <= 8, width <= count - offset else { return nil }
        var value: UInt64 = 0
        for i in 0..<width {
            let byte = UInt64(self[bigEndian ? offset + i : offset + width - 1 - i])
            value = value << 8 | byte
        }
        return value
    }

    func be16(at offset: Int) -> UInt16? { unsigned(at: offset, width: 2, bigEndian: true).map { UInt16($0) } }
    func be24(at offset: Int) -> UInt32? { unsigned(at: offset, width: 3, bigEndian: true).map { UInt32($0) } }
    func be32(at offset: Int) -> UInt32? { unsigned(at: offset, width: 4, bigEndian: true).map { UInt32($0) } }
    func be64(at offset: Int) -> UInt64? { unsigned(at: offset, width: 8, bigEndian: true) }
    func le16(at offset: Int) -> UInt16? { unsigned(at: offset, width: 2, bigEndian: false).map { UInt16($0) } }
    func le32(at offset: Int) -> UInt32? { unsigned(at: offset, width: 4, bigEndian: false).map { UInt32($0) } }
    func le64(at offset: Int) -> UInt64? { unsigned(at: offset, width: 8, bigEndian: false) }

    func byte(at offset: Int) -> UInt8? {
        offset >= 0 && offset < count ? self[offset] : nil
    }

    /// Whether the ASCII text `tag` (a magic number or chunk id) appears at `offset`.
    func matches(_ tag: String, at offset: Int) -> Bool {
        let utf8 = tag.utf8
        guard offset >= 0, utf8.count <= count - offset else { return false }
        return self[offset..<offset + utf8.count].elementsEqual(utf8)
    }

    /// A four-character code (chunk or box type) as text, with non-ASCII bytes replaced by "?".
    func fourCC(at offset: Int) -> String? {
        guard offset >= 0, 4 <= count - offset else { return nil }
        let scalars = self[offset..<offset + 4].map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "?" }
        return String(scalars)
    }
}

extension String {
    /// A four-character code as a name: "ima4" stays, "raw " becomes "raw".
    func withoutTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
