import Foundation
import Hummingbird
import KindModel
import Logging
import NIOPosix
import Storage

/// A parsed single `Range: bytes=...` header.
enum ByteRange: Equatable {
    case fromTo(Int64, Int64?)  // bytes=a-b, bytes=a-
    case suffix(Int64)  // bytes=-n

    /// Parses one range; nil for a header we must ignore (other units, several ranges, bad syntax).
    static func parse(_ header: String) -> ByteRange? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.lowercased().hasPrefix("bytes="), !text.contains(",") else { return nil }
        let spec = text.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = Int64(last), n >= 0 else { return nil }
            return .suffix(n)
        }
        guard let a = Int64(first), a >= 0 else { return nil }
        if last.isEmpty { return .fromTo(a, nil) }
        guard let b = Int64(last), b >= a else { return nil }
        return .fromTo(a, b)
    }

    /// The inclusive byte span within a file of `size`, or nil when unsatisfiable (416).
    func resolve(size: Int64) -> ClosedRange<Int64>? {
        switch self {
        case .fromTo(let a, let b):
            guard a < size else { return nil }
            return a...min(b ?? size - 1, size - 1)
        case .suffix(let n):
            guard n > 0, size > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
    }
}

extension AudioAPI {
    /// `GET`/`HEAD /api/audio/<kind>/<id>/file`: the stored audio, with validators and ranges so a
    /// browser `<audio>` element can seek.
    ///
    /// With a signed link (`grant` says so), the link is checked against the record's file before
    /// anything else is answered: a missing record or file gets the same 403 as a bad signature.
    /// `readable`: whether the caller may read the kind; if not, a missing record and a record
    /// without a file get one and the same 404 (`nothingToDownload`).
    func download(
        _ request: Request, _ context: AudioRequestContext, queries: KindQueries, id: Int64, grant: AccessGate.Grant, readable: Bool
    ) async throws -> Response {
        do {
            return try await downloadOnce(request, context, queries: queries, id: id, grant: grant, readable: readable)
        } catch let gone as ObjectGone {
            // On disk a reader keeps the replaced file open; an object is gone once deleted. When an
            // upload replaced the file between our reading the row and reading the object, the row
            // now names another key: answer from it (once; every check runs again).
            if case .file(let info) = try await records.fileInfo(id, in: queries), info.key != gone.key {
                return try await downloadOnce(request, context, queries: queries, id: id, grant: grant, readable: readable)
            }
            throw missingFile(gone.file, queries: queries, id: id, context: context, error: gone.error)
        }
    }

    /// The object a row named was not there (`download` reads the row again).
    struct ObjectGone: Error {
        var file: StoredFileInfo
        var error: any Error
        var key: String { file.key }
    }

    private func downloadOnce(
        _ request: Request, _ context: AudioRequestContext, queries: KindQueries, id: Int64, grant: AccessGate.Grant, readable: Bool
    ) async throws -> Response {
        let lookup = try await records.fileInfo(id, in: queries)
        if case .ifLinkVerifies(let link) = grant {
            try await access.verifyLink(link, kind: queries.kind.name, id: id, sha256: lookup.sha256, request, context)
        }
        let file = try Self.fileToServe(lookup, kind: queries.kind.name, id: id, readable: readable)
        // On disk the file is opened first, for HEAD and 304 too: a row whose file is gone gets the
        // same clear answer from every method. Kept open: a concurrent replacement unlinks the old
        // name, but this descriptor keeps reading it whole. Objects are never overwritten (every
        // upload has a new key), so a replaced object stays whole until it is deleted.
        var diskSource: FileByteSource?
        var objects: ObjectFileStore?
        switch backend {
        case .disk(let store):
            do {
                diskSource = try FileByteSource(path: store.path(forKey: file.key))
            } catch {
                throw missingFile(file, queries: queries, id: id, context: context, error: error)
            }
        case .objectStorage(let store):
            objects = store
        }
        let etag = "\"\(file.sha256)\""
        // Without an original name, the kind, id and the detected format's extension (`song-7.wav`).
        let fileExtension = (file.key as NSString).pathExtension
        let fallbackName = "\(queries.kind.name)-\(id)" + (fileExtension.isEmpty ? "" : ".\(fileExtension)")
        let disposition = Self.contentDisposition(file.originalName ?? fallbackName)
        if let objects, queries.kind.upload?.download == .redirect {
            // Every access check (key, scope, signed link) has passed above: hand the bytes over to
            // the object storage with a short-lived URL whose answer carries our type and name.
            let url = objects.presignedURL(
                key: file.key, seconds: Self.redirectLifetimeSeconds, contentType: file.contentType, contentDisposition: disposition)
            return Response(
                status: .temporaryRedirect,
                headers: [.location: url, .cacheControl: "private, no-store", .contentLength: "0"])
        }
        var headers: HTTPFields = [
            .contentType: file.contentType,
            .eTag: etag,
            .acceptRanges: "bytes",
            .contentDisposition: disposition,
            .cacheControl: "private, max-age=0, must-revalidate",
            // The Content-Type comes from the probe, never the client; a browser must not sniff
            // an uploaded file into HTML or script.
            .xContentTypeOptions: "nosniff",
        ]
        // Object storage: answers without a body (HEAD, 304, 416) check that the object exists
        // with one HEAD request, so that a missing object gets the same answer from every method.
        func objectMustExist() async throws {
            guard let objects else { return }
            if try await !objects.exists(key: file.key) {
                throw ObjectGone(file: file, error: ObjectStorageError.notFound(key: file.key))
            }
        }
        // RFC 9110 §13.2.2: If-Match first (strong comparison), so a client resuming or verifying a
        // download of a file it has seen learns that the file was replaced instead of mixing bytes.
        // An empty field lists no tag: it is no condition (as a missing one).
        if let im = request.headers[.ifMatch], !im.allSatisfy({ $0 == " " || $0 == "\t" }), !Self.matches(im, etag, weak: false) {
            throw Problem(
                .staleVersion,
                detail:
                    "The file of \(queries.kind.name) \(id) is not the one If-Match names: it was replaced since (its ETag is now \(etag)); download it again without If-Match.",
                headers: [.eTag: etag])
        }
        if let inm = request.headers[.ifNoneMatch], Self.matches(inm, etag) {
            try await objectMustExist()
            return Response(status: .notModified, headers: headers)
        }
        var span: ClosedRange<Int64> = 0...(file.size - 1)
        var status: HTTPResponse.Status = .ok
        let ifRangeOK = request.headers[.ifRange].map { $0.trimmingCharacters(in: .whitespaces) == etag } ?? true
        if let rangeHeader = request.headers[.range], ifRangeOK, let range = ByteRange.parse(rangeHeader) {
            guard let resolved = range.resolve(size: file.size) else {
                try await objectMustExist()
                headers[.contentRange] = "bytes */\(file.size)"
                throw Problem(
                    .rangeNotSatisfiable, detail: "The file has \(file.size) bytes; the requested range \(rangeHeader) lies outside it.",
                    headers: headers)
            }
            span = resolved
            status = .partialContent
            headers[.contentRange] = "bytes \(span.lowerBound)-\(span.upperBound)/\(file.size)"
        }
        let length = span.upperBound - span.lowerBound + 1
        headers[.contentLength] = String(length)
        if request.method == .head {
            try await objectMustExist()
            return Response(status: status, headers: headers)
        }
        let start = span.lowerBound
        if let objects {
            // Proxy: one ranged GET of exactly the span, streamed through as it arrives.
            let object: (size: Int64, bytes: ObjectBytes)
            do {
                object = try await objects.read(key: file.key, range: start...span.upperBound)
            } catch let error as ObjectStorageError {
                if case .notFound = error {
                    throw ObjectGone(file: file, error: error)
                }
                if case .invalidRange = error { throw missingFile(file, queries: queries, id: id, context: context, error: error) }
                throw error
            }
            // An object shorter than the row says (or replaced by hand) must not be sent as this file.
            guard object.size == file.size || object.size < 0 else {
                throw FileStoreError.io("stored object \(file.key) has \(object.size) bytes, the record says \(file.size)")
            }
            let body = ResponseBody(contentLength: Int(length)) { writer in
                var sent: Int64 = 0
                for try await chunk in object.bytes {
                    sent += Int64(chunk.readableBytes)
                    guard sent <= length else { throw FileStoreError.io("stored object \(file.key) sent more than asked") }
                    try await writer.write(chunk)
                }
                guard sent == length else { throw FileStoreError.io("stored object \(file.key) ended after \(sent) of \(length) bytes") }
                try await writer.finish(nil)
            }
            return Response(status: status, headers: headers, body: body)
        }
        guard let source = diskSource else { throw FileStoreError.io("no file source") }
        let body = ResponseBody(contentLength: Int(length)) { writer in
            var offset = start
            let end = start + length
            while offset < end {
                let wanted = Int(min(256 * 1024, end - offset))
                let at = offset
                // pread on NIO's thread pool, not Swift's cooperative one: a slow disk stalls this
                // download only (one hop per 256 KiB chunk).
                let chunk = try await NIOThreadPool.singleton.runIfActive {
                    var chunk = ByteBuffer()
                    chunk.reserveCapacity(wanted)
                    _ = try chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) {
                        try source.read(at: at, into: UnsafeMutableRawBufferPointer(rebasing: $0.prefix(wanted)))
                    }
                    return chunk
                }
                let read = chunk.readableBytes
                // The file shrank under us: fail the response rather than send less than Content-Length.
                guard read > 0 else { throw FileStoreError.io("stored file \(file.key) is shorter than its recorded size") }
                try await writer.write(chunk)
                offset += Int64(read)
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// How long a redirect download's presigned URL works: long enough for a player to start and
    /// seek (each Range request reuses the URL), short enough that a leaked URL soon stops working.
    static let redirectLifetimeSeconds = 300

    /// The 404 for a row whose file is gone from the storage (logged for the operator).
    func missingFile(_ file: StoredFileInfo, queries: KindQueries, id: Int64, context: AudioRequestContext, error: any Error) -> Problem {
        context.logger.error("stored file missing", metadata: ["key": "\(file.key)", "error": "\(error)"])
        return Problem(
            .fileMissing,
            detail:
                "The file of \(queries.kind.name) \(id) is recorded but missing from the server's storage; upload it again (an operator can list such records with `audio-server storage verify`)."
        )
    }

    /// Whether a list of entity tags names `etag`: weak comparison for `If-None-Match`, strong
    /// (a `W/` tag never matches) for `If-Match` (RFC 9110 §8.8.3.2).
    static func matches(_ header: String, _ etag: String, weak: Bool = true) -> Bool {
        header.split(separator: ",").contains {
            let tag = $0.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || (weak && tag == "W/" + etag)
        }
    }

    /// `inline` so browsers play it; an ASCII fallback name plus the exact UTF-8 name (RFC 6266).
    static func contentDisposition(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 ? Character($0) : "_" })
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ascii
        return "inline; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
