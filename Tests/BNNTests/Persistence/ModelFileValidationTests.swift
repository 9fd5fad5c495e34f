import Foundation
import Testing
@testable import BNN

/// A model file is checked before anything is allocated from it: every shape (checked products, a bound,
/// agreement with the stored tensors) and every metadata value, each refused with a one-line error
/// naming the file.
@Suite struct ModelFileValidationTests {
    /// A small valid model (784 → 8 → 10) with a calibrated rule.
    static func model() -> BayesianClassifier {
        var generator = RandomGenerator(seed: 1)
        let network = NetworkBuilder.mlp(inputs: 784, hidden: 8, classes: 10)
        for case let layer as BayesianDense in network.layers { layer.initialize(.he, initialSigma: 0.05, generator: &generator) }
        let calibration = Calibration(score: .mutualInformation, threshold: 0.1, coverage: 0.975, samples: 10,
                                      validationCount: 100, acceptedAccuracy: 0.99)
        return BayesianClassifier(network: network, training: .default, calibration: calibration)
    }

    /// The model's file with metadata `key` replaced by `value`.
    static func file(_ key: String, _ value: String) throws -> SafeTensorsFile {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        try model().save(to: url)
        var file = try SafeTensorsFile.read(from: url)
        file.metadata[key] = value
        return file
    }

    /// The message of the error loading `file`, or nil when it loads.
    static func loadError(_ file: SafeTensorsFile) -> String? {
        do {
            _ = try BayesianClassifier.load(file, path: "crafted.safetensors")
            return nil
        } catch {
            return "\(error)"
        }
    }

    static let dense = #"{"kind":"bayesian_dense","inputs":%d,"outputs":%d}"#

    /// The audit's huge layers: 784 → 2^40 and 2^32 → 2^32 (which overflowed `Tensor.init`), and more.
    @Test(arguments: [
        ("[" + String(format: dense, 784, 1 << 40) + "]", "[784]"),
        ("[" + String(format: dense, 1 << 32, 1 << 32) + "]", "[4294967296]"),
        ("[" + String(format: dense, 784, 1 << 20) + "," + #"{"kind":"relu"}"# + "," + String(format: dense, 1 << 20, 10) + "]", "[784]"),
        ("[" + String(format: dense, 784, 8) + "]", "[4294967296, 4294967296, 4294967296]"),
        (#"[{"kind":"bayesian_conv2d","channels":1,"height":2000000000,"width":2000000000,"filters":2,"kernelSize":1}]"#, "[784]"),
        (#"[{"kind":"bayesian_conv2d","channels":1,"height":28,"width":28,"filters":1073741824,"kernelSize":5,"padding":2}]"#, "[1, 28, 28]"),
    ])
    func hugeShapesAreRefusedBeforeAllocating(_ architecture: String, _ inputShape: String) throws {
        var file = try Self.file("architecture", architecture)
        file.metadata["input_shape"] = inputShape
        let message = try #require(Self.loadError(file))
        #expect(message.hasPrefix("crafted.safetensors: "), "\(message)")
        #expect(!message.contains("\n"))
    }

    /// A layer within the bound that needs more values than the file stores is refused too.
    @Test func architectureMustAgreeWithTheStoredTensors() throws {
        let file = try Self.file("architecture", "[" + String(format: Self.dense, 784, 100_000) + "]")
        let message = try #require(Self.loadError(file))
        #expect(message.contains("the file stores"), "\(message)")
    }

    @Test func elementCountIsChecked() {
        #expect(Tensor.elementCount(of: [2, 3]) == 6)
        #expect(Tensor.elementCount(of: []) == 1)
        #expect(Tensor.elementCount(of: [0, Int.max]) == 0)
        #expect(Tensor.elementCount(of: [1 << 32, 1 << 32]) == nil)
        #expect(Tensor.elementCount(of: [Int.max / 2]) == nil)
        #expect(Tensor.elementCount(of: [-1]) == nil)
    }

    /// Every metadata value is range-checked at load (these trapped in `Predictive` or
    /// `Metrics+Selective`, or killed `bnn serve` on its first request).
    @Test(arguments: [
        ("calibration", #""samples":10"#, #""samples":0"#, "samples is 0"),
        ("calibration", #""samples":10"#, #""samples":-5"#, "samples is -5"),
        ("calibration", #""samples":10"#, #""samples":100000000"#, "samples is 100000000"),
        ("calibration", #""threshold":0.1"#, #""threshold":1e39"#, "calibration"),
        ("calibration", #""coverage":0.975"#, #""coverage":7"#, "coverage is 7"),
        ("calibration", #""acceptedAccuracy":0.99"#, #""acceptedAccuracy":-1"#, "acceptedAccuracy"),
        ("training", #""calibrationSamples":100"#, #""calibrationSamples":0"#, "calibrationSamples is 0"),
        ("training", #""calibrationCoverage":0.975"#, #""calibrationCoverage":7"#, "calibrationCoverage is 7"),
        ("training", #""calibrationCoverage":0.975"#, #""calibrationCoverage":0"#, "calibrationCoverage is 0"),
        ("training", #""hidden":1024"#, #""hidden":1000000000"#, "hidden is 1000000000"),
        ("training", #""batchSize":128"#, #""batchSize":0"#, "batchSize is 0"),
        ("training", #""priorSigma":1"#, #""priorSigma":-1"#, "priorSigma"),
        ("training", #""learningRate":0.002"#, #""learningRate":0"#, "learningRate"),
    ])
    func metadataValuesAreRangeChecked(_ key: String, _ valid: String, _ bad: String, _ words: String) throws {
        let saved = try Self.file("unused", "")
        let text = try #require(saved.metadata[key])
        #expect(text.contains(valid), "fixture lacks \(valid): \(text)")
        let file = try Self.file(key, text.replacingOccurrences(of: valid, with: bad))
        let message = try #require(Self.loadError(file))
        #expect(message.hasPrefix("crafted.safetensors: "), "\(message)")
        #expect(message.contains(words), "\(message)")
        #expect(Self.loadError(saved) == nil)
    }

    /// A valid model still loads, and its values pass the same checks.
    @Test func validModelPasses() throws {
        #expect(TrainingConfiguration.default.invalidSetting == nil)
        #expect(TrainingConfiguration.seed.invalidSetting == nil)
        #expect(TrainingConfiguration.defaultCNN.invalidSetting == nil)
        #expect(Self.model().calibration?.invalidSetting == nil)
        #expect(Self.loadError(try Self.file("unused", "")) == nil)
    }
}
