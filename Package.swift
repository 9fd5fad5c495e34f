// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-bnn",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BNN", targets: ["BNN"]),
        .executable(name: "bnn", targets: ["bnn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Portable SIMD kernels (GEMM, normal sampling) with run-time CPU dispatch; see DESIGN.md.
        .target(name: "CBNNKernels"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "BNN",
            dependencies: ["CBNNKernels", "CZlib"]
        ),
        .executableTarget(
            name: "bnn",
            dependencies: [
                "BNN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BNNTests", dependencies: ["BNN"]),
    ]
)
