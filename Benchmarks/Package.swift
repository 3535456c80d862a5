// swift-tools-version:6.2
// Micro-benchmarks for audio-file-server, kept in their own package so that the main build and CI
// never fetch or compile the benchmark framework. Run from this folder:
//   swift package benchmark
import PackageDescription

let package = Package(
    name: "audio-file-server-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The server package: needs `.library` products KindModel and AudioProbe.
        .package(name: "audio-file-server", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KindModel", package: "audio-file-server"),
                .product(name: "AudioProbe", package: "audio-file-server"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
