/// Who may read a kind's records and download its files, from the kind's `access:` block.
///
/// Writes (create, PATCH), uploads and deletes always need a key with the matching scope; only
/// reads and downloads can be opened up, because those are what players and public catalogues
/// need without a secret. A kind without `access:` is private: every route needs a key.
public struct KindAccess: Sendable, Equatable {
    public var read: ReadAccess
    public var download: DownloadAccess

    public init(read: ReadAccess = .key, download: DownloadAccess = .key) {
        self.read = read
        self.download = download
    }

    /// What a kind gets without an `access:` block: nothing without a key.
    public static let `private` = KindAccess()

    /// The keys an `access:` block may hold.
    public static let keys: [String] = ["read", "download"]
}

/// `access.read`: who may GET one record, list and count.
public enum ReadAccess: String, Sendable, Equatable, CaseIterable {
    /// Anyone, without a key.
    case `public`
    /// A key with `read:<kind>` (or `read:*`, or `admin`).
    case key
}

/// `access.download`: who may GET/HEAD the record's audio file.
public enum DownloadAccess: String, Sendable, Equatable, CaseIterable {
    /// Anyone, without a key.
    case `public`
    /// A key with `read:<kind>`.
    case key
    /// A key with `read:<kind>`, or a signed link (`POST …/file/link`) for players that cannot
    /// send headers (`<audio src>`).
    case signed
}
