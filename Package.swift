// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-bnn",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BNN", targets: ["BNN"]),
        // Data sets and file codecs (IDX, MNIST/notMNIST, PNG/PGM, download + SHA-256), kept out of the core.
        .library(name: "BNNData", targets: ["BNNData"]),
        // The web demo's library, a product so that the fuzz targets (Fuzz/) can link its request parser.
        .library(name: "BNNServer", targets: ["BNNServer"]),
        .executable(name: "bnn", targets: ["bnn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Already in the graph through Hummingbird; named for the server's connection handler (NIOCore,
        // NIOHTTPTypes) and the server tests (NIOEmbedded's channel, a graceful stop of the live server).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.65.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
    ],
    targets: [
        // Portable SIMD kernels (GEMM, normal sampling) with run-time CPU dispatch; see DESIGN.md.
        .target(name: "CBNNKernels"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The core: tensors, layers, inference, uncertainty, evaluation, persistence; it knows no data set.
        .target(
            name: "BNN",
            dependencies: ["CBNNKernels"]
        ),
        .target(name: "BNNData", dependencies: ["BNN", "CZlib"]),
        // SVG charts and the self-contained HTML report.
        .target(name: "BNNReport", dependencies: ["BNN", "BNNData"]),
        // The web demo; kept out of the core library so that `import BNN` stays light.
        .target(
            name: "BNNServer",
            dependencies: [
                "BNN", "BNNData", "BNNReport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "bnn",
            dependencies: [
                "BNN", "BNNData", "BNNReport", "BNNServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The README's Swift example: the library on a program's own arrays (`swift run own-data-example`).
        .executableTarget(name: "own-data-example", dependencies: ["BNN"], path: "Examples/OwnData"),
        .testTarget(name: "BNNTests", dependencies: ["BNN", "BNNData"]),
        .testTarget(name: "BNNDataTests", dependencies: ["BNNData", "BNN"]),
        .testTarget(name: "BNNReportTests", dependencies: ["BNNReport", "BNN", "BNNData"]),
        // The router is driven in process and the live server through FoundationNetworking: no
        // HummingbirdTesting, whose HTTP client would bring BoringSSL into every test build.
        .testTarget(
            name: "BNNServerTests",
            dependencies: [
                "BNNServer", "BNN", "BNNData",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
