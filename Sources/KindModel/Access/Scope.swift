/// A permission an API key holds: `read:<kind>`, `write:<kind>`, `upload:<kind>`, `delete:<kind>`
/// (each also `<action>:*` for every kind), or `admin` (keys, audit, and everything else).
public enum Scope: Sendable, Hashable, CustomStringConvertible {
    case admin
    /// `kind` nil: `<action>:*`.
    case action(KindAction, kind: String?)

    /// Parses the text form; nil when it is not one of the forms above.
    public init?(_ text: String) {
        if text == "admin" {
            self = .admin
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        guard let action = KindAction(rawValue: String(text[..<colon])) else { return nil }
        let target = String(text[text.index(after: colon)...])
        if target == "*" {
            self = .action(action, kind: nil)
            return
        }
        guard KindLoader.isValidName(target) else { return nil }
        self = .action(action, kind: target)
    }

    public var description: String {
        switch self {
        case .admin: "admin"
        case .action(let action, let kind): "\(action.rawValue):\(kind ?? "*")"
        }
    }

    /// The kind a scope names, if it names one (not `admin`, not `*`).
    public var kindName: String? {
        if case .action(_, let kind) = self { return kind }
        return nil
    }

    /// The forms a scope may take, for error messages.
    public static let forms = "admin, or ACTION:KIND / ACTION:* with ACTION one of \(KindAction.allCases.map(\.rawValue).joined(separator: ", "))"
}

/// What a key may do to a kind's records.
public enum KindAction: String, Sendable, Hashable, CaseIterable {
    /// GET one, list, count, and the file when the kind's download needs a key.
    case read
    /// Create and PATCH.
    case write
    /// PUT the audio file.
    case upload
    case delete
}

/// The scopes one key holds, with the check every route makes.
public struct ScopeSet: Sendable, Equatable {
    public let scopes: [Scope]
    private let isAdmin: Bool
    private let everyKind: Set<KindAction>
    private let perKind: Set<KindScope>

    /// An action on one kind, hashed without building its text on every check.
    private struct KindScope: Hashable, Sendable {
        var action: KindAction
        var kind: String
    }

    public init(_ scopes: [Scope]) {
        self.scopes = scopes
        var admin = false
        var every = Set<KindAction>()
        var per = Set<KindScope>()
        for scope in scopes {
            switch scope {
            case .admin: admin = true
            case .action(let action, nil): every.insert(action)
            case .action(let action, let kind?): per.insert(KindScope(action: action, kind: kind))
            }
        }
        isAdmin = admin
        everyKind = every
        perKind = per
    }

    public var allowsAdmin: Bool { isAdmin }

    /// Whether the key may do `action` to records of `kind` (its canonical name).
    public func allows(_ action: KindAction, on kind: String) -> Bool {
        isAdmin || everyKind.contains(action) || perKind.contains(KindScope(action: action, kind: kind))
    }
}
