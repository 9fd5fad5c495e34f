import Foundation
import Testing
@testable import BNN

/// `scripts/read_model.py`, the reader docs/model-format.md shows, against the library: a model is saved,
/// Python rebuilds its network from the file alone and estimates the mean class probabilities of one
/// input with 4,000 posterior samples, and the library's own estimate must agree within Monte Carlo error.
@Suite(.enabled(if: PythonSafeTensors.shouldRun, "python3 with numpy and safetensors is not installed (BNN_REQUIRE_PYTHON=1 makes this a failure)"))
struct ModelFilePythonTests {
    static let reader = PythonSafeTensors.script.deletingLastPathComponent().appendingPathComponent("read_model.py")
    static let samples = 4000

    /// Saves `model`, writes `input` (raw values, as `predict` on arrays takes them) as JSON, runs the
    /// reader, and compares its mean probabilities with the library's for the same input: the two
    /// independent estimates may differ by at most 5 standard errors of their difference,
    /// 5·√(s²_py/S + s²_swift/S) per class, with s the standard deviation of that class's probability
    /// over the samples (a 5σ bound: a false failure about once in 1.7 million comparisons).
    func compare(_ model: BayesianClassifier, input: [Float]) throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelURL = directory.appendingPathComponent("model.safetensors"), inputURL = directory.appendingPathComponent("input.json")
        try model.save(to: modelURL)
        try JSONEncoder().encode(input).write(to: inputURL)
        let result = try PythonSafeTensors.run([Self.reader.path, modelURL.path, inputURL.path, "--samples", "\(Self.samples)"])
        try #require(result.status == 0, "read_model.py failed: \(result.error)")
        let json = try #require(try JSONSerialization.jsonObject(with: result.output) as? [String: Any])
        let pythonMean = try #require(json["mean"] as? [Double]), pythonDeviation = try #require(json["std"] as? [Double])
        #expect(json["classes"] as? [String] == model.classNames)

        // The library's estimate: the same input through the recorded preprocessing, S sampled networks.
        let loaded = try BayesianClassifier.load(from: modelURL)
        let row = Tensor(shape: [1, input.count], values: input)
        loaded.preprocessing.standardize(row)
        var generator = RandomGenerator(seed: 11)
        let probabilities = Predictive(network: loaded.network).sampleProbabilities(row, samples: Self.samples, generator: &generator)
        let classes = loaded.network.classes
        #expect(pythonMean.count == classes)
        for c in 0..<classes {
            let values = (0..<Self.samples).map { Double(probabilities.pointer[$0 * classes + c]) }
            let mean = values.reduce(0, +) / Double(Self.samples)
            let deviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(Self.samples)).squareRoot()
            let tolerance = 5 * ((pythonDeviation[c] * pythonDeviation[c] + deviation * deviation) / Double(Self.samples)).squareRoot() + 1e-6
            #expect(abs(pythonMean[c] - mean) <= tolerance,
                    "class \(c): Python \(pythonMean[c]) vs Swift \(mean), tolerance \(tolerance)")
            // The noise must matter, or the comparison would not test the sampling.
            #expect(deviation > 1e-3, "class \(c): the sampled probabilities hardly vary (\(deviation))")
        }
        // `predict` on the raw array reports the same mean, within the same error.
        let answer = try #require(try loaded.predict([input], rule: .mean(threshold: 0.5), samples: Self.samples, generator: &generator).first)
        for c in 0..<classes {
            #expect(abs(Double(answer.mean[c]) - pythonMean[c]) <= 5 * pythonDeviation[c] * (2 / Double(Self.samples)).squareRoot() + 1e-6,
                    "predict's mean for class \(c): \(answer.mean[c]) vs Python \(pythonMean[c])")
        }
    }

    /// A trained table model with a deterministic layer between Bayesian ones; the input lies between two
    /// classes, where the posterior's spread shows in the probabilities.
    @Test func trainedTableModel() throws {
        let (points, labels) = gaussianBlobs(centres: [[0, 0, 0], [3, 0, 1], [0, 3, -1]], perClass: 60, spread: 1, seed: 3)
        let (training, validation) = try LabeledImages(features: points, labels: labels).stratifiedSplit(validationFraction: 0.25, seed: 2)
        let network = Sequential(inputShape: [3], layers: [
            BayesianDense(inputs: 3, outputs: 16), ReLU(), Dense(inputs: 16, outputs: 8), ReLU(), BayesianDense(inputs: 8, outputs: 3),
        ])
        var settings = TrainingConfiguration.default
        settings.epochs = 5
        settings.batchSize = 32
        settings.calibrationSamples = 30
        let model = try ClassifierTraining.train(network, configuration: settings, training: training, validation: validation,
                                                 classNames: ["a", "b", "c"], featureNames: ["u", "v", "w"])
        try compare(model, input: [1.5, 1.5, 0])
    }

    /// The baselines whose samples differ: Monte Carlo dropout (masks drawn per sample) and an ensemble
    /// (sample s from member s mod K), of Bayesian and of deterministic members; trained on the same table.
    @Test(arguments: [TrainingMethod.mcDropout, .ensemble])
    func baselineModels(method: TrainingMethod) throws {
        let (points, labels) = gaussianBlobs(centres: [[0, 0, 0], [3, 0, 1], [0, 3, -1]], perClass: 60, spread: 1, seed: 3)
        let (training, validation) = try LabeledImages(features: points, labels: labels).stratifiedSplit(validationFraction: 0.25, seed: 2)
        var settings = TrainingConfiguration.default
        settings.epochs = 5
        settings.batchSize = 32
        settings.hidden = 16
        settings.calibrationSamples = 30
        let variants = method == .ensemble
            ? [settings.with(method: .ensemble, members: 3), settings.with(method: .ensemble, members: 2, memberMethod: .bayes)]
            : [settings.with(method: .mcDropout, dropoutRate: 0.3)]
        for variant in variants {
            var generator = RandomGenerator(seed: 8)
            let network = try ClassifierTraining.makeNetwork(variant, inputShape: [3], classes: 3, generator: &generator)
            let model = try ClassifierTraining.train(network, configuration: variant, training: training, validation: validation,
                                                     classNames: ["a", "b", "c"], featureNames: ["u", "v", "w"])
            try compare(model, input: [1.5, 1.5, 0])
        }
    }

    /// An untrained convolutional model (Bayesian and deterministic convolutions, padding, pooling,
    /// flattening), its posterior wide enough that every sample differs.
    @Test func convolutionalModel() throws {
        let network = Sequential(inputShape: [1, 6, 6], layers: [
            BayesianConv2D(channels: 1, height: 6, width: 6, filters: 3, kernelSize: 3, padding: 1), ReLU(),
            MaxPool2D(channels: 3, height: 6, width: 6),
            Conv2D(channels: 3, height: 3, width: 3, filters: 2, kernelSize: 2, stride: 1), ReLU(),
            Flatten(), BayesianDense(inputs: 8, outputs: 3),
        ])
        var settings = TrainingConfiguration.default
        settings.initialSigma = 0.3
        var generator = RandomGenerator(seed: 4)
        NetworkBuilder.initialize(network, configuration: settings, generator: &generator)
        let model = BayesianClassifier(network: network, training: settings, classNames: ["x", "y", "z"],
                                       preprocessing: InputPreprocessing(kind: .image, shape: [1, 6, 6], resize: .fitAndPad))
        try compare(model, input: (0..<36).map { Float(($0 * 7) % 11) / 10 })
    }
}

