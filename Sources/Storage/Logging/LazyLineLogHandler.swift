public import Logging

/// `StreamLogHandler`'s lines, with the logger's metadata formatted only when a line is written.
///
/// `StreamLogHandler` formats its metadata (sorted, `key=value`, joined) every time a key is set.
/// Hummingbird sets `hb.request.id` on a copy of the logger for every request, so every request
/// paid for formatting a line that at the default level is almost never written: in a profile of
/// GETs by id at 16 connections, setting that key (`StreamLogHandler.prettify`, the id's
/// `description`, the copies) was ~3 % of the machine's CPU. This handler keeps the metadata as it
/// is and hands it to a `StreamLogHandler` only for a line that is written, so the output (format,
/// stream, metadata provider) is exactly `StreamLogHandler`'s.
public struct LazyLineLogHandler: LogHandler {
    private var lines: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    /// Lines to standard error, as `StreamLogHandler.standardError(label:metadataProvider:)`.
    public static func standardError(label: String, metadataProvider: Logger.MetadataProvider?) -> Self {
        Self(lines: .standardError(label: label, metadataProvider: metadataProvider))
    }

    /// Lines written by `lines` (its own metadata is replaced by this handler's for each line).
    public init(lines: StreamLogHandler) {
        self.lines = lines
    }

    public var logLevel: Logger.Level {
        get { lines.logLevel }
        set { lines.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { lines.metadataProvider }
        set { lines.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = lines
        line.metadata = metadata
        line.log(event: event)
    }
}
