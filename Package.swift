// swift-tools-version:6.2
import PackageDescription

// Layers, lowest first; a module imports only modules above it in this list.
//   KindModel  — YAML kinds → KindDefinition; JSON validation (pure)
//   AudioProbe — audio format recognition and duration probing (pure)
//   Schema     — DDL + migration generation (pure SQL text) and applying migrations
//   Storage    — PostgreSQL records and the audio file store
//   HTTPAPI    — Hummingbird routes, problem responses, OpenAPI
//   audio-server — CLI wiring only
// As Hummingbird builds: existentials spelled `any`, members visible only through a module the
// file imports, and imports internal unless a file marks one `public import`.
let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "audio-file-server",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "audio-server", targets: ["audio-server"]),
        // For the micro-benchmarks in Benchmarks/, a separate package so this build stays lean.
        .library(name: "KindModel", targets: ["KindModel"]),
        .library(name: "AudioProbe", targets: ["AudioProbe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // Already in the graph through Hummingbird; named for the 100-continue channel handler.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Already in the graph through PostgresNIO; named because Storage imports NIOSSL (TLS settings).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Already in the graph through Hummingbird; named for the S3 client (streamed bodies).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .target(name: "KindModel", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: strictness),
        .target(name: "AudioProbe", swiftSettings: strictness),
        .target(name: "Schema", dependencies: [
            "KindModel",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strictness),
        .target(name: "Storage", dependencies: [
            "KindModel", "Schema", "AudioProbe",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: strictness),
        .target(name: "HTTPAPI", dependencies: [
            "KindModel", "Schema", "Storage", "AudioProbe",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ],
        // The web console's files, compiled in as byte arrays (`PackageResources`, served by
        // Console/ConsoleAssets.swift): the binary needs nothing beside it.
        resources: [
            .embedInCode("Console/assets/index.html"), .embedInCode("Console/assets/console.css"),
            .embedInCode("Console/assets/app.js"), .embedInCode("Console/assets/api.js"),
            .embedInCode("Console/assets/ui.js"), .embedInCode("Console/assets/kinds.js"),
            .embedInCode("Console/assets/records.js"), .embedInCode("Console/assets/record.js"),
            .embedInCode("Console/assets/admin.js"),
        ],
        swiftSettings: strictness),
        .executableTarget(name: "audio-server", dependencies: [
            "KindModel", "Schema", "Storage", "HTTPAPI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strictness),
        .target(name: "TestSupport", dependencies: [
            "Storage",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "KindModelTests", dependencies: ["KindModel"]),
        .testTarget(name: "AudioProbeTests", dependencies: ["AudioProbe"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SchemaTests", dependencies: ["KindModel", "Schema", "Storage", "TestSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "StorageTests", dependencies: ["KindModel", "Schema", "Storage", "TestSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "HTTPAPITests", dependencies: [
            "KindModel", "Schema", "Storage", "HTTPAPI", "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            // To follow redirect downloads to the object storage's presigned URLs.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
