import Crypto
import Hummingbird
import NIOCore
import Storage
import Synchronization

/// The body of a resumable append, read once: the buffers read ahead go into the append's sink
/// (`AppendReadAhead`), the rest arrives through `next`. A read error met while reading ahead is
/// kept and thrown by `next`, so the append handles a cut connection in one place.
final class AppendBody {
    private var iterator: RequestBody.AsyncIterator
    private var ended = false
    private var failure: (any Error)?

    init(_ request: Request) { iterator = request.body.makeAsyncIterator() }

    func next() async throws -> ByteBuffer? {
        if let failure {
            self.failure = nil
            throw failure
        }
        if ended { return nil }
        return try await iterator.next()
    }

    /// Reads the next buffer ahead of the append; nil at the end of the body or on a read error
    /// (kept for `next`).
    fileprivate func readAhead() async -> ByteBuffer? {
        guard !ended, failure == nil else { return nil }
        do {
            guard let buffer = try await iterator.next() else {
                ended = true
                return nil
            }
            return buffer
        } catch {
            failure = error
            return nil
        }
    }

    /// A failure met while reading ahead, thrown by `next`.
    fileprivate func fail(_ error: any Error) { failure = error }
}

/// An append's first bytes, hashed while its claim is in flight (`UploadSink(detachedFrom:)`):
/// the claim's round trip then overlaps the append's main work instead of preceding it.
struct AppendReadAhead {
    let body: AppendBody
    let sink: UploadSink
    /// The whole-file hash state the sink started from (nil when not known), for the paths that
    /// must put it back (a refused claim, a discarded append).
    let running: SHA256?
    /// When the claim was asked for. The claim's lease is renewed only once the append runs, and
    /// a client that stalls mid-body can hold the read-ahead past the lease: `needsRenewal`.
    let started: ContinuousClock.Instant

    /// Whether the claim must be renewed (and found still held) before the held bytes are written.
    var needsRenewal: Bool { ContinuousClock.now - started > UploadSessionStore.claimRenewal }

    /// At most this much is held in memory per append while its claim is in flight.
    static let limit = 4 << 20

    /// Reads and hashes `request`'s body until `claimed` says the claim is answered, `limit` bytes
    /// are held, or the body ends; `running` is the hash state of the session's first `offset`
    /// bytes when this server kept it. The claim itself runs in `claim`, concurrently.
    static func reading<Claim: Sendable>(
        _ request: Request, session id: String, offset: Int64, sha1: Bool, sha256: Bool,
        claim: @escaping @Sendable () async throws -> Claim
    ) async throws -> (Claim, AppendReadAhead) {
        let started = ContinuousClock.now
        let running = UploadSessionStore.takeRunningHash(id, offset: offset)
        let answered = Atomic<Bool>(false)
        async let claimed: Claim = {
            defer { answered.store(true, ordering: .releasing) }
            return try await claim()
        }()
        let body = AppendBody(request)
        let sink = UploadSink(detachedFrom: running, sha1: sha1, sha256: sha256)
        // Nothing here throws: a claim that was granted must reach the append, which releases it.
        while !answered.load(ordering: .acquiring), sink.heldBytes < limit, let buffer = await body.readAhead() {
            if buffer.withUnsafeReadableBytes({ sink.append($0) }) {
                do {
                    try await sink.flush()
                } catch {
                    body.fail(error)
                    break
                }
            }
        }
        let readAhead = AppendReadAhead(body: body, sink: sink, running: running, started: started)
        do {
            return (try await claimed, readAhead)
        } catch {
            readAhead.giveBack(session: id, offset: offset)
            throw error
        }
    }

    /// Puts the hash state back when the append does not happen (its claim was refused).
    func giveBack(session id: String, offset: Int64) {
        UploadSessionStore.keepRunningHash(id, offset: offset, state: running)
    }
}
