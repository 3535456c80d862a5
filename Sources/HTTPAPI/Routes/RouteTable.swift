/// The methods each route shape answers, so that a request with another method on an existing
/// path gets 405 with `Allow` (RFC 9110) instead of the router's 404. Derived from `APIOperation`.
import HTTPTypes

enum RouteTable {
    /// Path shapes, `*` standing for one segment, with their methods (HEAD where GET is served).
    static let routes: [(pattern: [String], methods: [String])] = {
        var byShape: [[String]: [String]] = [:]
        var order: [[String]] = []
        for operation in APIOperation.allCases {
            let shape = operation.shape
            if byShape[shape] == nil { order.append(shape) }
            byShape[shape, default: []].append(operation.method.rawValue)
            if operation.answersHead { byShape[shape, default: []].append("HEAD") }
        }
        return order.map { ($0, byShape[$0]!) }
    }()

    /// Every method some route serves, in the table's order (for the 501 to a method nobody serves).
    static let methods: [String] = routes.flatMap(\.methods).reduce(into: []) { seen, method in
        if !seen.contains(method) { seen.append(method) }
    }

    /// The methods served at `path`, or nil when no route has this shape (a real 404).
    static func allowedMethods(path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // The most specific shape wins: `/api/audio/create` before `/api/audio/*`.
        let matches = routes.filter { route in
            route.pattern.count == segments.count && zip(route.pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }
        guard let best = matches.max(by: { $0.pattern.filter { $0 == "*" }.count > $1.pattern.filter { $0 == "*" }.count }) else {
            return nil
        }
        return best.methods
    }
}
