public import Foundation
import Hummingbird
public import KindModel
import Storage

/// `POST/GET /api/keys`, `DELETE /api/keys/<id>` (admin): the same as `audio-server keys`.
extension AudioAPI {
    func listKeys() async throws -> Response {
        let keys = try await access.keys.store.list()
        return JSONResponse.make(.ok, JSONWriter.string(.object(JSONObject([("items", .array(keys.map(Self.json)))]))))
    }

    func createKey(_ request: Request, _ context: AudioRequestContext, by admin: ActiveKey?) async throws -> Response {
        let object = try await JSONBody.readObject(request, limit: 64 * 1024, shape: .key)
        let (name, scopes, expiresAt) = try KeyRequest.parse(object, catalog: registry.runtime.catalog)
        do {
            let (key, secret) = try await access.keys.store.create(
                name: name, scopes: scopes, expiresAt: expiresAt,
                actor: access.actor(admin, request, context))
            var body = Self.json(key).objectValue ?? JSONObject()
            body["secret"] = .string(secret)
            var response = JSONResponse.make(.created, JSONWriter.string(.object(body)))
            response.headers[.location] = "/api/keys/\(key.id)"
            response.headers[.cacheControl] = "no-store"
            return response
        } catch APIKeyError.nameTaken(let name) {
            throw Problem(
                .keyNameTaken, detail: "A working key is already called '\(name)'; pick another name, or revoke that key first.",
                errors: [ValidationIssue(field: "name", code: .unique, message: "'name' must be unique among working keys")])
        }
    }

    func revokeKey(_ idText: String, _ request: Request, _ context: AudioRequestContext, by admin: ActiveKey?) async throws -> Response {
        guard let id = Int64(Self.pathSegment(idText)), id > 0 else {
            throw Problem(
                .invalidID, detail: "The key id in the URL must be a positive integer, as GET /api/keys lists it (got '\(idText)').",
                errors: [ValidationIssue(field: "id", code: .type, message: "'id' must be a positive integer")])
        }
        do {
            _ = try await access.keys.store.revoke(String(id), actor: access.actor(admin, request, context))
        } catch APIKeyError.notFound {
            throw Problem(.keyNotFound, detail: "No working key has id \(id): it does not exist or is already revoked. GET /api/keys lists them.")
        }
        access.keys.forget(id: id)
        return Response(status: .noContent)
    }

    /// `GET /api/key`: who the caller is — the key it sent (id, name, scopes; never the secret), or
    /// `"key": null` without one. A bad key is a 401 like on any route (`AccessGate.identify`).
    func currentKey(_ request: Request, _ context: AudioRequestContext) async throws -> Response {
        let key = try await access.identify(request, context)
        let value: JSONValue =
            key.map { key in
                .object(
                    JSONObject([
                        ("id", .integer(key.id)), ("name", .string(key.name)),
                        ("scopes", .array(key.scopes.scopes.map { .string($0.description) })),
                    ]))
            } ?? .null
        var response = JSONResponse.make(.ok, JSONWriter.string(.object(JSONObject([("key", value)]))))
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static func json(_ key: APIKeyInfo) -> JSONValue {
        .object(
            JSONObject([
                ("id", .integer(key.id)),
                ("name", .string(key.name)),
                ("scopes", .array(key.scopes.map(JSONValue.string))),
                ("created_at", .string(key.createdAt)),
                ("expires_at", key.expiresAt.map(JSONValue.string) ?? .null),
                ("last_used_at", key.lastUsedAt.map(JSONValue.string) ?? .null),
                ("revoked", .bool(key.revoked)),
            ]))
    }
}

/// The body of `POST /api/keys`, checked field by field (every problem listed at once).
public enum KeyRequest {
    /// Name, scopes (kinds by canonical name), expiry; or a 400 naming each bad field.
    public static func parse(_ object: JSONObject, catalog: KindCatalog, now: Date = Date()) throws -> (String, [Scope], Date?) {
        var issues: [ValidationIssue] = []
        var name = ""
        switch object["name"] {
        case .string(let text) where KeyName.accepts(text):
            name = text
        case nil, .null?:
            issues.append(
                ValidationIssue(field: "name", code: .required, message: "'name' is required: a label for the key, such as 'ci' or 'player'"))
        default:
            issues.append(
                ValidationIssue(field: "name", code: .type, message: KeyName.problem))
        }
        var scopes: [Scope] = []
        switch object["scopes"] {
        case .array(let items) where !items.isEmpty:
            for (i, item) in items.enumerated() {
                switch parseScope(item.stringValue, catalog: catalog) {
                case .success(let scope): if !scopes.contains(scope) { scopes.append(scope) }
                case .failure(let error): issues.append(ValidationIssue(field: "scopes[\(i)]", code: .enum, message: error.description))
                }
            }
        case nil, .null?:
            issues.append(
                ValidationIssue(
                    field: "scopes", code: .required, message: "'scopes' is required: a list such as [\"read:song\", \"write:song\"] (\(Scope.forms))"
                ))
        default:
            issues.append(ValidationIssue(field: "scopes", code: .type, message: "'scopes' must be a non-empty list of scopes (\(Scope.forms))"))
        }
        var expiresAt: Date?
        switch object["expires_at"] {
        case nil, .null?: break
        case .string(let text):
            if let date = RFC3339.parseDateTime(text) {
                if date <= now {
                    issues.append(ValidationIssue(field: "expires_at", code: .notInPast, message: "'expires_at' must be in the future"))
                }
                expiresAt = date
            } else {
                issues.append(
                    ValidationIssue(
                        field: "expires_at", code: .format, message: "'expires_at' must be an RFC 3339 date-time such as 2027-01-31T00:00:00Z"))
            }
        default:
            issues.append(ValidationIssue(field: "expires_at", code: .type, message: "'expires_at' must be an RFC 3339 date-time string or absent"))
        }
        for key in object.keys where !["name", "scopes", "expires_at"].contains(key) {
            issues.append(
                ValidationIssue(field: key, code: .unknown, message: "'\(key)' is not a key field; send name, scopes and optionally expires_at"))
        }
        guard issues.isEmpty else {
            throw Problem(
                .validation, detail: "\(issues.count) field\(issues.count == 1 ? " is" : "s are") invalid: " + Problem.summary(issues.map(\.message)),
                errors: issues)
        }
        return (name, scopes, expiresAt)
    }

    /// A scope from its text, its kind resolved to the canonical name; a message when it is no scope or names no kind.
    public static func parseScope(_ text: String?, catalog: KindCatalog) -> Result<Scope, ScopeError> {
        guard let text, let scope = Scope(text) else {
            return .failure(ScopeError("'\(text ?? "")' is not a scope; use \(Scope.forms)"))
        }
        guard case .action(let action, let kindName?) = scope else { return .success(scope) }
        guard let kind = catalog.kind(named: kindName) else {
            return .failure(
                ScopeError("scope '\(text)' names kind '\(kindName)', which does not exist; known kinds: \(catalog.names.joined(separator: ", "))"))
        }
        return .success(.action(action, kind: kind.name))
    }

    public struct ScopeError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
