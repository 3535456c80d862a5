/// The routes of `APIOperation` grouped by path shape: which operation serves a request (the
/// server's router, `APIResponder`), and which methods a path takes, so that a request with
/// another method on an existing path gets 405 with `Allow` (RFC 9110) instead of a 404.
import HTTPTypes
import Hummingbird

enum RouteTable {
    /// One segment of a route's path: fixed text, or a `:name` parameter.
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// One path shape and the operations served there.
    struct Route: Sendable {
        let pattern: [Segment]
        /// The operations at this shape (at most one per method).
        let operations: [APIOperation]
        /// The methods served, HEAD where GET is, in the table's order (for `Allow`).
        let methods: [String]
        /// How many segments are parameters: with fewer, a shape is more specific (kept, not
        /// counted per request).
        let parameterCount: Int

        /// The operation serving `method` here; `headOfGet` when it is a GET answering a HEAD.
        func operation(for method: HTTPRequest.Method) -> (operation: APIOperation, headOfGet: Bool)? {
            if let exact = operations.first(where: { $0.method == method }) { return (exact, false) }
            if method == .head, let get = operations.first(where: { $0.answersHead }) { return (get, true) }
            return nil
        }

        /// Whether `segments` have this shape.
        func matches(_ segments: [Substring]) -> Bool {
            guard segments.count == pattern.count else { return false }
            for (part, segment) in zip(pattern, segments) {
                if case .literal(let text) = part, text != segment { return false }
            }
            return true
        }
    }

    /// Every shape, in the order `APIOperation` first names it.
    static let routes: [Route] = {
        var byShape: [[String]: [APIOperation]] = [:]
        var order: [[String]] = []
        for operation in APIOperation.allCases {
            let shape = operation.shape
            if byShape[shape] == nil { order.append(shape) }
            byShape[shape, default: []].append(operation)
        }
        return order.map { shape in
            let operations = byShape[shape]!
            let pattern = operations[0].path.split(separator: "/").map {
                $0.hasPrefix(":") ? Segment.parameter(String($0.dropFirst())) : .literal(String($0))
            }
            return Route(
                pattern: pattern, operations: operations,
                methods: operations.flatMap { $0.answersHead ? [$0.method.rawValue, "HEAD"] : [$0.method.rawValue] },
                parameterCount: shape.filter { $0 == "*" }.count)
        }
    }()

    /// Every method some route serves, in the table's order (for the 501 to a method nobody serves).
    static let methods: [String] = routes.flatMap(\.methods).reduce(into: []) { seen, method in
        if !seen.contains(method) { seen.append(method) }
    }

    /// The route of `path` and the path's segments (empty ones skipped, as in `//api/kinds/`), or
    /// nil when no route has its shape (a real 404). The most specific shape wins, as in
    /// Hummingbird's router: `/api/audio/create` before `/api/audio/:kind`, whatever the method —
    /// a GET there is a 405, not a list of a kind named `create`.
    static func route<Path: StringProtocol>(path: Path) -> (route: Route, segments: [Substring])? where Path.SubSequence == Substring {
        let segments = path.split(separator: "/")
        var best: Route?
        for route in routes where route.matches(segments) {
            if best == nil || route.parameterCount < best!.parameterCount { best = route }
        }
        return best.map { ($0, segments) }
    }

    /// The methods served at `path`, or nil when no route has this shape (a real 404).
    static func allowedMethods(path: String) -> [String]? { route(path: path)?.route.methods }
}

/// The route a request took: its path's segments, read by the operation's parameter names
/// (`context.route.require("kind")` for `/api/audio/:kind`).
public struct RouteMatch: Sendable {
    var pattern: [RouteTable.Segment] = []
    var segments: [Substring] = []

    /// The raw (still percent-encoded) path segment where the route's `:name` stands.
    func require(_ name: String) throws -> String {
        for (part, segment) in zip(pattern, segments) where part == .parameter(name) { return String(segment) }
        throw HTTPError(.badRequest, message: "Expected parameter does not exist")
    }
}
