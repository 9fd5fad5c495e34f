import Foundation
import Testing
@testable import BNN

/// The model files in the fuzzers' seed corpus (Fuzz/Corpus/model/) are tiny valid models, an MLP and a
/// CNN, so that the fuzzer starts from the format this library writes. Run with BNN_WRITE_FUZZ_SEEDS=1 to
/// write them again after a change to the model file.
@Suite struct FuzzSeedModelTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus/model")

    /// 4 inputs → 3 hidden → 2 classes, and a 1×4×4 → conv 2×3×3 → pool → 2 classes CNN, each calibrated.
    static func seeds() -> [(name: String, model: BayesianClassifier)] {
        var generator = RandomGenerator(seed: 7)
        let calibration = Calibration(score: .mutualInformation, threshold: 0.2, coverage: 0.9, samples: 3,
                                      validationCount: 10, acceptedAccuracy: 0.8)
        let mlp = NetworkBuilder.mlp(inputs: 4, hidden: 3, classes: 2)
        let cnn = Sequential(inputShape: [1, 4, 4], layers: [
            BayesianConv2D(channels: 1, height: 4, width: 4, filters: 2, kernelSize: 3, padding: 1), ReLU(),
            MaxPool2D(channels: 2, height: 4, width: 4), Flatten(), BayesianDense(inputs: 8, outputs: 2),
        ])
        var training = TrainingConfiguration.default
        training.hidden = 3
        training.calibrationSamples = 3
        var cnnTraining = TrainingConfiguration.defaultCNN
        cnnTraining.calibrationSamples = 3
        NetworkBuilder.initialize(mlp, configuration: training, generator: &generator)
        NetworkBuilder.initialize(cnn, configuration: cnnTraining, generator: &generator)
        return [
            ("tiny-mlp.safetensors", BayesianClassifier(network: mlp, training: training, calibration: calibration, classNames: ["a", "b"])),
            ("tiny-cnn.safetensors", BayesianClassifier(network: cnn, training: cnnTraining, calibration: calibration)),
        ]
    }

    @Test func seedModelsLoad() throws {
        for (name, model) in Self.seeds() {
            let url = Self.folder.appendingPathComponent(name)
            if ProcessInfo.processInfo.environment["BNN_WRITE_FUZZ_SEEDS"] == "1" { try model.save(to: url) }
            let loaded = try BayesianClassifier.load(from: url)
            #expect(loaded.network.architecture == model.network.architecture, "\(name)")
            #expect(try Data(contentsOf: url).count < 4096, "\(name) should stay a small seed")
        }
    }
}
