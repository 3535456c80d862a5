import Foundation
import Hummingbird
import KindModel
import Storage

extension AudioAPI {
    /// `POST /api/audio/<kind>/<id>/file/link?expires_in=SECONDS`: a signed link to the record's
    /// file that plays without any header (`<audio src>`), for 1 s to 7 days (default 1 hour).
    func createLink(_ request: Request, queries: KindQueries, id: Int64) async throws -> Response {
        // A link to a `download: key` file would never be accepted: refuse to hand out a dead one.
        if !APIOperation.createLink.isOffered(by: queries.kind) { throw Self.linksNotAccepted(queries.kind.name) }
        let lifetime = try Self.linkLifetime(request.uri.queryParameters.get("expires_in"))
        let file: StoredFileInfo
        switch try await records.fileInfo(id, in: queries) {
        case .noRecord: throw Problem.notFound(kind: queries.kind.name, id: id)
        case .noFile: throw Self.noFile(queries.kind.name, id)
        case .file(let info): file = info
        }
        // Rounded up: a link lives at least the seconds asked for (a 1 s link made at x.9 s would
        // otherwise have a tenth of a second).
        let expires = Int64(Date().timeIntervalSince1970.rounded(.up)) + lifetime
        let url = access.links.url(kind: queries.kind.name, id: id, expires: expires, sha256: file.sha256)
        let body = JSONObject([("url", .string(url)), ("expires_at", .string(RFC3339.format(Date(timeIntervalSince1970: Double(expires)))))])
        return JSONResponse.make(.ok, JSONWriter.string(.object(body)))
    }

    static func linkLifetime(_ text: String?) throws -> Int64 {
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
}
