import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web console's files (`Console/assets/`), compiled into the binary by SwiftPM
/// (`resources: [.embedInCode(...)]` in Package.swift generates `PackageResources.<file>`), so a
/// server serves its console with nothing beside it and nothing fetched at run time. The console
/// is plain HTML, CSS and JavaScript modules that call the public API (docs/console.md).
///
/// Every answer carries a strong `ETag` (the first 128 bits of the file's SHA-256) and `Cache-Control: no-cache`: a
/// browser keeps the files and revalidates them (304, no body), so a new binary's console is
/// seen on the next load. The security headers allow only this origin's scripts, styles, media
/// and API calls, no framing, and no referrer (signed links must not leak through it).
enum ConsoleAssets {
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    /// Every file of the console by the name in its URL (`/console/<name>`). A file added to
    /// `Console/assets/` needs a line here and one in Package.swift (a test checks both).
    static let files: [String: Asset] = [
        "index.html": asset(PackageResources.index_html, "text/html; charset=utf-8"),
        "console.css": asset(PackageResources.console_css, "text/css; charset=utf-8"),
        "app.js": asset(PackageResources.app_js, "text/javascript; charset=utf-8"),
        "api.js": asset(PackageResources.api_js, "text/javascript; charset=utf-8"),
        "ui.js": asset(PackageResources.ui_js, "text/javascript; charset=utf-8"),
        "kinds.js": asset(PackageResources.kinds_js, "text/javascript; charset=utf-8"),
        "records.js": asset(PackageResources.records_js, "text/javascript; charset=utf-8"),
        "record.js": asset(PackageResources.record_js, "text/javascript; charset=utf-8"),
        "admin.js": asset(PackageResources.admin_js, "text/javascript; charset=utf-8"),
    ]

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
        .xFrameOptions: "DENY",
        .referrerPolicy: "no-referrer",
        .cacheControl: "no-cache",
    ]

    static func asset(_ bytes: [UInt8], _ contentType: String) -> Asset {
        let digest = SHA256.hash(data: bytes).prefix(16).map { String(format: "%02x", $0) }.joined()
        return Asset(body: ByteBuffer(bytes: bytes), contentType: contentType, etag: "\"\(digest)\"")
    }

    /// `GET /`: the console is the front page.
    static func redirect() -> Response {
        Response(status: .found, headers: [.location: "/console/", .cacheControl: "no-cache"])
    }

    /// `GET /console/<name>` (and `/console/` for `index.html`): the file, or 304 when
    /// `If-None-Match` names its tag, or 404 `no-route` for a name the console does not have.
    /// With a `developmentDirectory` (`CONSOLE_DEV_DIR`), a file there replaces the compiled-in
    /// copy; only names in `files` are looked up.
    static func respond(_ name: String, _ request: Request, developmentDirectory: String?) throws -> Response {
        // `/console` without the slash: the page's relative links need the folder.
        if name == "index.html", request.uri.path == "/console" {
            return Response(status: .permanentRedirect, headers: [.location: "/console/", .cacheControl: "no-cache"])
        }
        guard var asset = files[name] else {
            throw Problem(
                .noRoute, detail: "The console has no file named '\(name)'. Open /console/ for the console, or see GET /openapi.json for the API.")
        }
        if let folder = developmentDirectory, let bytes = FileManager.default.contents(atPath: folder + "/" + name) {
            asset = Self.asset(Array(bytes), asset.contentType)
        }
        var headers = securityHeaders
        headers[.eTag] = asset.etag
        if let tags = request.headers[.ifNoneMatch], tags.split(separator: ",").contains(where: { Self.sameTag($0, asset.etag) }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        headers[.contentLength] = String(asset.body.readableBytes)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.body))
    }

    /// If-None-Match compares weakly (RFC 9110 §13.1.2): `W/"x"` matches `"x"`; `*` matches any.
    static func sameTag(_ candidate: Substring, _ etag: String) -> Bool {
        var tag = candidate.trimmingCharacters(in: .whitespaces)
        if tag == "*" { return true }
        if tag.hasPrefix("W/") { tag.removeFirst(2) }
        return tag == etag
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
