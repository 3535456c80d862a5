public import KindModel
import Storage
import Synchronization

/// The kinds the server is serving right now, with their prepared SQL.
public struct KindRuntime: Sendable {
    public let catalog: KindCatalog
    let queries: [String: KindQueries]
    /// `GET /openapi.json`, rendered once per catalog rather than per request.
    public let openAPIJSON: String
    /// `GET /api/kinds/<kind>`: each kind's input JSON Schema (what create accepts), by canonical name.
    let kindSchemaJSON: [String: String]

    public init(catalog: KindCatalog) {
        self.catalog = catalog
        var queries: [String: KindQueries] = [:]
        var schemas: [String: String] = [:]
        for kind in catalog.kinds {
            queries[kind.name] = KindQueries(kind: kind)
            schemas[kind.name] = JSONWriter.string(KindJSONSchema.input(kind))
        }
        self.queries = queries
        self.kindSchemaJSON = schemas
        self.openAPIJSON = OpenAPIDocument.json(catalog)
    }

    /// The kind a URL token names (name or alias) with its queries.
    func resolve(_ token: String) -> KindQueries? {
        catalog.kind(named: token).flatMap { queries[$0.name] }
    }
}

/// Holds the current `KindRuntime`; `SIGHUP` swaps in a new one without dropping requests,
/// because each request takes one snapshot at its start.
public final class KindRegistry: Sendable {
    private let current: Mutex<KindRuntime>

    public init(_ catalog: KindCatalog) { current = Mutex(KindRuntime(catalog: catalog)) }

    public var runtime: KindRuntime { current.withLock { $0 } }

    public func replace(with catalog: KindCatalog) { current.withLock { $0 = KindRuntime(catalog: catalog) } }
}
