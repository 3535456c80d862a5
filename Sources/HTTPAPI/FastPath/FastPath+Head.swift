import NIOHTTP1

extension FastPath {
    /// What the fast path reads of a request's headers, found in one pass over them.
    ///
    /// `leaveToNormalPath` is set by any header whose handling lives in the normal path only
    /// (CORS's `Origin`, `Connection`, framing and encodings, `Expect`, conditional requests, the
    /// tus method override) and by a repeated header the fast path reads: the normal path joins
    /// repeated fields (`HTTPFields.value`), so two `Authorization` lines are one malformed key
    /// there, never the first of them.
    struct HeadFacts {
        var host: String?
        var authorization: String?
        var contentType: String?
        var contentLength: String?
        var requestID: String?
        var leaveToNormalPath = false

        init(_ headers: HTTPHeaders) {
            for (name, value) in headers {
                let utf8 = name.utf8
                switch utf8.count {
                case 4 where Self.equal(utf8, "host"): Self.keep(value, in: &host, &leaveToNormalPath)
                case 6 where Self.equal(utf8, "origin") || Self.equal(utf8, "expect"): leaveToNormalPath = true
                case 10 where Self.equal(utf8, "connection"): leaveToNormalPath = true
                case 12 where Self.equal(utf8, "content-type"): Self.keep(value, in: &contentType, &leaveToNormalPath)
                case 12 where Self.equal(utf8, "x-request-id"): Self.keep(value, in: &requestID, &leaveToNormalPath)
                case 13 where Self.equal(utf8, "authorization"): Self.keep(value, in: &authorization, &leaveToNormalPath)
                case 13 where Self.equal(utf8, "if-none-match"): leaveToNormalPath = true
                case 14 where Self.equal(utf8, "content-length"): Self.keep(value, in: &contentLength, &leaveToNormalPath)
                case 16 where Self.equal(utf8, "content-encoding"): leaveToNormalPath = true
                case 17 where Self.equal(utf8, "transfer-encoding"): leaveToNormalPath = true
                case 22 where Self.equal(utf8, "x-http-method-override"): leaveToNormalPath = true
                default: break
                }
            }
        }

        private static func keep(_ value: String, in slot: inout String?, _ leave: inout Bool) {
            if slot != nil { leave = true }
            slot = value
        }

        /// `name` equals `lower` (lower-case ASCII) without regard to case; the lengths are equal.
        private static func equal(_ name: String.UTF8View, _ lower: StaticString) -> Bool {
            var index = 0
            let bytes = lower.utf8Start
            for byte in name {
                let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                if folded != bytes[index] { return false }
                index += 1
            }
            return true
        }
    }
}
