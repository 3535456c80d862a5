import Foundation
import Hummingbird
import KindModel
import Logging
import NIOCore
public import Storage

/// The one place requests are checked against `APIOperation.access` and the kind's `access:`
/// block: which key a request presents, whether it may do what it asks, failed attempts and
/// lockouts. Handlers call it before they read a record, so a refusal reveals nothing about data.
public final class AccessGate: Sendable {
    public let keys: KeyDirectory
    let limiter: FailedAuthLimiter
    let links: SignedLinkSigner
    let proxies: TrustedProxies
    let audit: AuditLog

    init(keys: KeyDirectory, links: SignedLinkSigner, proxies: TrustedProxies, audit: AuditLog, limiter: FailedAuthLimiter = FailedAuthLimiter()) {
        self.keys = keys
        self.links = links
        self.proxies = proxies
        self.audit = audit
        self.limiter = limiter
    }

    /// What `require` allows.
    enum Grant: Sendable {
        case allowed
        /// Allowed if the signed link verifies against the record's file (`verifyLink`).
        case ifLinkVerifies(SignedLinkQuery)
    }

    /// Why a presented credential was refused.
    enum Failure: String {
        case malformed, unknown, expired, link
    }

    /// The client's address as the limiter and the audit trail see it.
    func client(_ request: Request, _ context: AudioRequestContext) -> String {
        client(peer: context.remoteAddress, forwardedFor: request.headers[values: .xForwardedFor])
    }

    /// The same, from the connection's peer and the request's `X-Forwarded-For` lines (`FastPath`).
    func client(peer: SocketAddress?, forwardedFor lines: @autoclosure () -> [String]) -> String {
        let forwarded = proxies.addresses.isEmpty ? nil : lines().joined(separator: ",")
        return proxies.client(peer: peer, forwardedFor: forwarded)
    }

    /// Whether the request's `Authorization` certainly will not do for `decision`: missing, not a
    /// well-formed bearer key, or a key this server holds in memory without the scope. Decided on
    /// the event loop without the database (a key not in memory is given the benefit of the doubt),
    /// so that no `100 Continue` or `104` invites a body the handler will refuse with 401 or 403.
    func certainlyRefuses(_ decision: AccessDecision, authorization: String?) -> Bool {
        let scope: Scope
        switch decision {
        case .allowed: return false
        case .needsScope(let needed), .needsScopeOrSignature(let needed): scope = needed
        }
        guard let authorization else { return true }
        guard let secret = Self.bearerToken(authorization), APIKeySecret.isWellFormed(secret) else { return true }
        guard let key = keys.inMemory(secret) else { return false }
        return !Self.allows(key, scope)
    }

    /// Who made a change, for its audit row.
    func actor(_ key: ActiveKey?, _ request: Request, _ context: AudioRequestContext) -> AuditActor {
        AuditActor(keyID: key?.id, keyName: key?.name, requestID: context.requestID, client: client(request, context))
    }

    /// The key the request presents (`Authorization: Bearer <secret>`), checked; nil when none.
    func identify(_ request: Request, _ context: AudioRequestContext) async throws -> ActiveKey? {
        guard let header = request.headers.value(.authorization) else { return nil }
        try refuseIfLockedOut(request, context)
        guard let secret = Self.bearerToken(header), APIKeySecret.isWellFormed(secret) else {
            throw await fail(.malformed, request, context)
        }
        // A lookup the database could not answer throws: a 503 (`Problem(for:)`), not a refusal.
        switch try await keys.lookup(secret) {
        case .valid(let key): return key
        case .expired: throw await fail(.expired, request, context)
        case .unknown: throw await fail(.unknown, request, context)
        }
    }

    /// Throws the 401/403 a caller holding `key` (or none) gets for `decision`.
    func require(_ decision: AccessDecision, key: ActiveKey?, _ request: Request, _ context: AudioRequestContext) throws -> Grant {
        switch decision {
        case .allowed:
            return .allowed
        case .needsScope(let scope):
            try require(scope, key: key, request, context)
            return .allowed
        case .needsScopeOrSignature(let scope):
            // A link part that is not even well formed (a cut signature, `expires=soon`): when the
            // link is what grants access, a tampered link like any other (403 `link-invalid`, counted
            // as a failure); beside a key that grants it, a malformed query parameter (400).
            let link = SignedLinkQuery(query: request.uri.query)
            if let key, Self.allows(key, scope) {
                if let problem = link?.malformation { throw problem }
                return .allowed
            }
            if let link {
                try refuseIfLockedOut(request, context)
                return .ifLinkVerifies(link)
            }
            try require(scope, key: key, request, context, orSignedLink: true)
            return .allowed
        }
    }

    /// 401 without a key, 403 with one that lacks `scope`; `orSignedLink`: a signed link would do too, and the 401 says so.
    func require(_ scope: Scope, key: ActiveKey?, _ request: Request, _ context: AudioRequestContext, orSignedLink: Bool = false) throws {
        guard let key else {
            try refuseIfLockedOut(request, context)
            throw AccessProblems.missingKey(scope, orSignedLink: orSignedLink)
        }
        if !Self.allows(key, scope) { throw AccessProblems.missingScope(scope, key: key) }
    }

    /// Whether the caller may read records of `kind` (reads are public, or its key holds
    /// `read:<kind>`). A write's answer carries the record only when it may (`JSONResponse.record`),
    /// and a download's 404s tell a missing record from a missing file only then: a key that may
    /// write, upload or download but not read must not learn fields or which ids exist.
    func mayRead(_ kind: KindDefinition, key: ActiveKey?) -> Bool {
        switch APIOperation.get.decision(for: kind) {
        case .allowed: true
        case .needsScope(let scope), .needsScopeOrSignature(let scope): key.map { Self.allows($0, scope) } ?? false
        }
    }

    static func allows(_ key: ActiveKey, _ scope: Scope) -> Bool {
        switch scope {
        case .admin: key.scopes.allowsAdmin
        case .action(let action, let kind): kind.map { key.scopes.allows(action, on: $0) } ?? key.scopes.allowsAdmin
        }
    }

    /// Checks a signed link against the record's file (`sha256` nil: no record or no file, which
    /// gets the same answer as a wrong signature, so a link cannot probe for records).
    func verifyLink(
        _ link: SignedLinkQuery, kind: String, id: Int64, sha256: String?, _ request: Request, _ context: AudioRequestContext,
        now: Double = Date().timeIntervalSince1970
    ) async throws {
        guard let expires = link.expires, !link.signature.isEmpty else { throw await fail(.link, request, context) }
        if Double(expires) < now {
            guard let sha256, links.verify(link.signature, kind: kind, id: id, expires: expires, sha256: sha256) else {
                throw await fail(.link, request, context)
            }
            throw AccessProblems.linkExpired(expires)
        }
        guard let sha256, links.verify(link.signature, kind: kind, id: id, expires: expires, sha256: sha256) else {
            throw await fail(.link, request, context)
        }
    }

    /// 429 while the client is locked out.
    func refuseIfLockedOut(_ request: Request, _ context: AudioRequestContext) throws {
        guard !limiter.isQuiet else { return }
        if let seconds = limiter.lockedFor(client(request, context)) { throw AccessProblems.lockedOut(retryAfter: seconds) }
    }

    /// Counts a failed attempt (auditing the lockout it may start) and returns its problem.
    func fail(_ failure: Failure, _ request: Request, _ context: AudioRequestContext) async -> Problem {
        let client = client(request, context)
        if limiter.recordFailure(client) {
            context.logger.warning("client locked out after repeated failed authentication", metadata: ["client": "\(client)"])
            do {
                try await audit.append(.lockout, actor: AuditActor(keyID: nil, keyName: nil, requestID: context.requestID, client: client))
            } catch {
                context.logger.error("could not audit a lockout", metadata: ["error": "\(ErrorLogText.describe(error))"])
            }
        }
        return AccessProblems.refused(failure, authorization: request.headers.value(.authorization))
    }

    /// The secret of `Bearer <secret>` (scheme case-insensitive, RFC 6750 §2.1).
    static func bearerToken(_ header: String) -> Substring? {
        // Compared byte by byte, case-insensitively, without making a lower-cased copy.
        let utf8 = header.utf8
        guard utf8.count > 7 else { return nil }
        for (byte, expected) in zip(utf8, "bearer ".utf8) where byte | (byte >= 0x41 && byte <= 0x5A ? 0x20 : 0) != expected { return nil }
        return Substring(header).dropFirst(7).drop { $0 == " " }
    }
}

/// The problems of access control, each saying what was wrong and what to do.
enum AccessProblems {
    static let challenge = #"Bearer realm="audio-server""#

    /// The challenge of a 401 to a credential that was sent (RFC 6750 §3.1): `invalid_token` for a
    /// bearer token that is malformed, unknown, revoked or expired; none for another scheme
    /// (`Basic …`), which is as if no credential was sent: the client only learns to use Bearer.
    static func refusalChallenge(authorization: String?) -> String {
        guard let authorization, AccessGate.bearerToken(authorization) != nil else { return challenge }
        return challenge + #", error="invalid_token""#
    }

    /// The challenge of a 403 to a key without the scope (RFC 6750 §3.1 `insufficient_scope`),
    /// naming the scope the route needs.
    static func insufficientScopeChallenge(_ scope: Scope) -> String {
        challenge + #", error="insufficient_scope", scope=""# + scope.description + #"""#
    }

    static func missingKey(_ scope: Scope, orSignedLink: Bool = false) -> Problem {
        let or = orSignedLink ? " (or use a signed link, which a holder of that scope gets with POST …/file/link)" : ""
        return Problem(
            .keyMissing,
            detail:
                "This route needs an API key with the \(scope) scope; send it as 'Authorization: Bearer <key>'\(or). An admin makes keys with `audio-server keys create` or POST /api/keys.",
            extensions: [("reason", "missing"), ("required_scope", .string(scope.description))],
            headers: [.wwwAuthenticate: challenge])
    }

    static func refused(_ failure: AccessGate.Failure, authorization: String? = nil) -> Problem {
        let invalid = refusalChallenge(authorization: authorization)
        switch failure {
        case .malformed:
            return Problem(
                .keyMalformed,
                detail:
                    "The Authorization header must be 'Bearer <key>' with a key as `keys create` prints it (\(APIKeySecret.prefix) followed by 43 characters).",
                extensions: [("reason", "malformed")], headers: [.wwwAuthenticate: invalid])
        case .unknown:
            return Problem(
                .keyInvalid, detail: "No working key has this secret: it was never made, or it was revoked. Ask an admin for a new key.",
                extensions: [("reason", "unknown_or_revoked")], headers: [.wwwAuthenticate: invalid])
        case .expired:
            return Problem(
                .keyExpired, detail: "This key has expired; ask an admin for a new key (`audio-server keys create … --expires 30d`).",
                extensions: [("reason", "expired")], headers: [.wwwAuthenticate: invalid])
        case .link:
            return Problem(
                .linkInvalid,
                detail:
                    "The link's signature does not match: it was edited, is for another record, or the file was replaced since it was made. Ask for a new link with POST …/file/link."
            )
        }
    }

    static func missingScope(_ scope: Scope, key: ActiveKey) -> Problem {
        Problem(
            .scopeMissing,
            detail: "Key '\(key.name)' does not hold the \(scope) scope this route needs; use a key that does, or have an admin make one.",
            extensions: [("required_scope", .string(scope.description))],
            headers: [.wwwAuthenticate: insufficientScopeChallenge(scope)])
    }

    static func linkExpired(_ expires: Int64) -> Problem {
        Problem(
            .linkExpired,
            detail: "This link expired at \(RFC3339.format(Date(timeIntervalSince1970: Double(expires)))); ask for a new one with POST …/file/link.",
            extensions: [("expired_at", .string(RFC3339.format(Date(timeIntervalSince1970: Double(expires)))))])
    }

    static func lockedOut(retryAfter seconds: Int) -> Problem {
        Problem(
            .tooManyFailures, detail: "Too many failed authentications came from your address; try again in \(seconds) s with a valid key.",
            headers: [.retryAfter: String(seconds)])
    }
}
