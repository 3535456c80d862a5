/// The set of kinds the server runs with, looked up by canonical name or alias.
public struct KindCatalog: Sendable, Equatable {
    /// Kinds sorted by name, so that everything derived from them is deterministic.
    public let kinds: [KindDefinition]
    private let byToken: [String: Int]

    /// Builds a catalog from kinds that have already passed the linter (names and aliases unique).
    public init(_ kinds: [KindDefinition]) {
        let sorted = kinds.sorted { $0.name < $1.name }
        var tokens: [String: Int] = [:]
        for (i, kind) in sorted.enumerated() {
            tokens[kind.name] = i
            for alias in kind.aliases where tokens[alias] == nil { tokens[alias] = i }
        }
        self.kinds = sorted
        self.byToken = tokens
    }

    /// The kind a URL token or `filetype` value names: its canonical name or one of its aliases.
    public func kind(named token: String) -> KindDefinition? {
        byToken[token].map { kinds[$0] }
    }

    public var names: [String] { kinds.map(\.name) }

    public static func == (lhs: KindCatalog, rhs: KindCatalog) -> Bool { lhs.kinds == rhs.kinds }
}
