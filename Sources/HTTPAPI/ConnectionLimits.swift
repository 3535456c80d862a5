import KindModel
public import NIOCore

#if canImport(Glibc)
import Glibc
import Foundation
#endif

/// How long a client may take, how slowly it may send a body, and how many connections may be
/// open at once. Every limit can be off (nil). Enforced by `ConnectionGuard`.
public struct ConnectionLimits: Sendable {
    /// A request head must be complete this long after the connection opened, or after the first
    /// byte of a later request on a kept-alive connection (`REQUEST_HEADER_TIMEOUT`).
    public var headerTimeout: TimeAmount?
    /// A kept-alive connection with no request in progress is closed after this long (`IDLE_TIMEOUT`).
    public var idleTimeout: TimeAmount?
    /// A request body is aborted when fewer than `bytes` arrive in a `window` during which the
    /// server was waiting for them (`MIN_UPLOAD_RATE`).
    public var minBodyRate: BodyRate?
    /// Connections beyond this many get a 503 problem and are closed at once (`MAX_CONNECTIONS`).
    public var maxConnections: Int?
    /// After answering a request that asked to close before its body was read (a refusal), the
    /// server reads and drops the rest for at most this long, then closes (nginx's `lingering_time`).
    /// Closing at once would reset the connection under a client still writing, which then never
    /// reads its answer; not reading at all left the connection open for as long as the client
    /// kept writing. Reading stops sooner when `lingerIdle` passes without a byte.
    public var lingerTime: TimeAmount = .seconds(30)
    public var lingerIdle: TimeAmount = .seconds(5)

    public struct BodyRate: Sendable, Equatable {
        public var bytes: Int
        public var window: TimeAmount
        public init(bytes: Int, window: TimeAmount) {
            self.bytes = bytes
            self.window = window
        }
    }

    public init(headerTimeout: TimeAmount? = nil, idleTimeout: TimeAmount? = nil, minBodyRate: BodyRate? = nil, maxConnections: Int? = nil) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.minBodyRate = minBodyRate
        self.maxConnections = maxConnections
    }

    /// The defaults of `serve` (the connection cap comes from the file limit: `defaultMaxConnections`).
    public static let standard = ConnectionLimits(
        headerTimeout: .seconds(10), idleTimeout: .seconds(60),
        minBodyRate: BodyRate(bytes: 4096, window: .seconds(10)))

    /// How often a connection checks its deadlines: a quarter of the shortest limit, 20 ms–1 s. The
    /// hot path only sets flags; timestamps are taken by this tick, so a limit is enforced up to
    /// one tick late.
    var tick: TimeAmount? {
        let all = [headerTimeout, idleTimeout, minBodyRate?.window].compactMap { $0 }
        guard let shortest = all.min() else { return nil }
        return min(max(.nanoseconds(shortest.nanoseconds / 4), .milliseconds(20)), .seconds(1))
    }

    // MARK: settings

    /// File descriptors kept out of the connection cap: the database pool, stored files being
    /// read or written, the listening socket, logs.
    public static let reservedDescriptors = 256

    /// The process's soft limit of open files (RLIMIT_NOFILE).
    public static func fileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur >= rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// The largest connection cap the file limit allows (0 when it allows none).
    public static func largestMaxConnections(fileLimit: Int = fileLimit()) -> Int {
        max(0, fileLimit - reservedDescriptors)
    }

    /// `10s`, `500ms`, `2m`, `1h` or a number of seconds; `off` or `0` → nil. Returns .none for bad text.
    public static func parseDuration(_ text: String) -> TimeAmount?? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "off" || t == "0" || t == "none" { return .some(nil) }
        let units: [(String, Int64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        var number = Substring(t)
        var scale: Int64 = 1_000_000_000
        for (suffix, nanos) in units where t.hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = nanos
            break
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value > 0, value * Double(scale) < 1e18 else { return .none }
        return .some(.nanoseconds(Int64(value * Double(scale))))
    }

    /// `4KiB/10s` (at least 4 KiB in every 10 s), `1024` (bytes per second), `off` → nil. .none for bad text.
    public static func parseRate(_ text: String) -> BodyRate?? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if ["off", "0", "none"].contains(t.lowercased()) { return .some(nil) }
        let parts = t.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let bytes = ByteSize.parse(first), bytes > 0, bytes < Int64(Int32.max) else { return .none }
        var window = TimeAmount.seconds(1)
        if parts.count == 2 {
            guard case .some(.some(let w)) = parseDuration(parts[1]) else { return .none }
            window = w
        }
        return .some(BodyRate(bytes: Int(bytes), window: window))
    }

    /// `10s`-style text of a duration, for messages and docs.
    static func describe(_ amount: TimeAmount) -> String {
        let ns = amount.nanoseconds
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        return "\(ns / 1_000_000)ms"
    }
}
