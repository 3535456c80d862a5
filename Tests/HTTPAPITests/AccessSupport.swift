import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Storage
import TestSupport

/// Keys and requests for the access tests.
extension ServerContext {
    /// Makes a key straight in the database (as `audio-server keys create` does) and returns its secret.
    func makeKey(_ scopes: [String], expiresAt: Date? = nil, name: String = "k-\(UInt32.random(in: 0...UInt32.max))") async throws -> String {
        try await sql { client in
            try await APIKeyStore(client: client, logger: TestDatabase.logger)
                .create(name: name, scopes: scopes.map { Scope($0)! }, expiresAt: expiresAt, actor: nil).secret
        }
    }

    /// A key that was made and then revoked.
    func revokedKey(_ scopes: [String]) async throws -> String {
        let name = "revoked-\(UInt32.random(in: 0...UInt32.max))"
        let secret = try await makeKey(scopes, name: name)
        _ = try await sql { client in try await APIKeyStore(client: client, logger: TestDatabase.logger).revoke(name, actor: nil) }
        return secret
    }

    /// Rows of the audit table, oldest first, as (action, kind, record_id, key_name, request_id, client).
    func auditRows() async throws -> [AuditEntry] {
        try await sql { client in try await AuditLog(client: client, logger: TestDatabase.logger).list(AuditFilter(limit: 10_000)).reversed() }
    }
}

extension TestClientProtocol {
    /// A request with exactly this Authorization (nil: none at all, not even the test admin key).
    func call(
        _ method: HTTPRequest.Method, _ uri: String, auth: String?, headers: HTTPFields = [:], body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        var headers = headers
        if let auth { headers[.authorization] = auth } else { headers[KeyedTestClient.anonymous] = "1" }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// The problem's `type` slug (`/problems/<slug>`), or nil.
    func slug(_ response: TestResponse) -> String? {
        guard response.isProblem, let type = try? response.json()["type"]?.stringValue else { return nil }
        return String(type.dropFirst("/problems/".count))
    }
}
