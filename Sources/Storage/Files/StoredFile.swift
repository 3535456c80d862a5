public import KindModel

/// A record's audio file as the row stores it (the `file` column) and the API returns it: the one
/// definition of its members, with the one encoder that writes them. The OpenAPI schema
/// (`AudioFileSchema`) describes `StoredFile.members`, and the download reads the same value back.
public struct StoredFile: Sendable, Equatable {
    public var size: Int64
    /// Lowercase hex SHA-256 of the bytes; the download's ETag.
    public var sha256: String
    /// Detected from the bytes, never the client's.
    public var contentType: String
    public var originalName: String?
    public var format: String
    public var codec: String
    /// Rounded to milliseconds.
    public var durationSeconds: Double
    public var sampleRate: Int?
    public var channels: Int?
    public var bitrate: Int?

    public init(
        size: Int64, sha256: String, contentType: String, originalName: String?, format: String, codec: String,
        durationSeconds: Double, sampleRate: Int?, channels: Int?, bitrate: Int?
    ) {
        self.size = size
        self.sha256 = sha256
        self.contentType = contentType
        self.originalName = originalName
        self.format = format
        self.codec = codec
        self.durationSeconds = (durationSeconds * 1000).rounded() / 1000
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitrate = bitrate
    }

    /// The member names, in the order they are written.
    public static let members = [
        "size", "sha256", "content_type", "original_name", "format", "codec", "duration_seconds",
        "sample_rate", "channels", "bitrate",
    ]

    /// The JSON the `file` column holds and responses carry.
    public var json: JSONValue {
        func optional(_ value: Int?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
        let values: [JSONValue] = [
            .integer(size), .string(sha256), .string(contentType), originalName.map(JSONValue.string) ?? .null,
            .string(format), .string(codec), .double(durationSeconds), optional(sampleRate), optional(channels), optional(bitrate),
        ]
        return .object(JSONObject(zip(Self.members, values).map { (key: $0, value: $1) }))
    }
}

/// What the download needs of a record's file, read back from the row.
public struct StoredFileInfo: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var sha256: String
    public var contentType: String
    public var originalName: String?
}

/// Whether a record has a file.
public enum FileLookup: Sendable, Equatable {
    case noRecord
    case noFile
    case file(StoredFileInfo)

    /// The file's SHA-256, when there is one (what a signed link is checked against).
    public var sha256: String? { if case .file(let info) = self { info.sha256 } else { nil } }
}

/// The record an upload goes to, read before its body.
public enum UploadTarget: Sendable, Equatable {
    case noRecord
    /// `declaredDuration`: the kind's duration field as a number, when asked for; `version`: for `If-Match`.
    case record(declaredDuration: Double?, version: String)
}
