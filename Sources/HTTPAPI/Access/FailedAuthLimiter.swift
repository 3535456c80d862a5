import Foundation
import Synchronization

/// Slows guessing: after `burst` failed authentications from one client address within
/// `window`, further attempts from that address get 429 until the window has passed. Other
/// addresses are unaffected. Counted: a malformed, unknown, revoked or expired key, and a signed
/// link that does not verify (a request without credentials is not a guess).
final class FailedAuthLimiter: Sendable {
    let burst: Int
    let window: Double
    /// Addresses tracked at most; beyond it the oldest windows are dropped (a flood of addresses
    /// must not grow memory without bound).
    static let maxTracked = 100_000

    private struct Window {
        var start: Double
        var failures: Int
    }
    private let windows = Mutex([String: Window]())
    /// Whether any address has failures now: lets the common case skip computing the address.
    private let anyFailures = Atomic(false)

    init(burst: Int = 20, window: Double = 60) {
        self.burst = burst
        self.window = window
    }

    /// Whether any failure is on record (cheap; no lock).
    var isQuiet: Bool { !anyFailures.load(ordering: .relaxed) }

    /// Seconds until `client` may try again, or nil when it is not locked out.
    func lockedFor(_ client: String, now: Double = Date().timeIntervalSince1970) -> Int? {
        windows.withLock { windows in
            guard let w = windows[client], now - w.start < window, w.failures >= burst else { return nil }
            return max(1, Int((w.start + window - now).rounded(.up)))
        }
    }

    /// Records a failure; true when this one locked the address out (audited once per lockout).
    func recordFailure(_ client: String, now: Double = Date().timeIntervalSince1970) -> Bool {
        anyFailures.store(true, ordering: .relaxed)
        return windows.withLock { windows in
            var w = windows[client] ?? Window(start: now, failures: 0)
            if now - w.start >= window { w = Window(start: now, failures: 0) }
            w.failures += 1
            windows[client] = w
            if windows.count > Self.maxTracked {
                windows = windows.filter { now - $0.value.start < window }
            }
            return w.failures == burst
        }
    }
}
