import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import NIOCore
import TestSupport
import Testing

@testable import HTTPAPI

/// The web console's routes (`APIOperation.consolePage`/`consoleAsset`/`consoleRedirect`): the
/// compiled-in files with their types, caching and security headers; and `GET /api/key`, which
/// the console asks to learn what its key may do. The console itself is tested in a real browser
/// by scripts/console-e2e.sh.
@Suite struct ConsoleTests {
    static let assetsDirectory = TestDatabase.repositoryRoot.appendingPathComponent("Sources/HTTPAPI/Console/assets").path

    @Test func rootRedirectsToTheConsole() async throws {
        try await TestServer.run { client, _ in
            let response = try await client.get("/", headers: [KeyedTestClient.anonymous: "1"])
            #expect(response.status == .found)
            #expect(response.headers[.location] == "/console/")
            let bare = try await client.get("/console", headers: [KeyedTestClient.anonymous: "1"])
            #expect(bare.status == .permanentRedirect && bare.headers[.location] == "/console/", "\(bare.status)")
        }
    }

    @Test func thePageAndEveryFileAreServedWithTheirTypeAndSecurityHeaders() async throws {
        try await TestServer.run { client, _ in
            let page = try await client.get("/console/", headers: [KeyedTestClient.anonymous: "1"])
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains(#"<script type="module" src="/console/app.js"></script>"#))
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "\(csp)")
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(page.headers[.cacheControl] == "no-cache")
            #expect(page.headers[.eTag]?.hasPrefix("\"") == true)
            // Every compiled-in file, byte for byte the file in the repository.
            for (name, expectedType) in [
                ("index.html", "text/html"), ("console.css", "text/css"), ("app.js", "text/javascript"), ("api.js", "text/javascript"),
                ("ui.js", "text/javascript"), ("kinds.js", "text/javascript"), ("records.js", "text/javascript"),
                ("record.js", "text/javascript"), ("admin.js", "text/javascript"),
            ] {
                let response = try await client.get("/console/\(name)", headers: [KeyedTestClient.anonymous: "1"])
                #expect(response.status == .ok, "\(name)")
                #expect(response.headers[.contentType] == "\(expectedType); charset=utf-8", "\(name)")
                #expect(response.headers[.contentSecurityPolicy] != nil && response.headers[.xContentTypeOptions] == "nosniff", "\(name)")
                let onDisk = try Data(contentsOf: URL(fileURLWithPath: Self.assetsDirectory + "/" + name))
                #expect(Array(response.body.readableBytesView) == Array(onDisk), "\(name) differs from the file in the repository")
            }
        }
    }

    @Test func anETagThatMatchesIs304AndHEADHasNoBody() async throws {
        try await TestServer.run { client, _ in
            let first = try await client.get("/console/app.js")
            let tag = try #require(first.headers[.eTag])
            let again = try await client.get("/console/app.js", headers: [.ifNoneMatch: tag])
            #expect(again.status == .notModified && again.body.readableBytes == 0)
            #expect(again.headers[.eTag] == tag && again.headers[.contentSecurityPolicy] != nil)
            let weak = try await client.get("/console/app.js", headers: [.ifNoneMatch: "\"other\", W/\(tag)"])
            #expect(weak.status == .notModified)
            let stale = try await client.get("/console/app.js", headers: [.ifNoneMatch: "\"other\""])
            #expect(stale.status == .ok && stale.body.readableBytes > 0)
            let head = try await client.execute(uri: "/console/app.js", method: .head, headers: [:])
            #expect(head.status == .ok && head.body.readableBytes == 0)
            #expect(head.headers[.contentLength] == String(first.body.readableBytes))
        }
    }

    @Test func anUnknownFileIsA404ProblemAndOtherMethodsAre405() async throws {
        try await TestServer.run { client, _ in
            for path in ["/console/nope.js", "/console/..%2FPackage.swift", "/console/index.html%00"] {
                let response = try await client.get(path, headers: [KeyedTestClient.anonymous: "1"])
                #expect(response.status == .notFound && response.isProblem, "\(path): \(response.status) \(response.text)")
                #expect(try response.json()["type"] == "/problems/no-route", "\(path)")
            }
            let deeper = try await client.get("/console/a/b.js")
            #expect(deeper.status == .notFound && deeper.isProblem)
            let post = try await client.execute(uri: "/console/", method: .post, headers: [:], body: ByteBuffer(string: "x"))
            #expect(post.status == .methodNotAllowed && post.headers[.allow]?.contains("GET") == true, "\(post.status)")
        }
    }

    /// `CONSOLE_DEV_DIR` (`ServerConfiguration.consoleDirectory`): a console file found in the folder
    /// replaces the compiled-in copy, with its own ETag; a missing one falls back to the compiled-in
    /// copy; a name the console does not have is a 404 even when the folder holds such a file.
    @Test func aDevelopmentFolderReplacesTheCompiledInFilesByName() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("console-dev-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "// the copy being worked on\n".write(toFile: folder + "/app.js", atomically: true, encoding: .utf8)
        try "secret".write(toFile: folder + "/notes.txt", atomically: true, encoding: .utf8)
        try await TestServer.run(consoleDirectory: folder) { client, _ in
            let anonymous: HTTPFields = [KeyedTestClient.anonymous: "1"]
            let app = try await client.get("/console/app.js", headers: anonymous)
            #expect(app.status == .ok && app.text == "// the copy being worked on\n")
            #expect(app.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(app.headers[.eTag] != ConsoleAssets.files["app.js"]?.etag)
            let css = try await client.get("/console/console.css", headers: anonymous)
            #expect(css.status == .ok && css.headers[.eTag] == ConsoleAssets.files["console.css"]?.etag)
            #expect(try await client.get("/console/notes.txt", headers: anonymous).status == .notFound)
        }
        // Without the folder, the compiled-in copy.
        try await TestServer.run { client, _ in
            let app = try await client.get("/console/app.js", headers: [KeyedTestClient.anonymous: "1"])
            #expect(app.headers[.eTag] == ConsoleAssets.files["app.js"]?.etag)
        }
    }

    /// The files in Console/assets/, the table that serves them and Package.swift's resources agree.
    @Test func everyAssetFileIsCompiledInAndServed() throws {
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: Self.assetsDirectory))
        #expect(onDisk == Set(ConsoleAssets.files.keys))
        let manifest = try String(contentsOf: TestDatabase.repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        for name in onDisk { #expect(manifest.contains(#".embedInCode("Console/assets/\#(name)")"#), "Package.swift does not embed \(name)") }
    }

    @Test func consoleRoutesAreNotInOpenAPIButTheKeyRouteIs() throws {
        let doc = OpenAPIDocument.make(try OpenAPITests.catalog(extra: false))
        let paths = try #require(doc["paths"]?.objectValue)
        #expect(!paths.keys.contains { $0 == "/" || $0.hasPrefix("/console") })
        #expect(doc["paths", "/api/key", "get", "operationId"] == "current_key")
        #expect(doc["paths", "/api/key", "get", "security"] == [])
    }

    @Test func theKeyRouteNamesTheKeyAndItsScopes() async throws {
        try await TestServer.run { client, _ in
            let anonymous = try await client.get("/api/key", headers: [KeyedTestClient.anonymous: "1"])
            #expect(anonymous.status == .ok && anonymous.text == #"{"key":null}"#, "\(anonymous.text)")
            let admin = try await client.get("/api/key")
            #expect(admin.status == .ok && admin.headers[.cacheControl] == "no-store")
            #expect(try admin.json()["key"]?["scopes"] == ["admin"], "\(admin.text)")
            #expect(!admin.text.contains("afs_"))
            let made = try await client.postJSON("/api/keys", #"{"name":"reader","scopes":["read:song","write:*"]}"#)
            let secret = try #require(try made.json()["secret"]?.stringValue)
            let reader = try await client.get("/api/key", headers: [.authorization: "Bearer \(secret)"])
            #expect(try reader.json()["key"]?["scopes"] == ["read:song", "write:*"], "\(reader.text)")
            #expect(try reader.json()["key"]?["name"] == "reader")
            let bad = try await client.get("/api/key", headers: [.authorization: "Bearer afs_" + String(repeating: "A", count: 43)])
            #expect(bad.status == .unauthorized && bad.isProblem)
        }
    }
}
