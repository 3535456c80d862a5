import Foundation

/// One kind of audio (song, podcast, ...) as declared by a YAML file in `kinds/`.
///
/// Everything the server does for a kind — validation, table, routes, OpenAPI — is derived from
/// this value, so it is plain data: `Codable` so that migrations can snapshot it, `Equatable` so
/// that the migration planner can diff two versions of it.
public struct KindDefinition: Sendable, Equatable, Codable {
    /// The canonical name: URL token, `filetype` value and table name.
    public var name: String
    public var aliases: [String]
    public var description: String?
    public var additionalFields: AdditionalFieldsPolicy
    /// Fields in file order, which is also column order.
    public var fields: [FieldDefinition]
    public var upload: UploadRules?
    /// Multi-column indexes from `indexes:`, in file order (single-field ones are `FieldDefinition.index`).
    public var indexes: [KindIndex]
    /// Set when this kind was renamed in the YAML; read by the migration planner, not stored in snapshots.
    public var renamedFrom: String?
    /// Who may read and download without a key (`access:`). Not in snapshots: access changes need
    /// no migration, a reload applies them.
    public var access: KindAccess

    public init(
        name: String, aliases: [String] = [], description: String? = nil,
        additionalFields: AdditionalFieldsPolicy = .reject, fields: [FieldDefinition],
        upload: UploadRules? = nil, indexes: [KindIndex] = [], renamedFrom: String? = nil, access: KindAccess = .private
    ) {
        self.name = name
        self.aliases = aliases
        self.description = description
        self.additionalFields = additionalFields
        self.fields = fields
        self.upload = upload
        self.indexes = indexes
        self.renamedFrom = renamedFrom
        self.access = access
    }

    public func field(named name: String) -> FieldDefinition? { fields.first { $0.name == name } }

    enum CodingKeys: String, CodingKey {
        case name, aliases, description, additionalFields = "additional_fields", fields, upload, indexes
        case renamedFrom = "renamed_from"
    }

    // Written by hand only for `indexes`: snapshots committed before it existed have no such key
    // (decoded as none), and a kind without indexes encodes without it, so those files stay
    // byte-identical when regenerated.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        aliases = try c.decode([String].self, forKey: .aliases)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        additionalFields = try c.decode(AdditionalFieldsPolicy.self, forKey: .additionalFields)
        fields = try c.decode([FieldDefinition].self, forKey: .fields)
        upload = try c.decodeIfPresent(UploadRules.self, forKey: .upload)
        indexes = try c.decodeIfPresent([KindIndex].self, forKey: .indexes) ?? []
        renamedFrom = try c.decodeIfPresent(String.self, forKey: .renamedFrom)
        access = .private
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(aliases, forKey: .aliases)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encode(additionalFields, forKey: .additionalFields)
        try c.encode(fields, forKey: .fields)
        try c.encodeIfPresent(upload, forKey: .upload)
        if !indexes.isEmpty { try c.encode(indexes, forKey: .indexes) }
        try c.encodeIfPresent(renamedFrom, forKey: .renamedFrom)
    }
}

/// What to do with request fields that the kind does not declare.
public enum AdditionalFieldsPolicy: String, Sendable, Codable, CaseIterable {
    /// Refuse the request with a 400 that names the unknown fields (the default: typos are caught).
    case reject
    /// Drop them silently.
    case ignore
}

/// Columns every kind's table has; no field may take these names.
public enum SystemColumn {
    public static let names: Set<String> = ["id", "filetype", "created_at", "updated_at", "uploaded_time", "file", "file_key"]
}

/// Upload rules from a kind's `upload:` section.
public struct UploadRules: Sendable, Equatable, Codable {
    /// Accepted audio formats (names from `knownFormats`); nil accepts every known format.
    public var formats: [String]?
    /// Largest accepted file in bytes; nil means the server-wide `MAX_UPLOAD_BYTES`.
    public var maxSize: Int64?
    /// A numeric field holding the record's duration in seconds, compared with the probed duration.
    public var durationField: String?
    public var durationTolerance: DurationTolerance?
    /// `resumable:` tuning of resumable uploads (every kind accepts them; nil: the defaults).
    public var resumable: ResumableRules?
    /// `download: proxy | redirect`: how a download is served when files live in object storage
    /// (nil: `proxy`).
    public var download: DownloadMode?

    /// Formats the audio probe recognises. Kept here as names because the kind model sits below the probe.
    public static let knownFormats = ["wav", "aiff", "flac", "mp3", "ogg", "opus", "m4a"]

    public init(
        formats: [String]? = nil, maxSize: Int64? = nil, durationField: String? = nil,
        durationTolerance: DurationTolerance? = nil
    ) {
        self.formats = formats
        self.maxSize = maxSize
        self.durationField = durationField
        self.durationTolerance = durationTolerance
    }

    enum CodingKeys: String, CodingKey {
        case formats, maxSize = "max_size", durationField = "duration_field", durationTolerance = "duration_tolerance", resumable, download
    }
}

/// How a kind's files are downloaded (`upload.download:`). With files on disk both serve the
/// bytes through the server.
public enum DownloadMode: String, Sendable, Equatable, Codable, CaseIterable {
    /// The server reads the object and streams it (HEAD, Range, If-Range, If-None-Match, ETag).
    case proxy
    /// After every access check, a 307 to a short-lived presigned GET of the object storage,
    /// which then serves the bytes (and Range) itself: the bandwidth does not pass through the server.
    case redirect
}

/// How a kind's resumable uploads behave (`upload.resumable:`). Every kind accepts resumable
/// uploads; these only tune them.
public struct ResumableRules: Sendable, Equatable, Codable {
    /// Seconds from a session's creation until it and its bytes are removed.
    public var expiresSeconds: Int64
    /// The most bytes one append request may carry (announced as the IETF draft's
    /// `Upload-Limit: max-append-size`).
    public var maxAppend: Int64

    public static let defaultExpiresSeconds: Int64 = 24 * 3600
    public static let defaultMaxAppend: Int64 = 64 << 20
    /// The longest lifetime a session may be given (30 days).
    public static let maxExpiresSeconds: Int64 = 30 * 24 * 3600
    public static let defaults = ResumableRules()

    public init(expiresSeconds: Int64 = defaultExpiresSeconds, maxAppend: Int64 = defaultMaxAppend) {
        self.expiresSeconds = expiresSeconds
        self.maxAppend = maxAppend
    }

    enum CodingKeys: String, CodingKey {
        case expiresSeconds = "expires_seconds", maxAppend = "max_append"
    }

    /// `90`, `90s`, `30m`, `24h`, `7d` → seconds; nil for anything else or a value ≤ 0.
    public static func parseDuration(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int64)] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)]
        var multiplier: Int64 = 1
        var digits = Substring(t)
        if let (suffix, m) = units.first(where: { t.hasSuffix($0.0) }) {
            multiplier = m
            digits = t.dropLast(suffix.count)
        }
        guard let value = Int64(digits.trimmingCharacters(in: .whitespaces)), value > 0, value <= Int64.max / multiplier else { return nil }
        return value * multiplier
    }
}

/// How far a probed duration may differ from the record's declared one.
public enum DurationTolerance: Sendable, Equatable, Codable {
    case seconds(Double)
    case percent(Double)

    /// Whether `probed` is close enough to `declared`.
    public func accepts(probed: Double, declared: Double) -> Bool {
        let allowed: Double =
            switch self {
            case .seconds(let s): s
            case .percent(let p): abs(declared) * p / 100
            }
        return abs(probed - declared) <= allowed + 1e-9
    }

    public var description: String {
        switch self {
        case .seconds(let s): "\(JSONNumber(s)) s"
        case .percent(let p): "\(JSONNumber(p))%"
        }
    }
}
