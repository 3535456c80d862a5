import Foundation
import Hummingbird
import KindModel
import Storage

extension AudioAPI {
    /// `POST /api/audio/<kind>/<id>/file/link?expires_in=SECONDS`: a signed link to the record's
    /// file that plays without any header (`<audio src>`), for 1 s to 7 days (default 1 hour).
    /// `readable`: whether the caller may read the kind (`AudioAPI.fileToServe`).
    func createLink(_ request: Request, queries: KindQueries, id: Int64, readable: Bool) async throws -> Response {
        // A link to a `download: key` file would never be accepted: refuse to hand out a dead one.
        if !APIOperation.createLink.isOffered(by: queries.kind) { throw Self.linksNotAccepted(queries.kind.name) }
        let lifetime = try Self.linkLifetime(request.uri.queryParameters)
        let file = try Self.fileToServe(try await records.fileInfo(id, in: queries), kind: queries.kind.name, id: id, readable: readable)
        // Rounded up: a link lives at least the seconds asked for (a 1 s link made at x.9 s would
        // otherwise have a tenth of a second).
        let expires = Int64(Date().timeIntervalSince1970.rounded(.up)) + lifetime
        let url = access.links.url(kind: queries.kind.name, id: id, expires: expires, sha256: file.sha256)
        let body = JSONObject([("url", .string(url)), ("expires_at", .string(RFC3339.format(Date(timeIntervalSince1970: Double(expires)))))])
        return JSONResponse.make(.ok, JSONWriter.string(.object(body)))
    }

    /// The lifetime a link request asks for. `expires_in` is its only parameter: another one, or
    /// `expires_in` twice, is a 400 naming it (as the list and audit routes do), not ignored.
    static func linkLifetime(_ query: Parameters) throws -> Int64 {
        var text: String?
        for (name, value) in query {
            guard name == "expires_in" else {
                throw Problem(
                    .invalidQuery, detail: "'\(name)' is not a parameter of this route; the only one is expires_in (seconds).",
                    errors: [ValidationIssue(field: String(name), code: .unknown, message: "'\(name)' is not a parameter; use expires_in")])
            }
            guard text == nil else {
                throw Problem(
                    .invalidQuery, detail: "expires_in is given more than once; give it once.",
                    errors: [ListQueryParser.givenTwice("expires_in")])
            }
            text = String(value)
        }
        guard let text else { return SignedLinkSigner.defaultLifetime }
        let range = SignedLinkSigner.lifetimes
        guard let seconds = Int64(text), range.contains(seconds) else {
            throw Problem(
                .invalidQuery,
                detail: "expires_in must be a whole number of seconds from \(range.lowerBound) to \(range.upperBound) (7 days); got '\(text)'.",
                errors: [
                    ValidationIssue(
                        field: "expires_in", code: .range, message: "'expires_in' must be \(range.lowerBound)–\(range.upperBound) seconds")
                ])
        }
        return seconds
    }

    static func linksNotAccepted(_ kind: String) -> Problem {
        Problem(
            .linksNotAccepted,
            detail:
                "\(kind) files are downloaded with a key only (`download: key`), so a signed link would not be accepted; send the key with the download, or set `access: download: signed` in kinds/\(kind).yaml to hand out links."
        )
    }

    static func noFile(_ kind: String, _ id: Int64) -> Problem {
        Problem(.noFile, detail: "\(kind) \(id) has no audio file yet; upload one with PUT /api/audio/\(kind)/\(id).")
    }

    /// The file a download or a link is for. A caller who may read the kind learns why there is
    /// none (404 `not-found` for no record, `no-file` for a record without a file). One who may
    /// not (a `download: public` kind whose reads need a key, a key with only `upload:`) gets one
    /// and the same 404 for both, so the file routes cannot tell it which ids exist when the record
    /// routes would answer it 401 or 403. (A record with a file is no secret to it: it may download it.)
    static func fileToServe(_ lookup: FileLookup, kind: String, id: Int64, readable: Bool) throws -> StoredFileInfo {
        switch lookup {
        case .file(let info): return info
        case .noRecord where readable: throw Problem.notFound(kind: kind, id: id)
        case .noFile where readable: throw noFile(kind, id)
        case .noRecord, .noFile: throw nothingToDownload(kind, id)
        }
    }

    /// The one 404 of `fileToServe` for a caller who may not read the kind.
    static func nothingToDownload(_ kind: String, _ id: Int64) -> Problem {
        Problem(
            .notFound,
            detail:
                "There is no \(kind) file with id \(id): no such record, or no file uploaded to it yet. (A key with read:\(kind) is told which.)"
        )
    }
}
