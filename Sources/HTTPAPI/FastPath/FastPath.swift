import Foundation
import HTTPTypes
import Hummingbird
import KindModel
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Storage

/// The two hottest routes, `GET /api/audio/<kind>/<id>` and `POST /api/audio/create`, answered
/// from the connection's channel (`FastPathHandler`) instead of through Hummingbird's request
/// loop, middleware and response writer.
///
/// Why: each `await` of the normal path (the async body stream, the middleware, the router, the
/// response writer) is a job of its own on Swift's cooperative pool, and a request makes several
/// thread hops between the event loop and the pool. Measured with a prototype (docs/performance.md,
/// "Session 26"), that is ~40–50 µs of server CPU per GET and ~60–75 µs per create at 16
/// connections: the margin between missing and meeting issue 21's targets beside PocketBase.
///
/// What it answers is only the success: the record (200) or the created record (201), and a
/// create the database refused (its problem from `Problem(for:)`, since the statement ran). Every
/// other request, and every request that would get any other answer (no key, a key not in memory,
/// a missing scope, a locked-out client, an unknown kind or id, a validation failure, a database
/// outage, a `Host` not allowed, `Origin`, `If-None-Match`, HEAD, a query string, `Expect`, a
/// chunked or large body, HTTP/1.0, `Connection: close`, a server draining), goes on to the normal
/// path unchanged, which answers it: each route, rule and problem stays written once. The routes
/// come from `RouteTable`, the access decision from `APIOperation.decision(for:)` and
/// `AccessGate`, the body from `JSONBody` and `RecordValidator`, the answer from
/// `JSONResponse.recordParts`.
///
/// `FAST_PATHS=off` turns it off (the A/B benchmarks and the parity test compare both).
final class FastPath: Sendable {
    let api: AudioAPI
    let hosts: HostAllowList
    let cors: CORSOrigins?
    /// The `Server` header, as Hummingbird's `serverName`.
    let serverName: String
    let logger: Logger
    let dates = HTTPDate()

    /// Bodies of a create taken here at most: a record is a few hundred bytes; larger bodies take
    /// the normal path, which parses bodies over 64 KiB off the request executor.
    static let maxCreateBody = 16 * 1024

    init(api: AudioAPI, hosts: HostAllowList, cors: CORSOrigins?, serverName: String, logger: Logger) {
        self.api = api
        self.hosts = hosts
        self.cors = cors
        self.serverName = serverName
        self.logger = logger
    }

    /// What the fast path will do with a request, decided from its head.
    enum Plan: Sendable {
        case get(KindQueries, id: Int64)
        /// The key is known valid; its scope is checked once the body names the kind.
        case create(ActiveKey)
    }

    /// What one connection remembers between its requests, so that the same `Host` and key are
    /// not judged again on every request (the key only while `KeyDirectory.changeCount` stays).
    struct Memo {
        var allowedHost: String?
        var key: (authorization: String, key: ActiveKey, changes: Int)?
    }

    /// What it did.
    enum Outcome: Sendable {
        case answer(HTTPResponse.Status, HTTPFields, ByteBuffer)
        /// The request goes on to the normal path, as it arrived.
        case passOn
    }

    /// The plan for a request, on the event loop from its head alone; nil: the normal path takes it.
    /// Only what the normal path would certainly answer 200 or 201 (given the record exists and
    /// the body is valid) is planned; every test here is a reason to let the normal path decide.
    /// With the plan, the request's own `X-Request-Id` as sent (judged by `requestID(_:)`).
    func plan(_ head: HTTPRequestHead, peer: @autoclosure () -> SocketAddress?, memo: inout Memo) -> (Plan, incomingID: String?)? {
        guard head.method == .GET || head.method == .POST, head.version == .http1_1, head.uri.utf8.first == UInt8(ascii: "/"),
            !head.uri.utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") })
        else { return nil }
        let facts = HeadFacts(head.headers)
        guard !facts.leaveToNormalPath else { return nil }
        // `Host` as `RequestGuard` judges it (`RequestHost` has marked a missing or repeated one).
        if facts.host == nil || facts.host != memo.allowedHost {
            guard hosts.allows(facts.host) else { return nil }
            memo.allowedHost = facts.host
        }
        guard !api.drain.isDraining, !api.health.isKnownDown, let (route, segments) = RouteTable.route(path: head.uri),
            let (operation, headOfGet) = route.operation(for: head.method == .GET ? .get : .post), !headOfGet
        else { return nil }
        let match = RouteMatch(pattern: route.pattern, segments: segments)
        switch operation {
        case .get:
            guard facts.contentLength ?? "0" == "0", let token = try? match.require("kind"), let idText = try? match.require("id"),
                let queries = api.registry.runtime.resolve(token), let id = Int64(idText), id > 0,
                checkKey(facts, head.headers, for: APIOperation.get.decision(for: queries.kind), peer: peer(), memo: &memo) != nil
            else { return nil }
            return (.get(queries, id: id), facts.requestID)
        case .create:
            guard let type = facts.contentType, JSONBody.isJSON(type),
                let length = facts.contentLength.flatMap({ Int($0) }), length > 0, length <= Self.maxCreateBody,
                case .some(.some(let key)) = checkKey(
                    facts, head.headers, for: .needsScope(.action(.write, kind: nil)), peer: peer(), scopeLater: true, memo: &memo)
            else { return nil }
            return (.create(key), facts.requestID)
        default:
            return nil
        }
    }

    /// The caller's key when the request may go ahead as `decision` says, from memory alone:
    /// `.some(nil)` for an allowed request without a key, nil when the normal path must decide
    /// (no key where one is needed, a key not in memory or expired, a missing scope, a lockout).
    /// `scopeLater`: only that a valid key is sent (a create's scope depends on its body).
    func checkKey(
        _ facts: HeadFacts, _ headers: HTTPHeaders, for decision: AccessDecision, peer: SocketAddress?, scopeLater: Bool = false,
        memo: inout Memo
    )
        -> ActiveKey??
    {
        let access = api.access
        if !access.limiter.isQuiet, access.limiter.lockedFor(access.client(peer: peer, forwardedFor: headers["x-forwarded-for"])) != nil {
            return nil
        }
        let scope: Scope?
        switch decision {
        case .allowed: scope = nil
        case .needsScope(let needed), .needsScopeOrSignature(let needed): scope = needed
        }
        guard let authorization = facts.authorization else { return scope == nil ? .some(nil) : nil }
        let now = Date().timeIntervalSince1970
        let key: ActiveKey
        let changes = access.keys.changeCount
        if let kept = memo.key, kept.changes == changes, kept.authorization == authorization, !kept.key.isExpired(at: now) {
            key = kept.key
        } else {
            guard let secret = AccessGate.bearerToken(authorization), APIKeySecret.isWellFormed(secret),
                let found = access.keys.inMemory(secret, now: now)
            else { return nil }
            key = found
            memo.key = (authorization, found, changes)
        }
        if !scopeLater, let scope, !AccessGate.allows(key, scope) { return nil }
        KeyDirectory.noteUse(of: key, at: now)
        return .some(key)
    }

    /// The answer to a planned request, off the event loop.
    func answer(_ plan: Plan, head: HTTPRequestHead, body: ByteBuffer?, requestID: String, peer: SocketAddress?) async -> Outcome {
        await RequestLogContext.$requestID.withValue(requestID) {
            switch plan {
            case .get(let queries, let id):
                // Not found, or the database failed: the normal path reads again and answers.
                guard let stored = try? await api.records.get(id, in: queries) else { return .passOn }
                let (headers, body) = JSONResponse.recordParts(stored, readable: true)
                return .answer(.ok, headers, body)
            case .create(let key):
                return await create(head: head, body: body, key: key, requestID: requestID, peer: peer)
            }
        }
    }

    /// A create whose body is a valid record of a kind the key may write; anything else passes on
    /// before the database is asked, so that the normal path answers the problem.
    private func create(head: HTTPRequestHead, body: ByteBuffer?, key: ActiveKey, requestID: String, peer: SocketAddress?) async -> Outcome {
        guard let body else { return .passOn }
        let bytes = Array(body.readableBytesView)
        guard !bytes.starts(with: [0xEF, 0xBB, 0xBF]), case .success(.object(let object)) = await JSONBody.parse(bytes),
            case .string(let token)? = object["filetype"], let queries = api.registry.runtime.resolve(token)
        else { return .passOn }
        let kind = queries.kind
        switch APIOperation.create.decision(for: kind) {
        case .allowed: break
        case .needsScope(let scope), .needsScopeOrSignature(let scope): guard AccessGate.allows(key, scope) else { return .passOn }
        }
        guard case .success(let record) = RecordValidator.validate(object, kind: kind, mode: .create, ignoring: ["filetype"]) else {
            return .passOn
        }
        let actor = AuditActor(
            keyID: key.id, keyName: key.name, requestID: requestID,
            client: api.access.client(peer: peer, forwardedFor: head.headers["x-forwarded-for"]))
        let stored: StoredRecord
        do {
            stored = try await api.records.create(record, in: queries, audit: actor)
        } catch {
            // The statement was sent: not passed on (it could create the record twice), answered
            // as the normal path answers it.
            let request =
                (try? HTTPRequest(head, secure: false, splitCookie: false)) ?? HTTPRequest(method: .post, scheme: nil, authority: nil, path: head.uri)
            let problem = Problem(for: error, request: Request(head: request, body: RequestBody(buffer: body)), logger: logger)
            let (headers, text) = problem.rendered()
            return .answer(problem.status, headers, text)
        }
        var (headers, out) = JSONResponse.recordParts(stored, readable: api.access.mayRead(kind, key: key))
        headers[.location] = AudioAPI.location(kind, stored.id)
        return .answer(.created, headers, out)
    }

    /// The answer's head: its headers and those every answer gets, as `RequestMiddleware` and
    /// Hummingbird add them.
    func head(_ status: HTTPResponse.Status, _ fields: HTTPFields, length: Int, requestID: String) -> HTTPResponseHead {
        var fields = fields
        // A request with Origin is not taken here: CORS marks only `Vary`, as for any request.
        if cors != nil { CORS.mark(&fields, origin: nil, method: .get) }
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 4)
        for field in fields { headers.add(name: field.name.rawName, value: field.value) }
        headers.add(name: "Content-Length", value: String(length))
        headers.add(name: "X-Request-Id", value: requestID)
        headers.add(name: "Date", value: dates.now())
        headers.add(name: "Server", value: serverName)
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status.code), headers: headers)
    }

    /// A kept `X-Request-Id` of the request, or a new id from Hummingbird's generator.
    static func requestID(_ incoming: String?) -> String {
        if let incoming, RequestMiddleware.isKept(incoming) { return incoming }
        return RequestID().description
    }
}
