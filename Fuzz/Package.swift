// swift-tools-version:6.0
// libFuzzer targets for every parser of swift-bnn. Build and run them with `scripts/fuzz.sh` (see
// docs/fuzzing.md); the script passes `-sanitize=fuzzer,address` as one flag, which every target and
// dependency is compiled with.
import PackageDescription

/// One executable per parser, each linking libFuzzer through `FuzzDriver`.
func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzDriver"] + products.map { .product(name: $0, package: "swift-bnn") })
}

let package = Package(
    name: "swift-bnn-fuzz",
    dependencies: [.package(name: "swift-bnn", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        fuzzTarget("FuzzIDX", ["BNN", "BNNData"]),
        fuzzTarget("FuzzGzip", ["BNN", "BNNData"]),
        fuzzTarget("FuzzPNG", ["BNN", "BNNData"]),
        fuzzTarget("FuzzPGM", ["BNN", "BNNData"]),
        fuzzTarget("FuzzModel", ["BNN"]),
        fuzzTarget("FuzzRequest", ["BNN", "BNNServer"]),
    ]
)
