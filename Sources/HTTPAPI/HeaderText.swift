/// Byte-wise ASCII helpers for header values (media types, multipart part headers).
///
/// Byte-wise rather than Foundation's `trimmingCharacters`, which showed up in the benchmark's
/// profile of a create just for reading `Content-Type`.
enum HeaderText {
    /// The bytes as text, without leading and trailing spaces and tabs.
    static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> String {
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }),
            let last = bytes.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    /// The media type of a `Content-Type` value: the part before any `;`, trimmed, lower-cased
    /// (`Application/JSON; charset=utf-8` → `application/json`).
    static func mediaType(_ contentType: String) -> String {
        trimmed(contentType.utf8.prefix { $0 != UInt8(ascii: ";") }).lowercased()
    }
}
