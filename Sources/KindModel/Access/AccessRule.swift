/// What a route needs before it may answer, decided from the route and the kind's `access:` block.
/// One function for every route, so that no handler decides on its own.
public enum AccessRule: Sendable, Equatable {
    /// Describes shapes, never data (`/healthz`, `/api/kinds`, `/openapi.json`).
    case open
    /// An action on a kind's records; whether it needs a key depends on the kind for reads and downloads.
    case kind(KindRoutePurpose)
    /// Keys and the audit trail.
    case admin
}

/// Why a kind route is being called, which decides the scope it needs.
public enum KindRoutePurpose: Sendable, Equatable {
    /// GET one, list, count (HEAD too).
    case read
    /// GET/HEAD the file.
    case download
    /// Ask for a signed link to the file.
    case link
    case write
    case upload
    case delete
}

/// The verdict of `AccessRule.decide`.
public enum AccessDecision: Sendable, Equatable {
    /// Anyone may.
    case allowed
    /// A key with `scope` may (admin always may); without a key: 401.
    case needsScope(Scope)
    /// Anyone with a key with `scope`, or a valid signed link (the file of a `signed` kind).
    case needsScopeOrSignature(Scope)
}

extension KindRoutePurpose {
    /// What the purpose needs on a kind with `access`.
    public func decide(kind: String, access: KindAccess) -> AccessDecision {
        let read = Scope.action(.read, kind: kind)
        switch self {
        case .read: return access.read == .public ? .allowed : .needsScope(read)
        case .download:
            switch access.download {
            case .public: return .allowed
            case .key: return .needsScope(read)
            case .signed: return .needsScopeOrSignature(read)
            }
        case .link: return access.download == .public ? .allowed : .needsScope(read)
        case .write: return .needsScope(.action(.write, kind: kind))
        case .upload: return .needsScope(.action(.upload, kind: kind))
        case .delete: return .needsScope(.action(.delete, kind: kind))
        }
    }
}
