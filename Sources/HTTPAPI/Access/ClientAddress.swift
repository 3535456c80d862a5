import Foundation
import NIOCore

/// The client's address for the limiter and the audit trail: the connection's peer, or — only
/// when that peer is a proxy listed in `TRUSTED_PROXIES` — the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy, so a client cannot pick its own address.
public struct TrustedProxies: Sendable, Equatable {
    public let addresses: Set<String>

    public init(_ addresses: [String]) { self.addresses = Set(addresses.map { Self.normalised($0) }) }

    /// `TRUSTED_PROXIES` text: comma-separated IP addresses. Nil for an empty or invalid list.
    public init?(setting: String) {
        let items = setting.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { return nil }
        for item in items where (try? SocketAddress(ipAddress: item, port: 0)) == nil { return nil }
        self.init(items)
    }

    public static let none = TrustedProxies([])

    static func normalised(_ address: String) -> String {
        var text = address
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.hasPrefix("::ffff:"), text.contains(".") { text = String(text.dropFirst(7)) }
        return text
    }

    /// The client of a request from `peer` carrying `forwardedFor` (every X-Forwarded-For line, joined).
    func client(peer: SocketAddress?, forwardedFor: String?) -> String {
        let peerText = peer?.ipAddress.map(Self.normalised) ?? "unknown"
        guard !addresses.isEmpty, addresses.contains(peerText), let forwardedFor else { return peerText }
        let hops = forwardedFor.split(separator: ",").map { Self.normalised($0.trimmingCharacters(in: .whitespaces)) }
        for hop in hops.reversed() where !hop.isEmpty && !addresses.contains(hop) {
            return hop
        }
        return peerText
    }
}
