import Foundation

/// The opaque `next_cursor` of list pages: the last id of the page, base64url-encoded with a
/// version prefix so that its format can change without breaking clients mid-pagination.
enum Cursor {
    static func encode(afterID id: Int64) -> String {
        Data("v1:\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> Int64? {
        var b64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard text.count <= 64, let data = Data(base64Encoded: b64),
              let plain = String(data: data, encoding: .utf8), plain.hasPrefix("v1:"),
              let id = Int64(plain.dropFirst(3)), id >= 0 else { return nil }
        return id
    }
}
