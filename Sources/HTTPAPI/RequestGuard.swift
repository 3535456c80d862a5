import HTTPTypes
import Hummingbird

#if canImport(Glibc)
import Glibc
import KindModel
import Foundation
#endif

/// The host names a request's `Host` may carry (`ALLOWED_HOSTS`), so that a web page cannot reach
/// a server on loopback through DNS rebinding: the browser then sends the attacker's name.
public struct HostAllowList: Sendable {
    /// Lower-case names without port (`localhost`, `127.0.0.1`, `[::1]`); any port matches.
    public let names: [String]
    /// `*`: every Host is accepted.
    public let allowsAll: Bool

    public init(names: [String], allowsAll: Bool = false) {
        self.names = names.map { name in
            let lower = name.lowercased()
            // A bare IPv6 address (`::1`) is written in brackets in a Host header.
            if !lower.hasPrefix("["), lower.filter({ $0 == ":" }).count > 1 { return "[\(lower)]" }
            return Self.hostPart(Substring(lower)).map(String.init) ?? lower
        }
        self.allowsAll = allowsAll
    }

    /// `ALLOWED_HOSTS` text: comma-separated names (a port after a name is ignored), or `*`.
    /// Nil for an empty list.
    public init?(setting: String) {
        let items = setting.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { return nil }
        if items.contains("*") { self.init(names: [], allowsAll: true) } else { self.init(names: items) }
    }

    static let loopbackNames = ["localhost", "127.0.0.1", "[::1]"]

    /// The default: loopback names plus the address the server listens on; for a wildcard address
    /// (`0.0.0.0`, `::`), this machine's host name and the addresses of its interfaces.
    public static func defaults(listeningOn host: String) -> HostAllowList {
        var names = loopbackNames
        if host == "0.0.0.0" || host == "::" || host.isEmpty {
            names += localNames()
        } else {
            names.append(host)
        }
        var seen = Set<String>()
        return HostAllowList(names: names.filter { seen.insert($0.lowercased()).inserted })
    }

    /// A NUL-terminated C string from a fixed buffer.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The machine's host name and interface addresses (IPv6 in brackets).
    static func localNames() -> [String] {
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        if gethostname(&buffer, buffer.count) == 0 { names.append(Self.text(buffer)) }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return names }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr else { continue }
            let family = Int32(address.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(address, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let name = Self.text(text)
            if name.contains("%") { continue }  // link-local with a zone: not usable in a Host header
            names.append(family == AF_INET6 ? "[\(name)]" : name)
        }
        return names
    }

    /// The host of an authority: `[::1]:8080` → `[::1]`, `example.com:80` → `example.com`; nil when empty.
    static func hostPart(_ authority: Substring) -> Substring? {
        var host = authority
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { host = host[...close] }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return host.isEmpty ? nil : host
    }

    /// Whether `authority` (the request's Host) names this server. A request without one is
    /// accepted: browsers always send it, so rebinding cannot reach the server that way (an
    /// HTTP/1.1 request without one never gets here with nil: `RequestHost` marks it with an empty
    /// Host, which no list allows).
    public func allows(_ authority: String?) -> Bool {
        guard let authority else { return true }
        return Self.isWellFormed(authority) && (allowsAll || matches(authority))
    }

    /// Whether `authority` is a `Host` value RFC 9112 §3.2 accepts: `uri-host [":" port]` of RFC
    /// 3986 §3.2.2–3 — an IP literal in brackets, or a name or IPv4 address of unreserved
    /// characters, sub-delims and %-escapes — then at most five port digits. Anything else
    /// (spaces, `/`, `@`, a port that is not a number) is a malformed request, a 400, not a name
    /// this server might have had (421). One pass over a few bytes.
    static func isWellFormed(_ authority: String) -> Bool {
        var bytes = authority.utf8[...]
        guard let first = bytes.first else { return false }
        if first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = bytes[bytes.index(after: bytes.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ isRegName($0) || $0 == UInt8(ascii: ":") }) else { return false }
            bytes = bytes[bytes.index(after: close)...]
        } else {
            let end = bytes.firstIndex(of: UInt8(ascii: ":")) ?? bytes.endIndex
            let name = bytes[..<end]
            guard !name.isEmpty, name.allSatisfy(isRegName) else { return false }
            // A %-escape is two hex digits.
            var rest = name[...]
            while let percent = rest.firstIndex(of: UInt8(ascii: "%")) {
                let digits = rest[rest.index(after: percent)...].prefix(2)
                guard digits.count == 2, digits.allSatisfy(isHexDigit) else { return false }
                rest = rest[digits.endIndex...]
            }
            bytes = bytes[end...]
        }
        guard let colon = bytes.first else { return true }
        let port = bytes.dropFirst()
        return colon == UInt8(ascii: ":") && port.count <= 5 && port.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// unreserved / sub-delims / "%" (RFC 3986 §3.2.2's reg-name, of which an IPv4 address is one).
    private static func isRegName(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"): true
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            true
        default: false
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x66)
    }

    func matches(_ authority: String) -> Bool {
        guard let host = Self.hostPart(Substring(authority)) else { return false }
        for name in names where name.utf8.count == host.utf8.count {
            if name.utf8.elementsEqual(host.utf8) { return true }
        }
        // Host names are case-insensitive; this slower path runs only for a miss.
        let lower = host.lowercased()
        return names.contains(lower)
    }
}

/// Refuses requests the API cannot serve as sent, before any handler runs: a `Host` that is not
/// this server (421), a missing or repeated `Host` (400, found by `RequestHost`) or a malformed one (400), a `Transfer-Encoding` other than chunked (501), a `Content-Encoding` on a
/// body (415: bodies are read as sent, never decompressed). A few header comparisons per request,
/// made by `RequestMiddleware` (one middleware layer for all of them: each layer costs an async
/// frame and a copy of the request context on every request).
enum RequestGuard {
    static func refuse(_ request: Request, hosts: HostAllowList) throws {
        let head = request.head
        guard hosts.allows(head.authority) else {
            if head.authority == "" { throw Self.invalidHost(Self.missingOrRepeated(head.headerFields[values: Self.host]), hosts: hosts) }
            if let authority = head.authority, !HostAllowList.isWellFormed(authority) {
                let shown = authority.count > 100 ? "\(authority.prefix(100))…" : authority
                throw Self.invalidHost(
                    "The Host header '\(shown)' is not a host name or address with an optional port (RFC 3986 §3.2.2)", hosts: hosts)
            }
            throw Problem(
                .hostNotAllowed,
                detail:
                    "This server does not answer for Host '\(head.authority ?? "")'. Use one of its own names (\(hosts.names.joined(separator: ", "))), or add this one to the ALLOWED_HOSTS setting (comma-separated names, * for any).",
                extensions: [("allowed_hosts", .array(hosts.names.map { .string($0) }))])
        }
        let fields = head.headerFields
        if let encoding = fields.value(.transferEncoding), !Self.isChunked(encoding) {
            throw Problem(
                .unsupportedTransferEncoding,
                detail:
                    "Transfer-Encoding '\(encoding)' is not supported: this server accepts only chunked (or a Content-Length); send the body unencoded.",
                // Where such a body ends is unknown: the connection is closed after this answer.
                headers: [.connection: "close"]
            )
        }
        if let encoding = fields.value(.contentEncoding), encoding.lowercased() != "identity",
            fields.value(.transferEncoding) != nil || (fields.value(.contentLength).map { $0 != "0" } ?? false)
        {
            throw Problem(
                .unsupportedContentEncoding,
                detail:
                    "The body is sent with Content-Encoding '\(encoding)', which this server does not decode; send it uncompressed (identity) and without the Content-Encoding header.",
                headers: [.acceptEncoding: "identity"])
        }
    }

    static let host = HTTPField.Name("Host")!

    /// RFC 9112 §3.2's 400 for a `Host` that is missing, repeated or malformed; `found` says which.
    static func invalidHost(_ found: String, hosts: HostAllowList) -> Problem {
        let names = hosts.allowsAll ? "any name of this server" : "one of \(hosts.names.joined(separator: ", "))"
        return Problem(
            .invalidHost, detail: "\(found) (RFC 9112 §3.2). Send exactly one Host header with \(names).",
            extensions: [("allowed_hosts", .array(hosts.names.map { .string($0) }))])
    }

    /// What `invalidHost` says of `lines`, the Host lines after the empty one `RequestHost` put
    /// first (none when there was none, or one that was empty).
    static func missingOrRepeated(_ lines: [String]) -> String {
        lines.count > 1
            ? "The request has \(lines.count) Host headers (\(lines.map { "'\($0)'" }.joined(separator: ", "))); a request may carry only one"
            : "The request has no Host header, or an empty one; an HTTP/1.1 request must name the server it is for"
    }

    static func isChunked(_ value: String) -> Bool {
        value.count == 7 ? value.lowercased() == "chunked" : value.trimmingCharacters(in: .whitespaces).lowercased() == "chunked"
    }
}
