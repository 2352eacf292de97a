// swift-tools-version: 6.1
//
// A consumer of your own on Sluice: copy this folder, rename it, and replace the handler.
// It depends on Sluice by path (this repository's checkout, so CI builds it against the code next
// to it); in your copy, use the URL instead:
//
//   .package(url: "https://github.com/your-org/sluice.git", branch: "main"),

import PackageDescription

let package = Package(
    name: "order-totals",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sluice", path: "../.."),
    ],
    targets: [
        // The handler, in a library so that tests can import it.
        .target(
            name: "OrderTotals",
            dependencies: [.product(name: "Sluice", package: "sluice")]
        ),
        // The consumer process: the whole `sluice` command line with your handler registered.
        .executableTarget(
            name: "order-totals",
            dependencies: [
                "OrderTotals",
                .product(name: "SluiceCLI", package: "sluice"),
            ]
        ),
        .testTarget(
            name: "OrderTotalsTests",
            dependencies: [
                "OrderTotals",
                .product(name: "Sluice", package: "sluice"),
            ]
        ),
    ]
)

for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + [.swiftLanguageMode(.v6)]
}
