import HTTPTypes
import Testing

@testable import HTTPAPI

/// The server's router (`APIResponder`) chooses by `RouteTable.route`, which must choose as
/// Hummingbird's trie did before it replaced it: the most specific shape, then the method.
@Suite struct RouteTableTests {
    /// Each operation's own path, its parameters filled in, reaches that operation by its method.
    @Test func everyOperationIsReachedByItsPathAndMethod() throws {
        for operation in APIOperation.allCases {
            let path = operation.path.replacingOccurrences(of: ":kind", with: "song").replacingOccurrences(of: ":id", with: "7")
                .replacingOccurrences(of: ":upload", with: "u1").replacingOccurrences(of: ":asset", with: "app.js")
            let (route, _) = try #require(RouteTable.route(path: path), "\(path)")
            let chosen = try #require(route.operation(for: operation.method), "\(operation.method) \(path)")
            #expect(chosen.operation == operation && !chosen.headOfGet, "\(operation.method) \(path)")
            if operation.answersHead {
                let head = try #require(route.operation(for: .head), "HEAD \(path)")
                #expect(head.operation == operation && head.headOfGet)
            }
        }
    }

    /// A literal segment beats a parameter whatever the method: GET /api/audio/create is create's
    /// path with the wrong method (a 405), not a list of a kind named `create`.
    @Test func theMostSpecificShapeWinsBeforeTheMethod() throws {
        let (route, _) = try #require(RouteTable.route(path: "/api/audio/create"))
        #expect(route.operation(for: .post)?.operation == .create)
        #expect(route.operation(for: .get) == nil)
        #expect(RouteTable.allowedMethods(path: "/api/audio/create") == ["POST"])
        #expect(RouteTable.route(path: "/api/audio/song")?.route.operation(for: .get)?.operation == .list)
        #expect(APIOperation.matching(.get, path: "/api/audio/create") == nil)
    }

    /// Empty segments are skipped (`//api//kinds/` is `/api/kinds`); `/` is the console's redirect;
    /// a path no shape has is nil (a 404).
    @Test func emptySegmentsAreSkippedAndUnknownPathsAreNil() throws {
        #expect(RouteTable.route(path: "//api//kinds/")?.route.operation(for: .get)?.operation == .listKinds)
        #expect(RouteTable.route(path: "/")?.route.operation(for: .get)?.operation == .consoleRedirect)
        #expect(RouteTable.route(path: "/console/")?.route.operation(for: .get)?.operation == .consolePage)
        #expect(RouteTable.route(path: "/api/nothing/here") == nil)
        #expect(RouteTable.route(path: "/api/audio/song/1/file/link/more") == nil)
    }

    /// Parameters are read by the names of the route's path, raw (percent-decoding is the handler's).
    @Test func parametersAreReadByName() throws {
        let (route, segments) = try #require(RouteTable.route(path: "/api/audio/audio%20book/42/uploads/abc"))
        let match = RouteMatch(pattern: route.pattern, segments: segments)
        #expect(try match.require("kind") == "audio%20book")
        #expect(try match.require("id") == "42")
        #expect(try match.require("upload") == "abc")
        #expect(throws: (any Error).self) { try match.require("asset") }
    }
}
