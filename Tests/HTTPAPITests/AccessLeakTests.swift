import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Storage
import Testing

@testable import HTTPAPI

/// What a caller who may not read a kind can still learn through other routes (issue 15's audit,
/// session 21): a write's answer, a file route's 404s, and the order of the tus checks.
@Suite struct AccessLeakTests {
    /// `jingle` is private (no `access:` block); `secretish` has keyed reads and public downloads.
    static let kinds = [
        "jingle.yaml": "name: jingle\nfields:\n  title:\n    type: string\n",
        "secretish.yaml": "name: secretish\naccess:\n  read: key\n  download: public\nfields:\n  title:\n    type: string\n",
    ]
    static let json: HTTPFields = [.contentType: "application/json"]

    /// tus routes check the key before the protocol version; the draft's PUT says
    /// `Upload-Complete: ?0` on its 401 and 403 too.
    @Test func resumableRoutesCheckTheKeyFirst() async throws {
        try await TestServer.run(extraKinds: Self.kinds) { client, context in
            let id = try await client.create(#"{"filetype":"jingle","title":"t"}"#)
            let wrongScope = "Bearer " + (try await context.makeKey(["read:jingle"]))
            let uploader = "Bearer " + (try await context.makeKey(["upload:jingle"]))
            let keys: [(String?, HTTPResponse.Status)] = [
                (nil, .unauthorized), ("Bearer not-a-key", .unauthorized), ("Bearer \(APIKeySecret.generate())", .unauthorized),
                (wrongScope, .forbidden),
            ]
            let session = "/api/audio/jingle/\(id)/uploads/\(UploadSessionStore.newToken())"
            for (auth, status) in keys {
                // No Tus-Resumable at all: still the key's answer, not 412.
                let create = try await client.call(.post, "/api/audio/jingle/\(id)/uploads", auth: auth, headers: [.uploadLength: "10"])
                #expect(create.status == status && create.headers[.tusResumable] == "1.0.0", "\(auth ?? "none"): \(create.text)")
                for method in [HTTPRequest.Method.head, .patch, .delete] {
                    let answer = try await client.call(method, session, auth: auth, headers: [.tusResumable: "0.2.2"])
                    #expect(answer.status == status, "\(method) \(auth ?? "none")")
                }
                let draft = try await client.call(
                    .put, "/api/audio/jingle/\(id)", auth: auth,
                    headers: ResumableDraftTests.fields([.uploadComplete: "?0", .contentType: "audio/wav"]), body: ByteBuffer(bytes: [1, 2, 3]))
                #expect(draft.status == status && draft.headers[.uploadComplete] == "?0", "draft \(auth ?? "none")")
            }
            // With the right key, the version is checked.
            let version = try await client.call(.post, "/api/audio/jingle/\(id)/uploads", auth: uploader, headers: [.uploadLength: "10"])
            #expect(version.status == .preconditionFailed && client.slug(version) == "tus-version-unsupported")
        }
    }
}
