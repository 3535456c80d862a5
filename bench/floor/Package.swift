// swift-tools-version:6.2
// The per-request floor of the HTTP stack (bench/floor.sh, `make bench-floor`): the same one-route
// server written on Hummingbird 2 and as a bare SwiftNIO channel handler, so that the fixed cost
// of a request can be measured apart from this project's own code. Its own package: the main build
// and CI never compile it.
import PackageDescription

let package = Package(
    name: "http-floor",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(name: "hummingbird-hello", dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),
        .executableTarget(
            name: "nio-hello",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
    ]
)
