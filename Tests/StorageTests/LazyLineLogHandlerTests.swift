import Logging
import Storage
import Synchronization
import Testing

/// `LazyLineLogHandler` writes `StreamLogHandler`'s lines, but formats metadata only for a line
/// that is written (Hummingbird sets a key on every request's logger).
@Suite struct LazyLineLogHandlerTests {
    final class Lines: TextOutputStream, @unchecked Sendable {
        private let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
        /// The lines without their first field (the timestamp, which may tick between two handlers).
        var withoutTimestamps: [String] {
            text.withLock { $0 }.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).dropFirst().joined() }
        }
    }

    /// A metadata value that counts how often it is turned into text.
    final class Counted: CustomStringConvertible, Sendable {
        let count = Atomic(0)
        var description: String {
            count.add(1, ordering: .relaxed)
            return "counted"
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String { "it broke" } }

    static let provider = Logger.MetadataProvider { ["provided": "p"] }

    /// The same calls on a logger with each handler.
    static func exercise(_ handler: some LogHandler) {
        var logger = Logger(label: "lines", factory: { _ in handler })
        logger.logLevel = .info
        logger[metadataKey: "hb.request.id"] = "abc"
        logger[metadataKey: "b"] = .array(["1", "2"])
        logger.info("plain line")
        logger.debug("not written")
        logger.warning("with more", metadata: ["extra": .dictionary(["k": "v"])], source: "HTTPAPI")
        logger.error("with an error", error: Failure())
        logger[metadataKey: "b"] = nil
        logger.notice("after removing one")
    }

    @Test func writesExactlyWhatStreamLogHandlerWrites() {
        let lazy = Lines()
        let stream = Lines()
        Self.exercise(LazyLineLogHandler(lines: StreamLogHandler(label: "lines", stream: lazy, metadataProvider: Self.provider)))
        Self.exercise(StreamLogHandler(label: "lines", stream: stream, metadataProvider: Self.provider))
        #expect(lazy.withoutTimestamps.count == 4)
        #expect(lazy.withoutTimestamps == stream.withoutTimestamps)
        #expect(lazy.withoutTimestamps.first == #"info lines: b=["1", "2"] hb.request.id=abc provided=p [StorageTests] plain line"#)
    }

    @Test func metadataIsFormattedOnlyForAWrittenLine() {
        let value = Counted()
        let handler = LazyLineLogHandler(lines: StreamLogHandler(label: "lazy", stream: Lines(), metadataProvider: nil))
        var lazy = Logger(label: "lazy", factory: { _ in handler })
        lazy.logLevel = .warning
        lazy[metadataKey: "id"] = .stringConvertible(value)
        lazy.info("below the level: not written")
        #expect(value.count.load(ordering: .relaxed) == 0)
        lazy.warning("written")
        #expect(value.count.load(ordering: .relaxed) == 1)

        // What the handler avoids: StreamLogHandler formats on every set.
        let eager = Counted()
        var stream = Logger(label: "eager", factory: { _ in StreamLogHandler(label: "eager", stream: Lines(), metadataProvider: nil) })
        stream[metadataKey: "id"] = .stringConvertible(eager)
        #expect(eager.count.load(ordering: .relaxed) == 1)
    }
}
