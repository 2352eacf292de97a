// swift-tools-version: 6.1
//
// Sluice: a Swift framework and runner for Kafka consumers whose per-message work is CPU-bound.
//
// Module graph (top depends on bottom, never the reverse):
//
//   SluiceTestKit     in-memory cluster + manual clock for tests of handlers and the engine
//   Sluice            the engine: ConsumerStateMachine and its drivers (poll loop, workers), window, ordering, tracker
//     SluiceFutures   Executor / Future toolkit, knows nothing of Kafka
//     SluiceProcessPool  ProcessPoolExecutor: named jobs in supervised worker processes (on SluiceFutures)
//     SluiceKafka     safe Swift layer over librdkafka + EmbeddedBroker (the only importer of CRdKafka)
//       CRdKafka      system library: module map + shim header, pkg-config "rdkafka"

import PackageDescription

let package = Package(
    name: "sluice",
    products: [
        .library(name: "Sluice", targets: ["Sluice"]),
        .library(name: "SluiceTestKit", targets: ["SluiceTestKit"]),
        .library(name: "SluiceFutures", targets: ["SluiceFutures"]),
        .library(name: "SluiceProcessPool", targets: ["SluiceProcessPool"]),
        .library(name: "SluiceKafka", targets: ["SluiceKafka"]),
        .library(name: "SluiceCLI", targets: ["SluiceCLI"]),
        .library(name: "SluiceDemoHandlers", targets: ["SluiceDemoHandlers"]),
        .executable(name: "sluice", targets: ["sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
    ],
    targets: [
        // MARK: C boundary

        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"]), .brew(["librdkafka"])]
        ),

        // MARK: Libraries

        // Internal (no product): the package's one monotonic clock and Duration conversions.
        .target(name: "_SluiceTime"),
        .target(
            name: "SluiceKafka",
            dependencies: [
                "CRdKafka",
                "_SluiceTime",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SluiceFutures",
            dependencies: [
                "_SluiceTime",
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "SluiceProcessPool",
            dependencies: [
                "SluiceFutures",
                "_SluiceTime",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Sluice",
            dependencies: [
                "SluiceKafka",
                "SluiceFutures",
                "SluiceProcessPool",
                "_SluiceTime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // Test your handlers without Kafka: an in-memory cluster and a manual clock.
        .target(
            name: "SluiceTestKit",
            dependencies: [
                "Sluice",
                "SluiceFutures",
                "_SluiceTime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),

        .target(
            name: "SluiceCLI",
            dependencies: [
                "Sluice",
                "_SluiceTime",
                "SluiceProcessPool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // The `sluice` executable's demo handlers (`sha256`, `score-orders`): apart from SluiceCLI,
        // which every application links, so that an application does not build swift-crypto
        // (BoringSSL) unless it uses them.
        .target(
            name: "SluiceDemoHandlers",
            dependencies: [
                "Sluice",
                "SluiceCLI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Executables

        .executableTarget(
            name: "sluice",
            dependencies: ["SluiceCLI", "SluiceDemoHandlers"]
        ),

        // MARK: Examples (each a small runnable application with a README)

        .executableTarget(
            name: "example-cpu-hashing",
            dependencies: ["SluiceCLI", "Sluice", "SluiceDemoHandlers"],
            path: "examples/cpu-hashing",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "example-json-enrichment",
            dependencies: ["SluiceCLI", "Sluice"],
            path: "examples/json-enrichment",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "example-failure-handling",
            dependencies: ["SluiceCLI", "Sluice"],
            path: "examples/failure-handling",
            exclude: ["README.md"]
        ),

        // MARK: Benchmarks (executables that print figures; never timed assertions in tests).
        // The engine's benchmark is `sluice bench` (Sources/SluiceCLI/Bench).

        .executableTarget(
            name: "sluice-futures-bench",
            dependencies: ["SluiceFutures"],
            path: "Benchmarks/FuturesBenchmark"
        ),
        .executableTarget(
            name: "sluice-pool-bench",
            dependencies: ["SluiceProcessPool", "SluiceFutures"],
            path: "Benchmarks/ProcessPoolBenchmark"
        ),

        // MARK: Tests

        .testTarget(
            name: "SluiceKafkaTests",
            dependencies: ["SluiceKafka"]
        ),
        .testTarget(
            name: "SluiceFuturesTests",
            dependencies: ["SluiceFutures"]
        ),
        .testTarget(
            name: "SluiceProcessPoolTests",
            dependencies: ["SluiceProcessPool", "SluiceFutures"]
        ),
        // The worker executable the process-pool tests start (found next to the test bundle).
        .executableTarget(
            name: "sluice-pool-test-worker",
            dependencies: ["SluiceProcessPool", "SluiceFutures"],
            path: "Tests/SluiceProcessPoolTestWorker"
        ),
        .testTarget(
            name: "SluiceCLITests",
            dependencies: [
                "SluiceCLI",
                "SluiceDemoHandlers",
                "Sluice",
                "SluiceTestKit",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ]
        ),
        .testTarget(
            name: "SluiceTests",
            dependencies: [
                "Sluice",
                "SluiceKafka",
                "SluiceFutures",
                "SluiceTestKit",
                "_SluiceTime",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ]
)

// Strict settings on every Swift target, applied in one place (as swift-log does).
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(contentsOf: [
        .swiftLanguageMode(.v6),
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ])
    target.swiftSettings = settings
}
