import Synchronization

/// Whether this server is on its way out: after SIGTERM, with `DRAIN_DELAY` set, `/healthz`
/// answers 503 `draining` while every other route is still served, so a load balancer polling it
/// stops sending new requests before the server stops accepting them (a rolling restart then
/// loses none). Then the graceful shutdown finishes what is in flight.
public final class ShutdownDrain: Sendable {
    private let draining = Atomic(false)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    public func begin() { draining.store(true, ordering: .relaxed) }
}
