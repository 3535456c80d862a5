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
    func download(
        _ request: Request, _ context: AudioRequestContext, queries: KindQueries, id: Int64, grant: AccessGate.Grant
    ) async throws -> Response {
        let lookup = try await records.fileInfo(id, in: queries)
        if case .ifLinkVerifies(let link) = grant {
            try await access.verifyLink(link, kind: queries.kind.name, id: id, sha256: lookup.sha256, request, context)
        }
        let file: StoredFileInfo
        switch lookup {
        case .noRecord: throw Problem.notFound(kind: queries.kind.name, id: id)
        case .noFile: throw Self.noFile(queries.kind.name, id)
        case .file(let info): file = info
        }
        // Opened first, for HEAD and 304 too: a row whose file is gone from disk gets the same clear
        // answer from every method. Kept open: a concurrent replacement unlinks the old name, but
        // this descriptor keeps reading it whole.
        let source: FileByteSource
        do {
            source = try FileByteSource(path: files.path(forKey: file.key))
        } catch {
            context.logger.error("stored file missing", metadata: ["key": "\(file.key)", "error": "\(error)"])
            throw Problem(
                .fileMissing,
                detail:
                    "The file of \(queries.kind.name) \(id) is recorded but missing from the server's storage; upload it again (an operator can list such records with `audio-server storage verify`)."
            )
        }
        let etag = "\"\(file.sha256)\""
        // Without an original name, the kind, id and the detected format's extension (`song-7.wav`).
        let fileExtension = (file.key as NSString).pathExtension
        let fallbackName = "\(queries.kind.name)-\(id)" + (fileExtension.isEmpty ? "" : ".\(fileExtension)")
        var headers: HTTPFields = [
            .contentType: file.contentType,
            .eTag: etag,
            .acceptRanges: "bytes",
            .contentDisposition: Self.contentDisposition(file.originalName ?? fallbackName),
            .cacheControl: "private, max-age=0, must-revalidate",
            // The Content-Type comes from the probe, never the client; a browser must not sniff
            // an uploaded file into HTML or script.
            .xContentTypeOptions: "nosniff",
        ]
        if let inm = request.headers[.ifNoneMatch], Self.matches(inm, etag) {
            return Response(status: .notModified, headers: headers)
        }
        var span: ClosedRange<Int64> = 0...(file.size - 1)
        var status: HTTPResponse.Status = .ok
        let ifRangeOK = request.headers[.ifRange].map { $0.trimmingCharacters(in: .whitespaces) == etag } ?? true
        if let rangeHeader = request.headers[.range], ifRangeOK, let range = ByteRange.parse(rangeHeader) {
            guard let resolved = range.resolve(size: file.size) else {
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
        if request.method == .head { return Response(status: status, headers: headers) }
        let start = span.lowerBound
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

    /// `If-None-Match` comparison (weak, as RFC 9110 says for this header).
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains {
            let tag = $0.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }

    /// `inline` so browsers play it; an ASCII fallback name plus the exact UTF-8 name (RFC 6266).
    static func contentDisposition(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 ? Character($0) : "_" })
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ascii
        return "inline; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
