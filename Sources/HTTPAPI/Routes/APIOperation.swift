public import HTTPTypes
public import KindModel

/// Every route of the API, declared once: its method, path, what it needs to be allowed, and
/// what body it reads. Registration (`AudioAPI.register`), 405 with `Allow` (`RouteTable`), the
/// 100-continue decision, OpenAPI's paths and security requirements and the reserved kind names all derive
/// from this list, so a route cannot be served without an access rule.
/// (`GET /_static`, the benchmark-only route behind BENCH_ROUTES, is left out: off, it does not exist.)
/// The web console's routes are here too (`isConsole`): served and access-checked like the others,
/// but left out of OpenAPI, since they serve the console's files, not the API (docs/console.md).
public enum APIOperation: String, CaseIterable, Sendable {
    case health, openAPI, listKinds, describeKind
    case create, list, get, update, upload, delete, download, createLink
    case listKeys, createKey, revokeKey, listAudit
    /// `GET /api/key`: the key the request sent and its scopes (null without one), so a client
    /// such as the console can show what the key allows without trying each route.
    case currentKey
    /// Resumable uploads (tus 1.0, `AudioAPI+Resumable.swift`).
    case uploadOptions, createUpload, uploadStatus, appendUpload, cancelUpload
    /// `OPTIONS /api/audio/<kind>/<id>`: the IETF draft's discovery of a resumable `PUT`'s limits
    /// (`Upload-Limit`) before any upload exists (`AudioAPI+ResumableDraft.swift`).
    case uploadLimits
    /// The web console (`Console/ConsoleAssets.swift`): `/` redirects to it, `/console/` is its
    /// page, `/console/<file>` its other files, all compiled into the binary.
    case consoleRedirect, consolePage, consoleAsset

    public var method: HTTPRequest.Method {
        switch self {
        case .health, .openAPI, .listKinds, .describeKind, .list, .get, .download, .listKeys, .listAudit: .get
        case .consoleRedirect, .consolePage, .consoleAsset, .currentKey: .get
        case .create, .createLink, .createKey, .createUpload: .post
        case .update, .appendUpload: .patch
        case .upload: .put
        case .delete, .revokeKey, .cancelUpload: .delete
        case .uploadOptions, .uploadLimits: .options
        case .uploadStatus: .head
        }
    }

    /// The router's pattern; `:name` is one path segment.
    public var path: String {
        switch self {
        case .health: "/healthz"
        case .openAPI: "/openapi.json"
        case .listKinds: "/api/kinds"
        case .describeKind: "/api/kinds/:kind"
        case .create: "/api/audio/create"
        case .list: "/api/audio/:kind"
        case .get, .update, .upload, .delete, .uploadLimits: "/api/audio/:kind/:id"
        case .download: "/api/audio/:kind/:id/file"
        case .createLink: "/api/audio/:kind/:id/file/link"
        case .listKeys, .createKey: "/api/keys"
        case .revokeKey: "/api/keys/:id"
        case .currentKey: "/api/key"
        case .listAudit: "/api/audit"
        case .uploadOptions, .createUpload: "/api/audio/:kind/:id/uploads"
        case .uploadStatus, .appendUpload, .cancelUpload: "/api/audio/:kind/:id/uploads/:upload"
        case .consoleRedirect: "/"
        case .consolePage: "/console/"
        case .consoleAsset: "/console/:asset"
        }
    }

    /// What the route needs before it answers (the kind's `access:` decides reads and downloads).
    public var access: AccessRule {
        switch self {
        // The OPTIONS routes tell a kind's limits, no more than `GET /api/kinds/<kind>` does.
        case .health, .openAPI, .listKinds, .describeKind, .uploadOptions, .uploadLimits: .open
        // Open: without a key it answers `"key": null`; a key that is sent is checked (401 when bad).
        case .currentKey: .open
        // The console's files are public: what a key may do is decided by the API routes it calls.
        case .consoleRedirect, .consolePage, .consoleAsset: .open
        case .list, .get: .kind(.read)
        case .download: .kind(.download)
        case .createLink: .kind(.link)
        case .create, .update: .kind(.write)
        case .upload, .createUpload, .uploadStatus, .appendUpload, .cancelUpload: .kind(.upload)
        case .delete: .kind(.delete)
        case .listKeys, .createKey, .revokeKey, .listAudit: .admin
        }
    }

    /// What the request body is.
    public enum Body: Sendable { case none, json, audio }

    public var body: Body {
        switch self {
        case .create, .update, .createKey: .json
        case .upload, .createUpload, .appendUpload: .audio
        case .health, .openAPI, .listKinds, .describeKind, .list, .get, .delete, .download, .createLink, .listKeys, .revokeKey, .listAudit,
            .uploadOptions, .uploadLimits, .uploadStatus, .cancelUpload, .currentKey, .consoleRedirect, .consolePage, .consoleAsset:
            .none
        }
    }

    /// Routes on one kind's records (`/api/audio/:kind…`): OpenAPI spells them out per kind.
    public var isKindRoute: Bool { path.hasPrefix("/api/audio/:kind") }

    /// The web console's routes: not part of the API, so not in OpenAPI (docs/console.md).
    public var isConsole: Bool {
        switch self {
        case .consoleRedirect, .consolePage, .consoleAsset: true
        default: false
        }
    }

    /// GET routes answer HEAD too, with the same headers and no body.
    public var answersHead: Bool { method == .get }

    /// The path's segments, `*` for a parameter.
    public var shape: [String] {
        path.split(separator: "/").map { $0.hasPrefix(":") ? "*" : String($0) }
    }

    /// The operation serving `method` on `path`, with the path's segments: the one the router
    /// (`APIResponder`) would choose, so that channel handlers deciding before it agree with it.
    public static func matching(_ method: HTTPRequest.Method, path: Substring) -> (APIOperation, [Substring])? {
        guard let (route, segments) = RouteTable.route(path: path), let (operation, _) = route.operation(for: method) else { return nil }
        return (operation, segments)
    }

    /// Fixed segments that sit where a kind name goes (`/api/audio/create`): no kind may take them.
    public static var reservedKindNames: Set<String> {
        let kindRoute = ["api", "audio", "*"]
        return Set(allCases.map(\.shape).filter { $0.count == 3 && $0[0] == "api" && $0[1] == "audio" && $0 != kindRoute }.map { $0[2] })
    }
}

extension APIOperation {
    /// Whether `kind` offers this route at all. A kind whose files need a key (`download: key`)
    /// hands out no signed links, which could never be used: its link route answers 403
    /// `links-not-accepted` and OpenAPI leaves it out.
    func isOffered(by kind: KindDefinition) -> Bool {
        self != .createLink || kind.access.download != .key
    }

    /// What this operation needs on `kind` (for kind routes; the others ignore it).
    func decision(for kind: KindDefinition) -> AccessDecision {
        switch access {
        case .open: .allowed
        case .admin: .needsScope(.admin)
        case .kind(let purpose): purpose.decide(kind: kind.name, access: kind.access)
        }
    }
}
