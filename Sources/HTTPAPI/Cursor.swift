import KindModel
import Storage

/// The opaque `next_cursor` of list pages: base64url of a small JSON object holding the sort
/// spec the page was made with, the last record's sort-key values and its id. Clients treat it as
/// opaque; the server checks it belongs to the same sort before using it.
enum Cursor {
    static func encode(_ position: PagePosition, sort: String) -> String {
        let object = JSONValue.object(JSONObject([
            ("s", .string(sort)),
            ("k", .array(position.values.map { $0.map(JSONValue.string) ?? .null })),
            ("i", .integer(position.id)),
        ]))
        return Base64URL.encode(Array(JSONWriter.string(object).utf8))
    }

    /// The position, or nil when the text is not a cursor this server issued for `sort`.
    static func decode(_ text: String, sort: String, keyCount: Int) -> PagePosition? {
        guard text.utf8.count <= 8192 else { return nil }
        guard let data = Base64URL.decode(Substring(text).utf8),
              case .object(let o)? = try? JSONParser.parse(data),
              o["s"]?.stringValue == sort,
              case .number(let n)? = o["i"], let id = n.int64, id >= 0,
              let keys = o["k"]?.arrayValue, keys.count == keyCount else { return nil }
        var values: [String?] = []
        for key in keys {
            switch key {
            case .null: values.append(nil)
            case .string(let s): values.append(s)
            default: return nil
            }
        }
        return PagePosition(values: values, id: id)
    }
}
