import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

/// Keys over HTTP: made, listed, revoked; what a request presenting them gets.
@Suite struct KeyAPITests {
    @Test func makeListUseAndRevokeAKey() async throws {
        try await TestServer.run { client, context in
            let made = try await client.postJSON(
                "/api/keys", #"{"name":"ci","scopes":["write:song","read:song"],"expires_at":"2099-01-01T00:00:00Z"}"#)
            #expect(made.status == .created)
            let key = try made.json()
            let secret = try #require(key["secret"]?.stringValue)
            let id = try #require(key["id"]?.int64)
            #expect(secret.hasPrefix("afs_") && secret.count == 47)
            #expect(key["name"] == "ci" && key["scopes"] == ["write:song", "read:song"] && key["expires_at"] == "2099-01-01T00:00:00Z")
            #expect(made.headers[.location] == "/api/keys/\(id)" && made.headers[.cacheControl] == "no-store")

            // Works at once for what it may do, 403 for what it may not.
            let created = try await client.call(
                .post, "/api/audio/create", auth: "Bearer \(secret)", headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"filetype":"song","name":"a","duration":3}"#))
            #expect(created.status == .created)
            let denied = try await client.call(
                .post, "/api/audio/create", auth: "Bearer \(secret)", headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"filetype":"podcast","name":"a","duration":3,"host":"h"}"#))
            #expect(denied.status == .forbidden && client.slug(denied) == "scope-missing")
            #expect(try denied.json()["required_scope"] == "write:podcast")

            // Listed without its secret; the list says when it was made and whether it is revoked.
            let list = try await client.get("/api/keys")
            #expect(list.status == .ok && !list.text.contains(secret) && !list.text.contains("secret"))
            let listed = try #require(try list.json()["items"]?.arrayValue?.compactMap(\.objectValue).first { $0["id"]?.int64 == id })
            #expect(listed["revoked"] == .bool(false) && listed["created_at"]?.stringValue != nil && listed["last_used_at"] != nil)

            // Stored only as its SHA-256.
            let stored = try await context.sql { client in
                var out: [String] = []
                let rows = try await client.query(
                    "SELECT name, encode(secret_sha256, 'hex'), array_to_string(scopes, ',') FROM audio_server.api_keys", logger: TestDatabase.logger)
                for try await (name, hash, scopes) in rows.decode((String, String, String).self) { out.append("\(name) \(hash) \(scopes)") }
                return out
            }
            let hash = SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(stored.contains { $0.hasPrefix("ci \(hash)") })
            #expect(!stored.joined().contains(secret) && !stored.joined().contains(String(secret.dropFirst(4))))

            // Revoked: 204, then refused at once; revoking again is 404.
            #expect(try await client.execute(uri: "/api/keys/\(id)", method: .delete).status == .noContent)
            let after = try await client.call(.get, "/api/audio/song", auth: "Bearer \(secret)")
            #expect(after.status == .unauthorized && client.slug(after) == "key-invalid")
            #expect(try await client.execute(uri: "/api/keys/\(id)", method: .delete).status == .notFound)
            let relisted = try await client.get("/api/keys")
            #expect(try relisted.json()["items"]?.arrayValue?.compactMap(\.objectValue).first { $0["id"]?.int64 == id }?["revoked"] == .bool(true))
            // The name is free again once its key is revoked.
            #expect(try await client.postJSON("/api/keys", #"{"name":"ci","scopes":["read:*"]}"#).status == .created)
        }
    }

    @Test func badKeyRequestsAreRefusedFieldByField() async throws {
        try await TestServer.run { client, _ in
            let cases: [(String, [String])] = [
                (#"{"scopes":["read:song"]}"#, ["name:required"]),
                (#"{"name":"x","scopes":["read:nosuchkind"]}"#, ["scopes[0]:enum"]),
                (#"{"name":"x","scopes":["fly:song","admin"]}"#, ["scopes[0]:enum"]),
                (#"{"name":"x","scopes":[]}"#, ["scopes:type"]),
                (#"{"name":"123","scopes":["admin"]}"#, ["name:type"]),
                (#"{"name":"x","scopes":["admin"],"expires_at":"2001-01-01T00:00:00Z"}"#, ["expires_at:not_in_past"]),
                (#"{"name":"x","scopes":["admin"],"expires_at":"tomorrow"}"#, ["expires_at:format"]),
                (#"{"name":"x","scopes":["admin"],"secret":"mine"}"#, ["secret:unknown"]),
            ]
            for (body, codes) in cases {
                let response = try await client.postJSON("/api/keys", body)
                #expect(response.status == .badRequest && response.isProblem, "\(body)")
                #expect(try response.errorCodes() == codes, "\(body): \(response.text)")
            }
            // An alias in a scope is stored as the kind's canonical name.
            let alias = try await client.postJSON("/api/keys", #"{"name":"books","scopes":["read:audiobook"]}"#)
            #expect(try alias.json()["scopes"] == ["read:audio_book"])
            #expect(try await client.postJSON("/api/keys", #"{"name":"books","scopes":["read:*"]}"#).status == .conflict)
            // A body that is not an object, or not JSON, is told what a key request looks like, not a record.
            let array = try await client.postJSON("/api/keys", "[1]")
            let detail = try array.json()["detail"]?.stringValue ?? ""
            #expect(array.status == .badRequest && detail.contains(#""scopes""#) && !detail.contains("filetype"), "\(detail)")
            let text = try await client.execute(uri: "/api/keys", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "x"))
            let textDetail = try text.json()["detail"]?.stringValue ?? ""
            #expect(text.status == .unsupportedMediaType && textDetail.contains("the key") && !textDetail.contains("record"), "\(textDetail)")
        }
    }

    /// Each way a key can be wrong gets its own 401 (unknown and revoked share one), with the
    /// Bearer challenge; no answer echoes the secret.
    @Test func each401SaysWhichProblemItWas() async throws {
        try await TestServer.run(extraKinds: AccessMatrixTests.kinds) { client, context in
            let expired = try await context.makeKey(["read:privclip"], expiresAt: Date().addingTimeInterval(-1))
            let revoked = try await context.revokedKey(["read:privclip"])
            let unknown = APIKeySecret.generate()
            let cases: [(String?, String)] = [
                (nil, "key-missing"), ("Bearer", "key-malformed"), ("Bearer afs_short", "key-malformed"), ("Token \(unknown)", "key-malformed"),
                ("Bearer \(unknown)", "key-invalid"), ("Bearer \(revoked)", "key-invalid"), ("Bearer \(expired)", "key-expired"),
            ]
            for (auth, slug) in cases {
                let response = try await client.call(.get, "/api/audio/privclip", auth: auth)
                #expect(response.status == .unauthorized && client.slug(response) == slug, "\(auth ?? "none")")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer realm=\"audio-server\"") == true)
                for secret in [unknown, revoked, expired] { #expect(!response.text.contains(secret)) }
            }
            // The scheme is case-insensitive (RFC 6750 uses "Bearer"; clients vary).
            let reader = try await context.makeKey(["read:privclip"])
            #expect(try await client.call(.get, "/api/audio/privclip", auth: "bearer \(reader)").status == .ok)
        }
    }

    /// `last_used_at` is written from memory in batches, not per request.
    @Test func lastUsedIsRecorded() async throws {
        try await TestServer.run(keyReloadInterval: .milliseconds(200)) { client, context in
            let secret = try await context.makeKey(["read:*"], name: "used")
            #expect(try await client.call(.get, "/api/audio/song", auth: "Bearer \(secret)").status == .ok)
            var lastUsed: JSONValue?
            for _ in 0..<50 where lastUsed == nil || lastUsed == .null {
                try await Task.sleep(for: .milliseconds(100))
                let list = try await client.get("/api/keys")
                lastUsed = try list.json()["items"]?.arrayValue?.compactMap(\.objectValue).first { $0["name"] == "used" }?["last_used_at"]
            }
            #expect(lastUsed?.stringValue != nil)
        }
    }
}

/// An upload without a key gets its 401 before the body is sent, and one with a key the server
/// knows to lack the scope its 403: no `100 Continue` for either.
@Suite struct ContinueWithoutKeyTests {
    @Test func noContinueForAWriteWithoutAKey() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let port = try #require(client.port)
            let id = try await client.create(#"{"filetype":"song","name":"c","duration":1}"#)
            let wav = LargeUploadTests.wav(dataBytes: 44_100 * 4)
            let head =
                "PUT /api/audio/song/\(id) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test-Anonymous: 1\r\nContent-Type: audio/wav\r\nContent-Length: \(wav.count)\r\nExpect: 100-continue\r\n\r\n"
            // The head alone gets its final 401 (no 100 Continue first): the body is never needed.
            let anonymous = try await RawConnection.sendAndRead(port: port, head: head, until: "}", wait: .seconds(20))
            #expect(anonymous.hasPrefix("HTTP/1.1 401"), "\(anonymous.prefix(200))")
            // A key the server knows (used once) without upload:song: its 403 comes first too.
            let reader = try await context.makeKey(["read:song"])
            #expect(try await client.call(.get, "/api/audio/song/\(id)", auth: "Bearer \(reader)").status == .ok)
            let readerHead = head.replacingOccurrences(of: "X-Test-Anonymous: 1\r\n", with: "Authorization: Bearer \(reader)\r\n")
            let unscoped = try await RawConnection.sendAndRead(port: port, head: readerHead, until: "}", wait: .seconds(20))
            #expect(unscoped.hasPrefix("HTTP/1.1 403"), "\(unscoped.prefix(200))")
            // With the key the same upload is invited to send its body.
            let keyed = try await RawConnection.sendHeadWaitThenBody(
                port: port, head: head.replacingOccurrences(of: "X-Test-Anonymous: 1\r\n", with: ""), body: wav)
            #expect(keyed.interim.hasPrefix("HTTP/1.1 100"), "\(keyed.interim.prefix(200))")
            #expect(keyed.final.contains("HTTP/1.1 200"), "\(keyed.final.prefix(300))")
        }
    }
}

/// Signed links: made for a record's file, played without headers, refused when anything is off.
@Suite struct SignedLinkTests {
    static func link(_ client: some TestClientProtocol, _ path: String) async throws -> String {
        let response = try await client.execute(uri: path, method: .post)
        guard response.status == .ok, let url = try response.json()["url"]?.stringValue else {
            throw TestFailure("link: \(response.status) \(response.text)")
        }
        return url
    }

    @Test func aLinkPlaysAndSeeksWithoutHeaders() async throws {
        try await TestServer.run { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"s","duration":1}"#)
            let wav = LargeUploadTests.wav(dataBytes: 44_100 * 4)
            #expect(try await client.uploadRaw("/api/audio/song/\(id)", bytes: wav, contentType: "audio/wav").status == .ok)
            // Without a key, the signed kind's file is refused.
            #expect(try await client.call(.get, "/api/audio/song/\(id)/file", auth: nil).status == .unauthorized)
            #expect(try await client.call(.post, "/api/audio/song/\(id)/file/link", auth: nil).status == .unauthorized)

            let made = try await client.execute(uri: "/api/audio/song/\(id)/file/link?expires_in=600", method: .post)
            let body = try made.json()
            let url = try #require(body["url"]?.stringValue)
            #expect(url.hasPrefix("/api/audio/song/\(id)/file?expires=") && url.contains("&signature="))
            let expiresAt = try #require(body["expires_at"]?.stringValue.flatMap(RFC3339.parseDateTime))
            #expect(abs(expiresAt.timeIntervalSinceNow - 600) < 5)

            let full = try await client.call(.get, url, auth: nil)
            #expect(full.status == .ok && Array(full.body.readableBytesView) == wav)
            let etag = try #require(full.headers[.eTag])
            let head = try await client.call(.head, url, auth: nil)
            #expect(head.status == .ok && head.headers[.contentLength] == String(wav.count) && head.body.readableBytes == 0)
            let ranged = try await client.call(.get, url, auth: nil, headers: [.range: "bytes=100-199"])
            #expect(ranged.status == .partialContent && Array(ranged.body.readableBytesView) == Array(wav[100...199]))
            #expect(ranged.headers[.contentRange] == "bytes 100-199/\(wav.count)")
            let suffix = try await client.call(.get, url, auth: nil, headers: [.range: "bytes=-10"])
            #expect(suffix.status == .partialContent && Array(suffix.body.readableBytesView) == Array(wav.suffix(10)))
            let ifRange = try await client.call(.get, url, auth: nil, headers: [.range: "bytes=0-9", .ifRange: etag])
            #expect(ifRange.status == .partialContent)
            #expect(try await client.call(.get, url, auth: nil, headers: [.ifNoneMatch: etag]).status == .notModified)
            #expect(try await client.call(.get, url, auth: nil, headers: [.range: "bytes=999999999-"]).status == .rangeNotSatisfiable)
        }
    }

    @Test func tamperedOtherRecordReplacedAndExpiredLinksAreRefused() async throws {
        try await TestServer.run { client, _ in
            let wav = LargeUploadTests.wav(dataBytes: 44_100 * 4)
            let a = try await client.create(#"{"filetype":"song","name":"a","duration":1}"#)
            let b = try await client.create(#"{"filetype":"song","name":"b","duration":1}"#)
            for id in [a, b] { _ = try await client.uploadRaw("/api/audio/song/\(id)", bytes: wav, contentType: "audio/wav") }
            let url = try await Self.link(client, "/api/audio/song/\(a)/file/link")
            #expect(try await client.call(.get, url, auth: nil).status == .ok)

            func refused(_ url: String, _ slug: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let response = try await client.call(.get, url, auth: nil)
                #expect(response.status == .forbidden && client.slug(response) == slug, "\(url): \(response.text)", sourceLocation: sourceLocation)
            }
            // Tampered signature and tampered expiry.
            let signature = String(url[url.range(of: "signature=")!.upperBound...])
            let flipped = String(signature.dropLast()) + (signature.last == "A" ? "B" : "A")
            try await refused(url.replacingOccurrences(of: signature, with: flipped), "link-invalid")
            let expires = Int64(url[url.range(of: "expires=")!.upperBound...].prefix { $0.isNumber })!
            try await refused(url.replacingOccurrences(of: "expires=\(expires)", with: "expires=\(expires + 3600)"), "link-invalid")
            // The same link on another record, and on one that does not exist (no oracle: same 403).
            try await refused(url.replacingOccurrences(of: "/song/\(a)/", with: "/song/\(b)/"), "link-invalid")
            try await refused(url.replacingOccurrences(of: "/song/\(a)/", with: "/song/987654/"), "link-invalid")
            // A cut or lengthened signature and a non-numeric expiry are tampering too: the same 403.
            try await refused(url + "x", "link-invalid")
            try await refused(url.replacingOccurrences(of: signature, with: String(signature.dropLast())), "link-invalid")
            try await refused(url.replacingOccurrences(of: "expires=\(expires)", with: "expires=soon"), "link-invalid")
            try await refused("/api/audio/song/\(a)/file?expires=soon&signature=x", "link-invalid")
            // Beside a key that grants the download, the same parts are a malformed query: 400.
            let keyed = try await client.call(.get, "/api/audio/song/\(a)/file?expires=soon&signature=x", auth: nil, headers: [:])
            #expect(keyed.status == .forbidden)
            #expect(try await client.get("/api/audio/song/\(a)/file?expires=soon&signature=x").status == .badRequest)

            // Replacing the file ends every link to the old one.
            var other = wav
            other[100] ^= 0xFF
            #expect(try await client.uploadRaw("/api/audio/song/\(a)", bytes: other, contentType: "audio/wav").status == .ok)
            try await refused(url, "link-invalid")
            let fresh = try await Self.link(client, "/api/audio/song/\(a)/file/link")
            #expect(try await client.call(.get, fresh, auth: nil).status == .ok)

            // An expired link says so.
            let short = try await Self.link(client, "/api/audio/song/\(a)/file/link?expires_in=1")
            try await Task.sleep(for: .milliseconds(2_100))
            try await refused(short, "link-expired")

            // Lifetimes outside 1 s – 7 days are refused; a record without a file has no link.
            for bad in ["0", "604801", "-5", "soon"] {
                let response = try await client.execute(uri: "/api/audio/song/\(a)/file/link?expires_in=\(bad)", method: .post)
                let codes = try response.errorCodes()
                #expect(response.status == .badRequest && codes == ["expires_in:range"], "\(bad)")
            }
            #expect(try await client.execute(uri: "/api/audio/song/\(a)/file/link?expires_in=604800", method: .post).status == .ok)
            let empty = try await client.create(#"{"filetype":"song","name":"e","duration":1}"#)
            #expect(try await client.execute(uri: "/api/audio/song/\(empty)/file/link", method: .post).status == .notFound)
        }
    }

    /// A link made by one server plays on another sharing SECRET_KEY, and not on one with another secret.
    @Test func linksNeedTheSameSecret() async throws {
        let secret = String(repeating: "k", count: 40)
        try await TestServer.run(secretKey: secret) { client, context in
            let id = try await client.create(#"{"filetype":"song","name":"s","duration":1}"#)
            _ = try await client.uploadRaw("/api/audio/song/\(id)", bytes: LargeUploadTests.wav(dataBytes: 44_100 * 4), contentType: "audio/wav")
            let url = try await Self.link(client, "/api/audio/song/\(id)/file/link")
            try await TestServer.run(storageDirectory: context.storageDirectory, databaseURL: context.databaseURL, secretKey: secret) { second, _ in
                let status = try await second.call(.get, url, auth: nil).status
                #expect(status == .ok)
            }
            try await TestServer.run(
                storageDirectory: context.storageDirectory, databaseURL: context.databaseURL,
                secretKey: String(repeating: "z", count: 40)
            ) { third, _ in
                let status = try await third.call(.get, url, auth: nil).status
                #expect(status == .forbidden)
            }
        }
    }
}

/// The audit trail: one row per change, in the change's own statement; none for a refusal.
@Suite struct AuditTests {
    @Test func everyChangeIsAuditedAndNoRefusal() async throws {
        try await TestServer.run(setup: .live, failedAuthBurst: 3) { client, context in
            let writer = try await client.postJSON("/api/keys", #"{"name":"writer","scopes":["write:song","upload:song","delete:song"]}"#)
            let writerSecret = try #require(try writer.json()["secret"]?.stringValue)
            let writerID = try #require(try writer.json()["id"]?.int64)
            let auth = "Bearer \(writerSecret)"

            let created = try await client.call(
                .post, "/api/audio/create", auth: auth, headers: [.contentType: "application/json", .xRequestID: "req-create-1"],
                body: ByteBuffer(string: #"{"filetype":"song","name":"a","duration":1}"#))
            #expect(created.status == .created && created.headers[.xRequestID] == "req-create-1")
            let id = try #require(try created.json()["id"]?.int64)
            #expect(
                try await client.call(
                    .patch, "/api/audio/song/\(id)", auth: auth, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"name":"b"}"#)
                ).status == .ok)
            #expect(
                try await client.call(
                    .put, "/api/audio/song/\(id)", auth: auth, headers: [.contentType: "audio/wav"],
                    body: ByteBuffer(bytes: LargeUploadTests.wav(dataBytes: 44_100 * 4))
                ).status == .ok)
            #expect(try await client.call(.delete, "/api/audio/song/\(id)", auth: auth).status == .noContent)
            let before = try await context.auditRows().count

            // Refusals write nothing: no key, wrong scope, invalid body, unknown record, stale If-Match.
            let refusals: [TestResponse] = [
                try await client.call(
                    .post, "/api/audio/create", auth: nil, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"filetype":"song","name":"x","duration":1}"#)),
                try await client.call(
                    .post, "/api/audio/create", auth: auth, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"filetype":"podcast","name":"x","duration":1,"host":"h"}"#)),
                try await client.call(
                    .post, "/api/audio/create", auth: auth, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"filetype":"song","name":"","duration":0}"#)),
                try await client.call(
                    .patch, "/api/audio/song/999999", auth: auth, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"name":"b"}"#)),
                try await client.call(.delete, "/api/audio/song/999999", auth: auth),
            ]
            #expect(refusals.map(\.status.code) == [401, 403, 400, 404, 404])
            #expect(try await context.auditRows().count == before)

            // Key revoked and a lockout (3 failures with the burst lowered for the test).
            #expect(try await client.execute(uri: "/api/keys/\(writerID)", method: .delete).status == .noContent)
            for _ in 0..<3 { _ = try await client.call(.get, "/api/audio/song", auth: "Bearer \(APIKeySecret.generate())") }

            let rows = try await context.auditRows()
            #expect(rows.map(\.action) == ["key_create", "create", "update", "upload", "delete", "key_revoke", "lockout"])
            let byAction = Dictionary(uniqueKeysWithValues: rows.map { ($0.action, $0) })
            for action in ["create", "update", "upload", "delete"] {
                let row = try #require(byAction[action])
                #expect(row.kind == "song" && row.recordID == id && row.keyID == writerID && row.keyName == "writer", "\(action)")
                #expect(row.client == "127.0.0.1" && row.requestID?.isEmpty == false, "\(action)")
            }
            #expect(byAction["create"]?.requestID == "req-create-1")
            #expect(byAction["key_create"]?.recordID == writerID && byAction["key_create"]?.keyName?.hasPrefix("test-admin") == true)
            #expect(byAction["key_revoke"]?.recordID == writerID)
            #expect(byAction["lockout"]?.keyID == nil && byAction["lockout"]?.client == "127.0.0.1")
        }
    }

    @Test func theAuditRouteFiltersAndPages() async throws {
        try await TestServer.run { client, _ in
            var ids: [Int64] = []
            for n in 0..<5 { ids.append(try await client.create(#"{"filetype":"song","name":"s\#(n)","duration":1}"#)) }
            _ = try await client.create(#"{"filetype":"podcast","name":"p","duration":1,"host":"h"}"#)
            #expect(try await client.execute(uri: "/api/audio/song/\(ids[0])", method: .delete).status == .noContent)

            let all = try await client.get("/api/audit")
            let items = try #require(try all.json()["items"]?.arrayValue?.compactMap(\.objectValue))
            #expect(items.count == 7 && items.first?["action"] == "delete")  // newest first
            #expect(Set(items[0].keys) == ["id", "at", "key_id", "key_name", "action", "kind", "record_id", "request_id", "client"])

            let songs = try await client.get("/api/audit?kind=song&action=create")
            #expect(try songs.json()["items"]?.arrayValue?.count == 5)
            let one = try await client.get("/api/audit?kind=song&record_id=\(ids[0])")
            #expect(try one.json()["items"]?.arrayValue?.compactMap { $0.objectValue?["action"]?.stringValue } == ["delete", "create"])

            // Keyset pages of 2, newest first, nothing repeated or skipped.
            var seen: [Int64] = []
            var url = "/api/audit?limit=2"
            for _ in 0..<10 {
                let page = try await client.get(url).json()
                seen += page["items"]?.arrayValue?.compactMap { $0.objectValue?["id"]?.int64 } ?? []
                guard let next = page["next_cursor"]?.stringValue else { break }
                url = "/api/audit?limit=2&cursor=\(next)"
            }
            #expect(seen == items.compactMap { $0["id"]?.int64 })

            for bad in ["limit=0", "limit=501", "action=explode", "record_id=x", "cursor=%21%21", "colour=red"] {
                let response = try await client.get("/api/audit?\(bad)")
                #expect(response.status == .badRequest && response.isProblem, "\(bad)")
            }
            // Nothing changes the trail through the API.
            #expect(try await client.execute(uri: "/api/audit", method: .delete).status == .methodNotAllowed)
        }
    }
}

/// Repeated failed authentication from one address is slowed; other addresses are not.
@Suite struct LockoutTests {
    @Test func aGuessingAddressIsLockedOutAndOthersAreNot() async throws {
        try await TestServer.run(setup: .live, trustedProxies: TrustedProxies(["127.0.0.1"])) { client, context in
            let reader = try await context.makeKey(["read:*"])
            func from(_ address: String, _ auth: String) async throws -> TestResponse {
                try await client.call(.get, "/api/audio/song", auth: auth, headers: [.xForwardedFor: address])
            }
            for n in 0..<20 {
                let response = try await from("198.51.100.7", "Bearer \(APIKeySecret.generate())")
                #expect(response.status == .unauthorized, "failure \(n)")
            }
            let locked = try await from("198.51.100.7", "Bearer \(APIKeySecret.generate())")
            #expect(locked.status == .tooManyRequests && client.slug(locked) == "too-many-failures")
            let retry = try #require(locked.headers[.retryAfter].flatMap(Int.init))
            #expect((1...60).contains(retry))
            // Even a valid key from that address waits; the same key from elsewhere works.
            #expect(try await from("198.51.100.7", "Bearer \(reader)").status == .tooManyRequests)
            #expect(try await from("203.0.113.9", "Bearer \(reader)").status == .ok)
            #expect(try await from("203.0.113.9", "Bearer \(APIKeySecret.generate())").status == .unauthorized)
            // Public reads without credentials are not authentication attempts.
            #expect(try await client.call(.get, "/api/audio/song", auth: nil, headers: [.xForwardedFor: "198.51.100.7"]).status == .ok)
            let lockouts = try await context.auditRows().filter { $0.action == "lockout" }
            #expect(lockouts.map(\.client) == ["198.51.100.7"])
        }
    }

    /// Without TRUSTED_PROXIES, X-Forwarded-For is the client's own claim and is ignored.
    @Test func aClientCannotPickItsOwnAddress() async throws {
        try await TestServer.run(setup: .live) { client, context in
            let reader = try await context.makeKey(["read:*"])
            for n in 0..<20 {
                let response = try await client.call(
                    .get, "/api/audio/song", auth: "Bearer \(APIKeySecret.generate())", headers: [.xForwardedFor: "198.51.100.\(n)"])
                #expect(response.status == .unauthorized)
            }
            let again = try await client.call(.get, "/api/audio/song", auth: "Bearer \(reader)", headers: [.xForwardedFor: "203.0.113.50"])
            #expect(again.status == .tooManyRequests)
        }
    }

    @Test func theClientAddressComesFromTrustedProxiesOnly() {
        let proxies = TrustedProxies(["127.0.0.1", "10.1.1.1"])
        let peer = try? SocketAddress(ipAddress: "127.0.0.1", port: 1)
        let stranger = try? SocketAddress(ipAddress: "192.0.2.1", port: 1)
        #expect(proxies.client(peer: peer, forwardedFor: "198.51.100.1, 10.1.1.1") == "198.51.100.1")
        #expect(proxies.client(peer: peer, forwardedFor: "6.6.6.6, 198.51.100.1") == "198.51.100.1")
        #expect(proxies.client(peer: stranger, forwardedFor: "198.51.100.1") == "192.0.2.1")
        #expect(proxies.client(peer: peer, forwardedFor: nil) == "127.0.0.1")
        #expect(TrustedProxies.none.client(peer: peer, forwardedFor: "198.51.100.1") == "127.0.0.1")
        #expect(TrustedProxies(setting: "127.0.0.1, ::1") != nil && TrustedProxies(setting: "proxy.local") == nil)
    }
}

/// A key revoked through one server stops working on another sharing the database at once.
@Suite struct RevocationAcrossServersTests {
    @Test func aRevocationReachesTheOtherServer() async throws {
        try await TestServer.run(setup: .live, keyChanges: true) { first, context in
            let made = try await first.postJSON("/api/keys", #"{"name":"roaming","scopes":["read:*","write:song"]}"#)
            let secret = try #require(try made.json()["secret"]?.stringValue)
            let id = try #require(try made.json()["id"]?.int64)
            try await TestServer.run(setup: .live, databaseURL: context.databaseURL, keyChanges: true) { second, _ in
                // Made on the first, works on the second at once.
                let auth = "Bearer \(secret)"
                #expect(
                    try await second.call(
                        .post, "/api/audio/create", auth: auth, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"filetype":"song","name":"x","duration":1}"#)
                    ).status == .created)
                #expect(try await first.execute(uri: "/api/keys/\(id)", method: .delete).status == .noContent)
                // The other server heard it (NOTIFY at commit, before the DELETE's answer left the first).
                var status = try await second.call(.get, "/api/audio/song", auth: auth).status
                var waited = 0
                while status != .unauthorized && waited < 20 {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += 1
                    status = try await second.call(.get, "/api/audio/song", auth: auth).status
                }
                #expect(status == .unauthorized)
                #expect(waited <= 2, "the second server took \(waited * 50) ms to hear of the revocation")
            }
        }
    }
}

/// No secret ever reaches a log line, at any level.
@Suite struct SecretLoggingTests {
    @Test func noSecretIsLogged() async throws {
        let capture = LogCapture()
        var secrets: [String] = []
        let collected = try await TestServer.run(extraKinds: AccessMatrixTests.kinds, logger: capture.logger(level: .trace)) { client, context in
            var seen = [context.adminSecret]
            let made = try await client.postJSON("/api/keys", #"{"name":"logged","scopes":["read:*","write:*"]}"#)
            let secret = try #require(try made.json()["secret"]?.stringValue)
            seen.append(secret)
            let unknown = APIKeySecret.generate()
            seen.append(unknown)
            _ = try await client.call(.get, "/api/audio/privclip", auth: "Bearer \(secret)")
            _ = try await client.call(.get, "/api/audio/privclip", auth: "Bearer \(unknown)")
            _ = try await client.call(.get, "/api/audio/privclip", auth: "Bearer \(secret)x")
            _ = try await client.call(
                .post, "/api/audio/create", auth: "Bearer \(secret)", headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"filetype":"privclip","title":"t"}"#))
            let id = try #require(try made.json()["id"]?.int64)
            _ = try await client.execute(uri: "/api/keys/\(id)", method: .delete)
            _ = try await client.call(.get, "/api/audio/privclip", auth: "Bearer \(secret)")
            return seen
        }
        secrets = collected
        let lines = capture.messages(atLeast: .trace)
        #expect(!lines.isEmpty, "nothing was logged, so the check below would prove nothing")
        for secret in secrets {
            let body = String(secret.dropFirst(APIKeySecret.prefix.count))
            #expect(!lines.contains { $0.contains(body) }, "a secret appeared in the log")
        }
    }
}

/// Every response carries an X-Request-Id; a well-formed incoming one is kept.
@Suite struct RequestIDTests {
    @Test func everyResponseHasOne() async throws {
        try await TestServer.run { client, _ in
            let plain = try await client.get("/healthz")
            let generated = try #require(plain.headers[.xRequestID])
            let second = try await client.get("/healthz").headers[.xRequestID]
            #expect(!generated.isEmpty && generated != second)
            #expect(try await client.get("/healthz", headers: [.xRequestID: "trace-42.a:b_c"]).headers[.xRequestID] == "trace-42.a:b_c")
            let hostile = try await client.get("/healthz", headers: [.xRequestID: "bad id\u{7f}" + String(repeating: "x", count: 200)])
            #expect(hostile.headers[.xRequestID]?.contains(" ") == false && hostile.headers[.xRequestID]!.count <= 128)
            let problems = [
                try await client.get("/nowhere"), try await client.call(.get, "/api/audio/nosuch", auth: nil),
                try await client.call(.delete, "/api/audio/song/1", auth: nil),
            ]
            for response in problems {
                #expect(response.isProblem && response.headers[.xRequestID]?.isEmpty == false)
            }
        }
    }
}

/// One access log line per request at info, carrying the request id; no query string in it.
@Suite struct AccessLogTests {
    @Test func eachRequestLogsOneLine() async throws {
        let capture = LogCapture()
        try await TestServer.run(logger: capture.logger(level: .info)) { client, _ in
            _ = try await client.get("/api/audio/song?name=secret-filter", headers: [.xRequestID: "access-log-1"])
            let missing = try await client.call(.get, "/api/audio/nosuch", auth: nil, headers: [.xRequestID: "access-log-2"])
            // A problem's line counts its body too (it said `-` for every 4xx and 5xx).
            let line = try #require(capture.messages(atLeast: .info).first { $0.hasPrefix("request ") && $0.contains("access-log-2") })
            #expect(line.contains(#""status": 404"#) && line.contains(#""bytes": \#(missing.body.readableBytes)"#), "\(line)")
            #expect(missing.body.readableBytes > 0)
        }
        let lines = capture.messages(atLeast: .info).filter { $0.hasPrefix("request ") }
        let first = try #require(lines.first { $0.contains("access-log-1") })
        for part in [#""method": GET"#, #""status": 200"#, #""duration_us":"#, #""bytes": "#] { #expect(first.contains(part), "\(first)") }
        // The path without its query (metadata order varies: the path ends at `,` or `]`).
        #expect(first.contains(#""path": /api/audio/song,"#) || first.contains(#""path": /api/audio/song]"#), "\(first)")
        #expect(!first.contains("secret-filter"))
        #expect(lines.contains { $0.contains("access-log-2") && $0.contains(#""status": 404"#) })
    }
}

/// The database's lines of a request carry its id too: PostgresNIO's query lines (written on an
/// event loop, from the logger the query is handed) and any line written in the request's task.
@Suite struct RequestIDInDatabaseLogTests {
    @Test func queryLinesCarryTheRequestID() async throws {
        let capture = LogCapture()
        try await TestServer.run(logger: capture.logger(level: .trace)) { client, _ in
            let id = try await client.create(#"{"filetype":"song","name":"t","duration":3}"#)
            _ = try await client.get("/api/audio/song/\(id)", headers: [.xRequestID: "db-log-7"])
            _ = try await client.get("/api/audio/song?limit=2", headers: [.xRequestID: "db-log-8"])
        }
        let lines = capture.messages(atLeast: .trace)
        for id in ["db-log-7", "db-log-8"] {
            let database = lines.filter { $0.contains(id) && $0.hasPrefix("Row stream received rows") }
            #expect(!database.isEmpty, "no PostgresNIO line carries \(id)")
        }
        // And an id is not left on later lines that belong to no request.
        let untagged = lines.filter { $0.hasPrefix("Row stream received rows") && !$0.contains("db-log-") }
        #expect(!untagged.isEmpty, "the create's and the migrations' lines carry no borrowed id")
    }
}

/// CORS_ORIGINS: preflights answered, responses marked, other origins left alone.
@Suite struct CORSTests {
    @Test func allowedOriginsGetCORSHeaders() async throws {
        try await TestServer.run(corsOrigins: CORSOrigins(setting: "https://app.example.com")) { client, _ in
            let preflight = try await client.execute(
                uri: "/api/audio/song/1", method: .options,
                headers: [
                    .origin: "https://app.example.com", .accessControlRequestMethod: "PATCH",
                    .accessControlRequestHeaders: "authorization, content-type",
                ])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("PATCH") == true)
            #expect(preflight.headers[.accessControlAllowHeaders]?.lowercased().contains("authorization") == true)

            let get = try await client.get("/api/audio/song", headers: [.origin: "https://app.example.com"])
            #expect(get.headers[.accessControlAllowOrigin] == "https://app.example.com")
            let exposed = try #require(get.headers[.accessControlExposeHeaders])
            for name in ["ETag", "Location", "Content-Range", "Accept-Ranges", "Content-Length"] { #expect(exposed.contains(name)) }
            // A browser tus client on another origin reads its offset and limits from these.
            for name in ["Upload-Offset", "Upload-Length", "Upload-Expires", "Tus-Resumable", "Tus-Version", "Upload-Limit", "Upload-Complete"] {
                #expect(exposed.contains(name), "\(name) not exposed")
            }
            let problem = try await client.call(.get, "/api/audio/nosuch", auth: nil, headers: [.origin: "https://app.example.com"])
            #expect(problem.headers[.accessControlAllowOrigin] == "https://app.example.com")

            let stranger = try await client.get("/api/audio/song", headers: [.origin: "https://evil.example"])
            #expect(stranger.headers[.accessControlAllowOrigin] == nil)
        }
        // Default: no origin is allowed.
        try await TestServer.run { client, _ in
            let plain = try await client.get("/api/audio/song", headers: [.origin: "https://app.example.com"])
            #expect(plain.headers[.accessControlAllowOrigin] == nil)
        }
        #expect(CORSOrigins(setting: "https://a.example, http://localhost:5173") != nil)
        #expect(CORSOrigins(setting: "a.example") == nil && CORSOrigins(setting: "https://a.example/path") == nil)
    }

    @Test func theRouteTableReservesTheKindNamesTheLinterRefuses() {
        #expect(APIOperation.reservedKindNames == KindLoader.reservedKindNames)
        // Every operation of the table is served and documented.
        let document = OpenAPIDocument.make(try! KindLoader.load(directory: TestServer.repoKinds))
        let paths = document.objectValue?["paths"]?.objectValue ?? JSONObject()
        let operationIDs = Set(paths.keys.flatMap { path in paths[path]?.objectValue?.keys.map { "\($0) \(path)" } ?? [] })
        #expect(operationIDs.contains("post /api/keys") && operationIDs.contains("delete /api/keys/{id}") && operationIDs.contains("get /api/audit"))
        #expect(operationIDs.contains("post /api/audio/song/{id}/file/link"))
    }
}

/// Problem types are defined once (`ProblemType`); the documentation lists each.
@Suite struct ProblemTypeTests {
    /// Validation codes are defined once (`ValidationCode`); docs/api.md and OpenAPI list each.
    @Test func everyValidationCodeIsDocumentedAndEnumerated() throws {
        let docs = try String(contentsOfFile: TestServer.repoKinds + "/../docs/api.md", encoding: .utf8)
        for code in ValidationCode.allCases { #expect(docs.contains("| `\(code)` | "), "docs/api.md lacks \(code)") }
        let document = OpenAPIDocument.make(try KindLoader.load(directory: TestServer.repoKinds))
        let listed = document.objectValue?["components"]?.objectValue?["schemas"]?.objectValue?["ValidationIssue"]?.objectValue?["properties"]?
            .objectValue?["code"]?.objectValue?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(listed == ValidationCode.allCases.map(\.rawValue))
    }

    @Test func everyProblemTypeIsDocumentedAndEnumerated() throws {
        let docs = try String(contentsOfFile: TestServer.repoKinds + "/../docs/api.md", encoding: .utf8)
        for type in ProblemType.allCases {
            #expect(docs.contains("| `\(type.rawValue)` | \(type.status.code) | \(type.title) |"), "docs/api.md lacks \(type.rawValue)")
        }
        let document = OpenAPIDocument.make(try KindLoader.load(directory: TestServer.repoKinds))
        let listed = document.objectValue?["components"]?.objectValue?["schemas"]?.objectValue?["Problem"]?.objectValue?["properties"]?
            .objectValue?["type"]?.objectValue?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(listed == ProblemType.allCases.map { "/problems/\($0.rawValue)" })
    }
}

/// `audio-server keys` and `audio-server audit`, the binary itself against a real database.
@Suite struct KeysCommandTests {
    @Test func createListRevokeAndAudit() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("audio-server").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no audio-server at \(binary)")
        let url = try await TestDatabase.create(label: "keyscli")
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = url.description
        environment["KINDS_DIR"] = TestServer.repoKinds
        environment["LOG_LEVEL"] = "error"

        let made = try run(
            binary, ["keys", "create", "--name", "ci", "--scope", "write:song", "--scope", "read:audiobook", "--expires", "30d"],
            environment: environment)
        let secret = try #require(made.split(separator: "\n").last.map(String.init))
        #expect(secret.hasPrefix("afs_") && secret.count == 47, "the secret is alone on the last line: \(made)")
        #expect(made.contains("read:audio_book") && made.contains("expires"))

        let listed = try run(binary, ["keys", "list"], environment: environment)
        #expect(listed.contains("\tci\t") && listed.contains("write:song,read:audio_book") && !listed.contains(secret))
        #expect(listed.split(separator: "\n").count == 2)  // the header and the key

        #expect(try run(binary, ["keys", "revoke", "ci"], environment: environment).contains("revoked key"))
        #expect(try run(binary, ["keys", "list"], environment: environment).contains("\tyes"))
        // Errors are sentences that say what to do, not Swift's names for them.
        let again = #expect(throws: ScriptError.self) { try run(binary, ["keys", "revoke", "ci"], environment: environment) }
        #expect(again?.description.contains("no working key has id or name 'ci'") == true, "\(String(describing: again))")
        #expect(again?.description.contains("notFound") == false)
        _ = try run(binary, ["keys", "create", "--name", "taken", "--scope", "admin"], environment: environment)
        let taken = #expect(throws: ScriptError.self) {
            try run(binary, ["keys", "create", "--name", "taken", "--scope", "admin"], environment: environment)
        }
        #expect(taken?.description.contains("a working key is already named 'taken'") == true, "\(String(describing: taken))")
        // Without USER or LOGNAME (cron, systemd) the audit still names the account.
        var bare = environment
        bare["USER"] = nil
        bare["LOGNAME"] = nil
        _ = try run(binary, ["keys", "revoke", "taken"], environment: bare)
        // A scope naming no kind, and a bad lifetime, are refused before the database is touched.
        #expect(throws: (any Error).self) {
            try run(binary, ["keys", "create", "--name", "x", "--scope", "read:nosuchkind"], environment: environment)
        }
        #expect(throws: (any Error).self) {
            try run(binary, ["keys", "create", "--name", "x", "--scope", "admin", "--expires", "soon"], environment: environment)
        }

        let audit = try run(binary, ["audit"], environment: environment)
        #expect(audit.contains("key_create") && audit.contains("key_revoke") && audit.contains("audio-server CLI"))
        #expect(!audit.contains("unknown@"), "the account comes from the uid when USER is unset: \(audit)")
        #expect(!audit.contains(secret))
    }
}
