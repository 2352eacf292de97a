// swift-tools-version: 6.1
//
// A batch handler that writes each batch of Kafka messages into PostgreSQL, idempotently: one
// multi-row INSERT … ON CONFLICT DO NOTHING per batch, keyed by (topic, partition, offset), so that
// the messages Sluice hands over again after a crash (at-least-once) add no row twice.
//
// It depends on Sluice by path (this repository's checkout, so CI builds it against the code next
// to it); in your copy, use the URL instead:
//
//   .package(url: "https://github.com/your-org/sluice.git", branch: "main"),

import PackageDescription

let package = Package(
    name: "postgres-sink",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sluice", path: "../.."),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        // The handler and the table, in a library so that tests can import them.
        .target(
            name: "PostgresSink",
            dependencies: [
                .product(name: "Sluice", package: "sluice"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The consumer process: flags, a PostgresClient and a SluiceConsumer in one ServiceGroup.
        .executableTarget(
            name: "postgres-sink",
            dependencies: [
                "PostgresSink",
                .product(name: "Sluice", package: "sluice"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "PostgresSinkTests",
            dependencies: [
                "PostgresSink",
                .product(name: "Sluice", package: "sluice"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + [.swiftLanguageMode(.v6)]
}
