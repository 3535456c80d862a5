public import Hummingbird

/// Every kind of problem the API answers with, once: its slug (the `type` URI is
/// `/problems/<slug>`), its usual status and its title. A title names the kind of problem and never
/// changes between occurrences (RFC 9457 §3.1.3); what happened this time goes in the `detail`.
/// OpenAPI enumerates the slugs, and docs/api.md lists them.
public enum ProblemType: String, CaseIterable, Sendable {
    case checksumMismatch = "checksum-mismatch"
    case clientClosed = "client-closed"
    case constraint = "constraint"
    case databaseBusy = "database-busy"
    case databaseUnavailable = "database-unavailable"
    case draining = "draining"
    case durationMismatch = "duration-mismatch"
    case emptyFile = "empty-file"
    case fileMissing = "file-missing"
    case formatNotAccepted = "format-not-accepted"
    case headersTooLarge = "headers-too-large"
    case hostNotAllowed = "host-not-allowed"
    case httpError = "http-error"
    case httpVersionNotSupported = "http-version-not-supported"
    case inconsistentUploadLength = "inconsistent-upload-length"
    case insufficientStorage = "insufficient-storage"
    case `internal` = "internal"
    case invalidContentLength = "invalid-content-length"
    case invalidHost = "invalid-host"
    case invalidID = "invalid-id"
    case invalidQuery = "invalid-query"
    case invalidUploadHeader = "invalid-upload-header"
    case invalidValue = "invalid-value"
    case jsonLimit = "json-limit"
    case keyExpired = "key-expired"
    case keyInvalid = "key-invalid"
    case keyMalformed = "key-malformed"
    case keyMissing = "key-missing"
    case keyNameTaken = "key-name-taken"
    case keyNotFound = "key-not-found"
    case linkExpired = "link-expired"
    case linkInvalid = "link-invalid"
    case linksNotAccepted = "links-not-accepted"
    case malformedBody = "malformed-body"
    case malformedChunkedBody = "malformed-chunked-body"
    case malformedJSON = "malformed-json"
    case malformedMultipart = "malformed-multipart"
    case malformedRequest = "malformed-request"
    case methodNotAllowed = "method-not-allowed"
    case missingFile = "missing-file"
    case missingFiletype = "missing-filetype"
    case multipleFiles = "multiple-files"
    case noFile = "no-file"
    case noRoute = "no-route"
    case notAnObject = "not-an-object"
    case notAudio = "not-audio"
    case notFound = "not-found"
    case queryTooSlow = "query-too-slow"
    case rangeNotSatisfiable = "range-not-satisfiable"
    case scopeMissing = "scope-missing"
    case sortNeedsIndex = "sort-needs-index"
    case staleVersion = "stale-version"
    case storageUnavailable = "storage-unavailable"
    case tooLarge = "too-large"
    case tooManyConnections = "too-many-connections"
    case tooManyFailures = "too-many-failures"
    case truncatedUpload = "truncated-upload"
    case tusVersionUnsupported = "tus-version-unsupported"
    case unique = "unique"
    case unknownKind = "unknown-kind"
    case unknownMethod = "unknown-method"
    case unsupportedContentEncoding = "unsupported-content-encoding"
    case unsupportedMediaType = "unsupported-media-type"
    case unsupportedTransferEncoding = "unsupported-transfer-encoding"
    case uploadBusy = "upload-busy"
    case uploadComplete = "upload-complete"
    case uploadExpired = "upload-expired"
    case uploadNotFound = "upload-not-found"
    case uploadOffsetMismatch = "upload-offset-mismatch"
    case urlTooLong = "url-too-long"
    case validation = "validation"

    /// The status a problem of this type has unless the site says otherwise (`unknownKind` is 404
    /// for a URL and 400 for a body's `filetype`; `httpError` takes the status Hummingbird chose).
    public var status: HTTPResponse.Status {
        switch self {
        case .clientClosed, .constraint, .emptyFile, .httpError, .invalidContentLength, .invalidHost, .invalidID, .invalidQuery, .invalidUploadHeader,
            .inconsistentUploadLength, .invalidValue, .jsonLimit, .malformedBody, .malformedChunkedBody, .malformedJSON, .malformedMultipart,
            .malformedRequest, .missingFile, .missingFiletype, .multipleFiles, .notAnObject, .truncatedUpload, .validation, .sortNeedsIndex,
            .queryTooSlow, .uploadComplete:
            .badRequest
        case .databaseBusy, .databaseUnavailable, .draining, .storageUnavailable, .tooManyConnections: .serviceUnavailable
        case .durationMismatch: .unprocessableContent
        case .fileMissing, .keyNotFound, .noFile, .noRoute, .notFound, .unknownKind, .uploadNotFound: .notFound
        case .formatNotAccepted, .notAudio, .unsupportedContentEncoding, .unsupportedMediaType: .unsupportedMediaType
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        case .urlTooLong: .uriTooLong
        case .httpVersionNotSupported: .httpVersionNotSupported
        case .hostNotAllowed: .misdirectedRequest
        case .insufficientStorage: .init(code: 507, reasonPhrase: "Insufficient Storage")
        case .internal: .internalServerError
        case .keyExpired, .keyInvalid, .keyMalformed, .keyMissing: .unauthorized
        case .keyNameTaken, .unique, .uploadBusy, .uploadOffsetMismatch: .conflict
        case .uploadExpired: .gone
        case .checksumMismatch: .init(code: 460, reasonPhrase: "Checksum Mismatch")
        case .linkExpired, .linkInvalid, .linksNotAccepted, .scopeMissing: .forbidden
        case .methodNotAllowed: .methodNotAllowed
        case .rangeNotSatisfiable: .rangeNotSatisfiable
        case .staleVersion, .tusVersionUnsupported: .preconditionFailed
        case .tooLarge: .contentTooLarge
        case .tooManyFailures: .tooManyRequests
        case .unknownMethod, .unsupportedTransferEncoding: .notImplemented
        }
    }

    public var title: String {
        switch self {
        case .checksumMismatch: "Checksum does not match the data"
        case .clientClosed: "Connection closed by the client"
        case .constraint: "Database constraint refused the record"
        case .databaseBusy: "Database too busy"
        case .databaseUnavailable: "Database unavailable"
        case .storageUnavailable: "File storage unavailable"
        case .draining: "Server shutting down"
        case .durationMismatch: "Duration does not match the record"
        case .emptyFile: "Empty file"
        case .fileMissing: "Stored file missing"
        case .formatNotAccepted: "Audio format not accepted"
        case .headersTooLarge: "Request headers too large"
        case .hostNotAllowed: "Host not allowed"
        case .httpError: "Request refused"
        case .httpVersionNotSupported: "HTTP version not supported"
        case .inconsistentUploadLength: "Upload length is inconsistent"
        case .insufficientStorage: "Storage full"
        case .internal: "Internal server error"
        case .invalidContentLength: "Invalid Content-Length"
        case .invalidHost: "Missing, repeated or malformed Host"
        case .invalidID: "Invalid id"
        case .invalidQuery: "Invalid query parameters"
        case .invalidUploadHeader: "Invalid upload header"
        case .invalidValue: "Invalid value"
        case .jsonLimit: "JSON body exceeds a parser limit"
        case .keyExpired: "API key expired"
        case .keyInvalid: "Unknown or revoked API key"
        case .keyMalformed: "Malformed API key"
        case .keyMissing: "API key required"
        case .keyNameTaken: "Key name already used"
        case .keyNotFound: "Key not found"
        case .linkExpired: "Signed link expired"
        case .linkInvalid: "Invalid signed link"
        case .linksNotAccepted: "Kind does not accept signed links"
        case .malformedBody: "Malformed request body"
        case .malformedChunkedBody: "Malformed chunked body"
        case .malformedJSON: "Malformed JSON"
        case .malformedMultipart: "Malformed multipart body"
        case .malformedRequest: "Malformed request"
        case .methodNotAllowed: "Method not allowed"
        case .missingFile: "No file part"
        case .missingFiletype: "Missing filetype"
        case .multipleFiles: "More than one file"
        case .noFile: "No file uploaded"
        case .noRoute: "Not found"
        case .notAnObject: "JSON body must be an object"
        case .notAudio: "Not an accepted audio file"
        case .notFound: "Record not found"
        case .rangeNotSatisfiable: "Range not satisfiable"
        case .scopeMissing: "Key lacks the scope"
        case .queryTooSlow: "Query too slow"
        case .sortNeedsIndex: "Sort needs an index"
        case .staleVersion: "Record changed since you read it"
        case .tooLarge: "Too large"
        case .tooManyConnections: "Too many connections"
        case .tooManyFailures: "Too many failed attempts"
        case .truncatedUpload: "Upload ended early"
        case .tusVersionUnsupported: "tus version not supported"
        case .unique: "Value already used"
        case .unknownKind: "Unknown kind"
        case .unknownMethod: "Method not recognised"
        case .unsupportedContentEncoding: "Content-Encoding not supported"
        case .unsupportedMediaType: "Unsupported Content-Type"
        case .unsupportedTransferEncoding: "Transfer-Encoding not supported"
        case .uploadBusy: "Upload in use by another request"
        case .uploadComplete: "Upload already complete"
        case .uploadExpired: "Upload expired"
        case .uploadNotFound: "Upload not found"
        case .uploadOffsetMismatch: "Upload offset does not match"
        case .urlTooLong: "URL too long"
        case .validation: "Invalid fields"
        }
    }
}
