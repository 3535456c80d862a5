import Crypto
import KindModel
import Storage

/// The opaque `next_cursor` of list pages: base64url of a small JSON object holding the sort
/// spec the page was made with, the last record's sort-key values and its id, then `.` and an
/// HMAC-SHA256 tag (first 16 bytes) under the server's secret.
///
/// Why signed: the values go to PostgreSQL as text cast to the sort columns, so an edited cursor
/// could carry input PostgreSQL reads specially (`now`, `epoch`, `infinity`) or that it refuses
/// with its own error text. A cursor that was not issued by a server holding the same secret
/// (`SECRET_KEY`; several servers behind one balancer must share it) is refused before any of
/// its values is read.
/// What a list's cursors are bound to besides the kind: the `sort` as the request spelled it, and
/// the fingerprint of its filters (`CursorSigner.filterPrint`), computed once per request for both
/// the cursor it was sent and the one it is answered with.
struct CursorScope: Sendable, Equatable {
    var sort: String
    var filters: String
}

public struct CursorSigner: Sendable {
    /// The HMAC with the key's pads already absorbed: each tag copies it and hashes only the
    /// cursor (every list page signs one, so the per-key work is done once, not per page).
    private let keyed: HMAC<SHA256>

    /// Signs with a key derived from `secret` (so any length of secret gives a full-size key).
    public init(secret: String) {
        self.init(key: SymmetricKey(data: SHA256.hash(data: Array("audio-server cursor\u{0}\(secret)".utf8))))
    }

    /// A random key: cursors last as long as the process.
    public static func ephemeral() -> CursorSigner {
        CursorSigner(key: SymmetricKey(size: .bits256))
    }

    private init(key: SymmetricKey) { keyed = HMAC<SHA256>(key: key) }

    private func tag(_ payload: [UInt8]) -> [UInt8] {
        var hmac = keyed
        // One contiguous raw buffer: the array would go through the generic `DataProtocol` regions.
        payload.withUnsafeBytes { hmac.update(data: $0) }
        return hmac.finalize().withUnsafeBytes { Array($0.prefix(Self.tagBytes)) }
    }

    private static let tagBytes = 16

    /// A cursor for the page after `position` of `kind`'s list in `scope`: it is refused for another
    /// kind or sort (another kind's values would be compared with this one's columns) and for other
    /// filters (the next page of other filters would silently skip every match before the position).
    func encode(_ position: PagePosition, kind: String, scope: CursorScope) -> String {
        var members: [(String, JSONValue)] = [
            ("t", .string(kind)),
            ("s", .string(scope.sort)),
            ("k", .array(position.values.map { $0.map(JSONValue.string) ?? .null })),
            ("i", .integer(position.id)),
        ]
        if !scope.filters.isEmpty { members.append(("f", .string(scope.filters))) }
        let payload = Array(JSONWriter.string(.object(JSONObject(members))).utf8)
        return Base64URL.encode(payload) + "." + Base64URL.encode(tag(payload))
    }

    /// What a cursor text is to a page request.
    enum Reading: Equatable {
        case position(PagePosition)
        /// Issued by this server for this kind and sort, but for other filters.
        case otherFilters
        /// Not a cursor this server issued for this kind and sort (or edited).
        case invalid
    }

    /// The position, when the text is a cursor issued under this key for `kind` and `scope`.
    func decode(_ text: String, kind: String, scope: CursorScope, keyCount: Int) -> Reading {
        guard let (position, printed) = read(text, kind: kind, sort: scope.sort, keyCount: keyCount) else { return .invalid }
        return printed == scope.filters ? .position(position) : .otherFilters
    }

    /// A short fingerprint of a list's filters (and `has_file`), in any order: 96 bits of a SHA-256
    /// of them, so a cursor stays short however many filters it was made under. "" without filters
    /// (a cursor without `f`).
    static func filterPrint(_ query: ListQuery) -> String {
        var terms = query.filters.map { JSONValue.array([.string($0.field.name), .string($0.op.rawValue), .string($0.value)]) }
        if let hasFile = query.hasFile { terms.append(.array([.string("has_file"), .bool(hasFile)])) }
        guard !terms.isEmpty else { return "" }
        let texts = terms.map { JSONWriter.string($0) }.sorted()
        let digest = SHA256.hash(data: Array(texts.joined(separator: "\n").utf8))
        return Base64URL.encode(Array(digest.prefix(12)))
    }

    /// The position and filter print of a cursor issued under this key for `kind` and `sort`.
    private func read(_ text: String, kind: String, sort: String, keyCount: Int) -> (PagePosition, String)? {
        guard text.utf8.count <= 8192, let dot = text.utf8.lastIndex(of: UInt8(ascii: ".")) else { return nil }
        let payloadText = Substring(text)[..<dot]
        let tagText = Substring(text)[text.index(after: dot)...]
        guard let payload = Base64URL.decode(payloadText.utf8), let tag = Base64URL.decode(tagText.utf8),
            tag.count == Self.tagBytes
        else { return nil }
        // Constant-time: compare the full expected prefix with the given tag without early exit.
        let expected = self.tag(payload)
        var difference: UInt8 = 0
        for (a, b) in zip(expected, tag) { difference |= a ^ b }
        guard difference == 0,
            case .object(let o)? = try? JSONParser.parse(payload),
            o["t"]?.stringValue == kind, o["s"]?.stringValue == sort,
            case .number(let n)? = o["i"], let id = n.int64, id >= 0,
            let keys = o["k"]?.arrayValue, keys.count == keyCount
        else { return nil }
        let printed: String
        switch o["f"] {
        case nil: printed = ""
        case .string(let f)?: printed = f
        default: return nil
        }
        var values: [String?] = []
        for key in keys {
            switch key {
            case .null: values.append(nil)
            case .string(let s): values.append(s)
            default: return nil
            }
        }
        return (PagePosition(values: values, id: id), printed)
    }
}
