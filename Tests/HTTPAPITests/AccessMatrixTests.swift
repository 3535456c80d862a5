import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import Schema
import Storage
import Testing

@testable import HTTPAPI

/// Every kind route × every access level × every key state: the status and problem each gets.
@Suite struct AccessMatrixTests {
    /// Kinds at each access level beside the shipped `song` (public reads, signed downloads).
    static let kinds = [
        "openclip.yaml": "name: openclip\naccess:\n  read: public\n  download: public\nfields:\n  title:\n    type: string\n",
        "keyclip.yaml": "name: keyclip\naccess:\n  read: key\n  download: key\nfields:\n  title:\n    type: string\n",
        "privclip.yaml": "name: privclip\nfields:\n  title:\n    type: string\n",
    ]

    enum KeyState: String, CaseIterable { case none, malformed, wrongScheme, unknown, expired, revoked, wrongScope, rightScope }

    enum Route: String, CaseIterable {
        case list, count, get, head, create, update, upload, delete, download, headDownload, link

        var action: KindAction {
            switch self {
            case .list, .count, .get, .head, .download, .headDownload, .link: .read
            case .create, .update: .write
            case .upload: .upload
            case .delete: .delete
            }
        }

        var purpose: KindRoutePurpose {
            switch self {
            case .list, .count, .get, .head: .read
            case .download, .headDownload: .download
            case .link: .link
            case .create, .update: .write
            case .upload: .upload
            case .delete: .delete
            }
        }

        var success: HTTPResponse.Status {
            switch self {
            case .create: .created
            case .delete: .noContent
            default: .ok
            }
        }
    }

    static let wav = LargeUploadTests.wav(dataBytes: 44_100 * 4)

    @Test func everyRouteAccessLevelAndKeyState() async throws {
        try await TestServer.run(extraKinds: Self.kinds, failedAuthBurst: 1_000_000) { client, context in
            var mismatches: [String] = []
            for kind in ["openclip", "keyclip", "privclip", "song"] {
                let access = try #require(try KindLoader.load(directory: context.kindsDirectory).kind(named: kind)).access
                let body = kind == "song" ? #"{"filetype":"song","name":"m","duration":1}"# : #"{"filetype":"\#(kind)","title":"m"}"#
                // The record every route but delete uses, with a file.
                let main = try await client.create(body)
                #expect(try await client.uploadRaw("/api/audio/\(kind)/\(main)", bytes: Self.wav, contentType: "audio/wav").status == .ok)
                for route in Route.allCases {
                    let right = "\(route.action.rawValue):\(kind)"
                    // Every other scope on this kind, and this action on another kind.
                    let wrong =
                        KindAction.allCases.filter { $0 != route.action }.map { "\($0.rawValue):\(kind)" }
                        + ["\(route.action.rawValue):\(kind == "song" ? "podcast" : "song")"]
                    for state in KeyState.allCases {
                        let auth: String?
                        switch state {
                        case .none: auth = nil
                        case .malformed: auth = "Bearer not-a-key"
                        case .wrongScheme: auth = "Basic YWRtaW46YWRtaW4="
                        case .unknown: auth = "Bearer \(APIKeySecret.generate())"
                        case .expired: auth = "Bearer \(try await context.makeKey([right], expiresAt: Date().addingTimeInterval(-60)))"
                        case .revoked: auth = "Bearer \(try await context.revokedKey([right]))"
                        case .wrongScope: auth = "Bearer \(try await context.makeKey(wrong))"
                        case .rightScope: auth = "Bearer \(try await context.makeKey([right]))"
                        }
                        let target = route == .delete ? try await client.create(body) : main
                        let response = try await Self.send(route, kind: kind, id: target, body: body, auth: auth, client: client)
                        let (status, slug) = Self.expected(route, access: access, kind: kind, state: state)
                        let gotSlug = client.slug(response)
                        if response.status != status || (slug != nil && route != .head && route != .headDownload && gotSlug != slug) {
                            mismatches.append(
                                "\(route) \(kind) key=\(state): got \(response.status.code) \(gotSlug ?? "-"), expected \(status.code) \(slug ?? "-")"
                            )
                        }
                        if response.status == .unauthorized {
                            if response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") != true {
                                mismatches.append("\(route) \(kind) key=\(state): 401 without WWW-Authenticate: Bearer")
                            }
                        }
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.joined(separator: "\n"))")
            // A link route that can only answer links-not-accepted is not offered in OpenAPI.
            let document = OpenAPIDocument.make(try KindLoader.load(directory: context.kindsDirectory))
            #expect(document["paths", "/api/audio/keyclip/{id}/file/link"] == nil)
            #expect(document["paths", "/api/audio/openclip/{id}/file/link"] != nil && document["paths", "/api/audio/song/{id}/file/link"] != nil)
        }
    }

    static func expected(_ route: Route, access: KindAccess, kind: String, state: KeyState) -> (HTTPResponse.Status, String?) {
        let decision = route.purpose.decide(kind: kind, access: access)
        let allowedWithoutKey = decision == .allowed
        switch state {
        case .malformed, .wrongScheme: return (.unauthorized, "key-malformed")
        case .unknown, .revoked: return (.unauthorized, "key-invalid")
        case .expired: return (.unauthorized, "key-expired")
        case .none: return allowedWithoutKey ? (route.success, nil) : (.unauthorized, "key-missing")
        case .wrongScope: return allowedWithoutKey ? (route.success, nil) : (.forbidden, "scope-missing")
        case .rightScope:
            // A kind whose files need a key hands out no links: they could never be used.
            if route == .link && access.download == .key { return (.forbidden, "links-not-accepted") }
            return (route.success, nil)
        }
    }

    static func send(
        _ route: Route, kind: String, id: Int64, body: String, auth: String?, client: some TestClientProtocol
    ) async throws -> TestResponse {
        let base = "/api/audio/\(kind)"
        switch route {
        case .list: return try await client.call(.get, base, auth: auth)
        case .count: return try await client.call(.get, base + "?count=exact&limit=1", auth: auth)
        case .get: return try await client.call(.get, "\(base)/\(id)", auth: auth)
        case .head: return try await client.call(.head, "\(base)/\(id)", auth: auth)
        case .create:
            return try await client.call(
                .post, "/api/audio/create", auth: auth, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
        case .update:
            let patch = kind == "song" ? #"{"name":"changed"}"# : #"{"title":"changed"}"#
            return try await client.call(
                .patch, "\(base)/\(id)", auth: auth, headers: [.contentType: "application/json"], body: ByteBuffer(string: patch))
        case .upload:
            return try await client.call(.put, "\(base)/\(id)", auth: auth, headers: [.contentType: "audio/wav"], body: ByteBuffer(bytes: wav))
        case .delete: return try await client.call(.delete, "\(base)/\(id)", auth: auth)
        case .download: return try await client.call(.get, "\(base)/\(id)/file", auth: auth)
        case .headDownload: return try await client.call(.head, "\(base)/\(id)/file", auth: auth)
        case .link: return try await client.call(.post, "\(base)/\(id)/file/link", auth: auth)
        }
    }

    /// A private kind answers 401 before anything about the record: the same for an id that
    /// exists, one that does not, and one that is not even a number.
    @Test func privateKindsRevealNothingWithoutAKey() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let id = try await client.create(#"{"filetype":"privclip","title":"secret"}"#)
            for path in [
                "/api/audio/privclip/\(id)", "/api/audio/privclip/999999", "/api/audio/privclip/x", "/api/audio/privclip/\(id)/file",
                "/api/audio/privclip/999999/file", "/api/audio/privclip",
            ] {
                let response = try await client.call(.get, path, auth: nil)
                #expect(response.status == .unauthorized && client.slug(response) == "key-missing", "\(path)")
                #expect(!response.text.contains("secret"))
            }
            // With a key the difference appears.
            let reader = try await context.makeKey(["read:privclip"])
            #expect(try await client.call(.get, "/api/audio/privclip/999999", auth: "Bearer \(reader)").status == .notFound)
            #expect(try await client.call(.get, "/api/audio/privclip/\(id)", auth: "Bearer \(reader)").status == .ok)
            // A 403 for a wrong scope also comes before the record is read.
            let writer = try await context.makeKey(["write:privclip"])
            #expect(try await client.call(.get, "/api/audio/privclip/999999", auth: "Bearer \(writer)").status == .forbidden)
            // Shapes stay public.
            for path in ["/healthz", "/api/kinds", "/api/kinds/privclip", "/openapi.json"] {
                #expect(try await client.call(.get, path, auth: nil).status == .ok, "\(path)")
                #expect(try await client.call(.get, path, auth: "Bearer nonsense").status == .ok, "\(path) with a bad key")
            }
        }
    }

    /// Access is a reload away (SIGHUP), with no migration: a private kind opened to public reads.
    @Test func accessChangesApplyOnReloadWithoutAMigration() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let id = try await client.create(#"{"filetype":"privclip","title":"t"}"#)
            #expect(try await client.call(.get, "/api/audio/privclip/\(id)", auth: nil).status == .unauthorized)
            let path = context.kindsDirectory + "/privclip.yaml"
            try (try String(contentsOfFile: path, encoding: .utf8)).replacingOccurrences(of: "fields:", with: "access:\n  read: public\nfields:")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let outcome = try await context.sql { db in
                await KindReloader(
                    registry: context.registry, kindsDirectory: context.kindsDirectory,
                    migrations: MigrationDirectory(path: context.migrationsDirectory), client: db, logger: Logger(label: "reload")
                ).reload()
            }
            #expect(outcome == .reloaded(["audio_book", "keyclip", "openclip", "podcast", "privclip", "song"]))
            #expect(try await client.call(.get, "/api/audio/privclip/\(id)", auth: nil).status == .ok)
            let kinds = try await client.get("/api/kinds").json()["kinds"]?.arrayValue?.compactMap(\.objectValue)
            #expect(kinds?.first { $0["name"] == "privclip" }?["access"] == .object(JSONObject([("read", "public"), ("download", "key")])))
            // Writes still need a key.
            #expect(try await client.call(.delete, "/api/audio/privclip/\(id)", auth: nil).status == .unauthorized)
        }
    }

    /// `<action>:*` covers every kind; `admin` covers everything; the 403 names the scope.
    @Test func wildcardAndAdminScopes() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let everyReader = try await context.makeKey(["read:*"])
            for kind in ["keyclip", "privclip"] {
                #expect(try await client.call(.get, "/api/audio/\(kind)", auth: "Bearer \(everyReader)").status == .ok)
            }
            let denied = try await client.call(
                .post, "/api/audio/create", auth: "Bearer \(everyReader)",
                headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"filetype":"keyclip","title":"x"}"#))
            #expect(denied.status == .forbidden)
            #expect(try denied.json()["required_scope"] == "write:keyclip")
            let writers = try await context.makeKey(["write:*"])
            let made = try await client.call(
                .post, "/api/audio/create", auth: "Bearer \(writers)",
                headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"filetype":"keyclip","title":"x"}"#))
            #expect(made.status == .created)
            // Only admin reaches keys and the audit trail.
            for path in ["/api/keys", "/api/audit"] {
                #expect(try await client.call(.get, path, auth: "Bearer \(writers)").status == .forbidden)
                #expect(try await client.call(.get, path, auth: nil).status == .unauthorized)
                #expect(try await client.call(.get, path, auth: "Bearer \(context.adminSecret)").status == .ok)
            }
        }
    }
}
