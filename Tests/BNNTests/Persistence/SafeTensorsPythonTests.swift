import Foundation
import Testing
@testable import BNN

/// Runs `scripts/check_safetensors.py` (and `scripts/read_model.py`) with python3; the tests are skipped
/// where python3, numpy or safetensors are missing, unless `BNN_REQUIRE_PYTHON=1` (CI installs them and
/// sets it), which makes a missing package a failure.
enum PythonSafeTensors {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent() // Persistence
        .deletingLastPathComponent() // BNNTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent() // package root
        .appendingPathComponent("scripts/check_safetensors.py")

    /// Whether the tests must run (and fail when python3 or its packages are missing): `BNN_REQUIRE_PYTHON=1`.
    static var isRequired: Bool { ProcessInfo.processInfo.environment["BNN_REQUIRE_PYTHON"] == "1" }
    /// Whether the Python tests run: the packages are installed, or they are required.
    static var shouldRun: Bool { isAvailable || isRequired }

    static let isAvailable: Bool = {
        guard let result = try? run(["-c", "import numpy, safetensors.numpy"]) else { return false }
        return result.status == 0
    }()

    /// Runs python3 with `arguments`, returning the exit status, stdout and stderr.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: Data, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read before waiting so that a full pipe cannot block the child.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, outputData, String(decoding: errorData, as: UTF8.self))
    }
}

@Suite(.enabled(if: PythonSafeTensors.shouldRun, "python3 with numpy and safetensors is not installed (BNN_REQUIRE_PYTHON=1 makes this a failure)"))
struct SafeTensorsPythonTests {
    @Test func pythonReadsWhatSwiftWrites() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("swift.safetensors")
        let weights: [Float] = [0.1, -2.5, 1e-38, 3.4e38, 0, 7.25]
        let file = SafeTensorsFile(
            tensors: [
                (name: "layers.0.weight.mu", tensor: Tensor(shape: [2, 3], values: weights)),
                (name: "layers.0.bias", tensor: Tensor(shape: [3], values: [1, 2, 3])),
                (name: "scalar", tensor: Tensor(shape: [], values: [-4])),
                (name: "empty", tensor: Tensor(shape: [0, 5])),
            ],
            metadata: ["format": "swift-bnn", "version": "1"])
        try file.write(to: url)

        let result = try PythonSafeTensors.run([PythonSafeTensors.script.path, url.path])
        #expect(result.status == 0, "python failed: \(result.error)")
        let json = try #require(try JSONSerialization.jsonObject(with: result.output) as? [String: Any])
        #expect(json["metadata"] as? [String: String] == ["format": "swift-bnn", "version": "1"])
        let tensors = try #require(json["tensors"] as? [String: [String: Any]])
        #expect(Set(tensors.keys) == Set(file.names))
        for (name, tensor) in file.tensors {
            let entry = try #require(tensors[name])
            #expect(entry["dtype"] as? String == "float32")
            #expect(entry["shape"] as? [Int] == tensor.shape)
            let values = try #require(entry["values"] as? [Double])
            #expect(values.map { Float($0).bitPattern } == tensor.array.map(\.bitPattern), "\(name)")
            let sum = try #require(entry["sum"] as? Double)
            // numpy sums pairwise, so the last bits may differ from a left-to-right sum.
            let expected = tensor.array.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - expected) <= 1e-12 * max(1, abs(expected)), "\(name): \(sum) vs \(expected)")
        }
    }

    @Test func swiftReadsWhatPythonWrites() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("python.safetensors")
        let result = try PythonSafeTensors.run([PythonSafeTensors.script.path, "--write", url.path])
        #expect(result.status == 0, "python failed: \(result.error)")

        let file = try SafeTensorsFile.read(from: url)
        #expect(file.metadata == ["format": "swift-bnn", "origin": "python"])
        #expect(Set(file.names) == ["layers.0.weight.mu", "layers.0.bias", "double", "half", "scalar", "empty"])
        #expect(file["layers.0.weight.mu"]?.shape == [2, 3])
        #expect(file["layers.0.weight.mu"]?.array == [-1.25, -0.75, -0.25, 0.25, 0.75, 1.25])
        #expect(file["layers.0.bias"]?.array == [1e-7, -3.0e38, 0.1])
        #expect(file["double"]?.shape == [1, 2] && file["double"]?.array == [Float(0.1 as Double), 2])
        // 6e-8 in float16 rounds to the subnormal 1 × 2⁻²⁴.
        #expect(file["half"]?.array == [1, -2.5, 65504, 0x1p-24])
        #expect(file["scalar"]?.shape == [] && file["scalar"]?.array == [7])
        #expect(file["empty"]?.shape == [0, 4] && file["empty"]?.count == 0)
    }
}
