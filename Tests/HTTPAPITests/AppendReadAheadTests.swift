import Crypto
import HTTPTypes
import Hummingbird
import NIOCore
import Storage
import Testing

@testable import HTTPAPI

/// The read-ahead of a tus append (`AppendReadAhead`): the body read while the claim is in
/// flight, and the paths where the append does not happen.
@Suite struct AppendReadAheadTests {
    struct Cut: Error {}
    struct Refused: Error {}

    /// A request whose body yields `buffers`, then ends with `error` (or normally).
    static func request(_ buffers: [[UInt8]], endingWith error: (any Error)?) -> Request {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        for bytes in buffers { continuation.yield(ByteBuffer(bytes: bytes)) }
        continuation.finish(throwing: error)
        return Request(
            head: HTTPRequest(method: .patch, scheme: "http", authority: "127.0.0.1", path: "/"), body: RequestBody(asyncSequence: stream))
    }

    /// A connection cut while the claim is still in flight: the bytes before the cut are in the
    /// sink (hashed), the claim's answer still reaches the append, and the cut is thrown where the
    /// append reads the body next.
    @Test func aCutWhileTheClaimIsInFlightIsThrownByTheBodyAfterTheClaim() async throws {
        let first = [UInt8](repeating: 3, count: 70_000)
        let (claim, readAhead) = try await AppendReadAhead.reading(
            Self.request([first], endingWith: Cut()), session: "read-ahead-cut", offset: 0, sha1: false, sha256: true
        ) {
            try await Task.sleep(for: .milliseconds(200))
            return 7
        }
        #expect(claim == 7, "a granted claim is returned, not lost to the body's error")
        #expect(readAhead.sink.size == Int64(first.count) && readAhead.sink.heldBytes == first.count)
        await #expect(throws: Cut.self) { _ = try await readAhead.body.next() }
    }

    /// A refused claim puts the session's running hash back, so the next append still continues it.
    @Test func aRefusedClaimPutsTheRunningHashBack() async throws {
        let id = "read-ahead-refused"
        var state = SHA256()
        state.update(data: [1, 2, 3, 4, 5])
        UploadSessionStore.keepRunningHash(id, offset: 5, state: state)
        await #expect(throws: Refused.self) {
            _ = try await AppendReadAhead.reading(
                Self.request([[6, 7]], endingWith: nil), session: id, offset: 5, sha1: false, sha256: false
            ) { () async throws -> Int in throw Refused() }
        }
        let kept = try #require(UploadSessionStore.takeRunningHash(id, offset: 5), "the hash state was put back")
        #expect(Array(kept.finalize()) == Array(state.finalize()))
    }
}
