import Foundation
import Testing
@testable import BNN

/// The baselines (`TrainingMethod`): their networks, how `Predictive` samples them, training, saving and
/// loading, and every decision rule on them.
@Suite struct TrainingMethodTests {
    /// A small configuration of `method` (hidden 16, 30 epochs, batch 32).
    static func settings(_ method: TrainingMethod, members: Int? = nil, memberMethod: TrainingMethod? = nil) -> TrainingConfiguration {
        var settings = TrainingConfiguration.default
        settings.hidden = 16
        settings.epochs = 30
        settings.batchSize = 32
        settings.learningRate = 0.01
        settings.calibrationSamples = 20
        return settings.with(method: method, members: members, memberMethod: memberMethod)
    }

    /// An initialised network of `settings` for `[features]` inputs and 3 classes.
    static func network(_ settings: TrainingConfiguration, inputShape: [Int] = [5], seed: UInt64 = 3) throws -> Sequential {
        var generator = RandomGenerator(seed: seed)
        return try ClassifierTraining.makeNetwork(settings, inputShape: inputShape, classes: 3, generator: &generator)
    }

    /// Three Gaussian blobs in 3 dimensions, split 75/25 (stratified).
    static func blobs() throws -> (training: LabeledImages, validation: LabeledImages) {
        let (points, labels) = gaussianBlobs(centres: [[0, 0, 0], [3, 0, 1], [0, 3, -1]], perClass: 60, spread: 0.7, seed: 3)
        return try LabeledImages(features: points, labels: labels).stratifiedSplit(validationFraction: 0.25, seed: 2)
    }

    static let methods: [(String, TrainingConfiguration)] = [
        ("bayes", settings(.bayes)), ("deterministic", settings(.deterministic)), ("mc-dropout", settings(.mcDropout)),
        ("ensemble of deterministic", settings(.ensemble, members: 3)),
        ("ensemble of bayes", settings(.ensemble, members: 2, memberMethod: .bayes)),
    ]

    @Test func eachMethodBuildsItsLayers() throws {
        func kinds(_ settings: TrainingConfiguration, _ shape: [Int] = [5]) throws -> [String] { try Self.network(settings, inputShape: shape).layers.map(\.kind) }
        #expect(try kinds(Self.settings(.bayes)) == ["bayesian_dense", "relu", "bayesian_dense"])
        #expect(try kinds(Self.settings(.deterministic)) == ["dense", "relu", "dense"])
        #expect(try kinds(Self.settings(.mcDropout)) == ["dense", "relu", "dropout", "dense"])
        var cnn = Self.settings(.mcDropout)
        cnn.architecture = .cnn
        #expect(try kinds(cnn, [1, 8, 8]) == ["conv2d", "relu", "dropout", "max_pool2d", "conv2d", "relu", "dropout", "max_pool2d",
                                             "flatten", "dense", "relu", "dropout", "dense"])
        cnn.method = .deterministic
        #expect(try kinds(cnn, [1, 8, 8]) == ["conv2d", "relu", "max_pool2d", "conv2d", "relu", "max_pool2d", "flatten", "dense", "relu", "dense"])
        let ensemble = try Self.network(Self.settings(.ensemble, members: 3, memberMethod: .mcDropout))
        let members = try #require((ensemble.layers.first as? Ensemble)?.members)
        #expect(ensemble.layers.count == 1 && members.count == 3)
        #expect(members.allSatisfy { $0.layers.map(\.kind) == ["dense", "relu", "dropout", "dense"] })
        // Independently initialised: the members' first weights differ.
        let first = members.map { ($0.layers[0] as! Dense).weight.value.array }
        #expect(first[0] != first[1] && first[1] != first[2])
        // The Bayesian MLP of the configuration is the library's `mlp` (the default model's network).
        let old = NetworkBuilder.mlp(inputs: 5, hidden: 16, classes: 3, estimator: .local, priorSigma: 1)
        #expect(try Self.network(Self.settings(.bayes)).architecture == old.architecture)
    }

    /// `with(method:)` sets one sample for a deterministic network and one per member for an ensemble of them.
    @Test func sampleCountsFollowTheMethod() {
        #expect(Self.settings(.deterministic).calibrationSamples == 1)
        #expect(Self.settings(.ensemble, members: 4).calibrationSamples == 4)
        #expect(Self.settings(.mcDropout).calibrationSamples == 20)
        #expect(Self.settings(.ensemble, members: 4, memberMethod: .bayes).calibrationSamples == 20)
    }

    /// A network without randomness gives the same sample every time: its `.mean` forward pass; the mutual
    /// information is exactly 0, and refinement never draws more.
    @Test func deterministicNetworkIsComputedOnce() throws {
        let network = try Self.network(Self.settings(.deterministic))
        let images = randomTensor([40, 5], seed: 4)
        let predictive = Predictive(network: network, chunkSize: 7)
        #expect(predictive.distinctSampleCount == 1 && !network.isStochasticInPrediction)
        let probabilities = predictive.sampleProbabilities(images, samples: 0..<6, seed: 1)
        var unused = RandomGenerator(seed: 0)
        let expected = Tensor(shape: [40, 3])
        Predictive.softmax(network.forward(images, mode: .mean, generator: &unused), into: expected.pointer)
        for s in 0..<6 {
            #expect(Array(UnsafeBufferPointer(start: probabilities.pointer + s * 120, count: 120)) == expected.array, "sample \(s)")
        }
        let summary = PredictiveSummary(probabilities: probabilities)
        #expect(summary.mutualInformation.array.allSatisfy { $0 == 0 })
        let entropies = summary.scores(.entropy).sorted()
        var generator = RandomGenerator(seed: 2)
        let decided = predictive.decide(images, rule: .entropy(threshold: entropies[20]), samples: 6,
                                        refinement: .standard(samples: 6), generator: &generator)
        #expect(decided.sampleCounts.allSatisfy { $0 == 6 })
    }

    /// Sample s of an ensemble is member s mod K's sample s / K, under the member's own key.
    @Test func ensembleSamplesAreStratifiedByMember() throws {
        for settings in [Self.settings(.ensemble, members: 3), Self.settings(.ensemble, members: 3, memberMethod: .bayes)] {
            let network = try Self.network(settings)
            let members = (network.layers[0] as! Ensemble).members
            let images = randomTensor([11, 5], seed: 6)
            let predictive = Predictive(network: network)
            #expect(predictive.distinctSampleCount == (settings.ensembleMemberMethod == .bayes ? nil : 3))
            let range = 2..<10
            let probabilities = predictive.sampleProbabilities(images, samples: range, seed: 5)
            let keys = SampleKeys(seed: 5)
            for s in range {
                let k = s % 3, j = s / 3
                let own = Predictive(network: members[k]).sampleProbabilities(images, samples: j..<(j + 1), seed: keys.member(k))
                let got = Array(UnsafeBufferPointer(start: probabilities.pointer + (s - range.lowerBound) * 33, count: 33))
                #expect(got == own.array, "\(settings.ensembleMemberMethod): sample \(s)")
            }
        }
    }

    /// Each method trains, calibrates, saves, loads, and answers every rule the same way after loading.
    @Test(arguments: methods.map(\.0))
    func trainSaveLoadPredict(method name: String) throws {
        let settings = try #require(Self.methods.first { $0.0 == name }?.1)
        let (training, validation) = try Self.blobs()
        let classes = ["a", "b", "c"]
        let preprocessing = InputPreprocessing.tabular(featureNames: ["u", "v", "w"], fittedTo: training.images)
        let model = try ClassifierTraining.train(settings, training: training, validation: validation, classNames: classes,
                                                 preprocessing: preprocessing)
        let calibration = try #require(model.calibration)
        #expect(calibration.samples == settings.calibrationSamples)
        #expect(model.history.count == settings.epochs)
        if settings.trainingMethod == .deterministic {
            // The mutual information of a network without randomness is 0 on every input: it is not even
            // a candidate (an AUROC of 0.5 could otherwise win and the rule would refuse nothing).
            var generator = RandomGenerator(seed: 2)
            let candidates = ThresholdCalibration.calibrateWithCandidates(model: model, validation: validation, samples: 1, coverage: 0.95,
                                                                         generator: &generator).candidates
            #expect(!candidates.isEmpty && !candidates.contains { $0.score == .mutualInformation })
            #expect(calibration.score != .mutualInformation)
        }
        var generator = RandomGenerator(seed: 1)
        let accuracy = Predictive(network: model.network).forcedAccuracy(on: validation, samples: calibration.samples, generator: &generator)
        #expect(accuracy > 0.9, "\(name): validation accuracy \(accuracy)")

        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try model.save(to: url)
        let loaded = try BayesianClassifier.load(from: url)
        #expect(loaded.training == model.training && loaded.training.trainingMethod == settings.trainingMethod)
        #expect(loaded.network.architecture == model.network.architecture)
        if settings.trainingMethod == .ensemble {
            let names = try SafeTensorsFile.read(from: url).tensors.map(\.name)
            #expect(names.contains("layers.0.members.1.layers.2.weight") || names.contains("layers.0.members.1.layers.2.weight.mu"), "\(names)")
        }
        for kind in DecisionRuleKind.allCases {
            let threshold: Float? = kind == .entropy ? 0.5 : kind == .mutualInformation ? 0.02 : nil
            let rule = try DecisionRule.make(kind: kind, model: model, threshold: threshold)
            var first = RandomGenerator(seed: 4), second = RandomGenerator(seed: 4)
            let before = model.predict(validation.images, rule: rule, samples: calibration.samples, generator: &first)
            let after = loaded.predict(validation.images, rule: try DecisionRule.make(kind: kind, model: loaded, threshold: threshold),
                                       samples: calibration.samples, generator: &second)
            #expect(before == after, "\(name), rule \(kind)")
        }
    }

    /// The convolutional network trains with the point-weight methods too.
    @Test(arguments: [TrainingMethod.deterministic, .mcDropout])
    func convolutionalBaselines(method: TrainingMethod) throws {
        var settings = Self.settings(method)
        settings.architecture = .cnn
        settings.hidden = 8
        settings.epochs = 1
        let images = randomTensor([24, 64], seed: 8)
        let data = LabeledImages(images: images, labels: (0..<24).map { $0 % 3 }, rows: 8, columns: 8)
        let model = try ClassifierTraining.train(settings, training: data, validation: data, classNames: ["x", "y", "z"],
                                                 preprocessing: .greyImages(height: 8, width: 8))
        #expect(model.calibration != nil && model.history.count == 1 && model.history[0].loss.isFinite)
    }

    @Test func configurationRecordsTheMethod() throws {
        // A file written before methods existed has no method: it is the Bayesian posterior.
        let encoded = try JSONEncoder().encode(TrainingConfiguration.default)
        #expect(!String(decoding: encoded, as: UTF8.self).contains("method"))
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: encoded).trainingMethod == .bayes)
        let ensemble = Self.settings(.ensemble, members: 3, memberMethod: .mcDropout)
        let text = String(decoding: try JSONEncoder().encode(ensemble), as: UTF8.self)
        #expect(text.contains("\"method\":\"ensemble\"") && text.contains("\"memberMethod\":\"mc-dropout\"") && text.contains("\"members\":3"))
        #expect(ensemble.invalidSetting == nil)
        var bad = ensemble
        bad.members = 1
        #expect(bad.invalidSetting?.contains("members") == true)
        bad = Self.settings(.deterministic)
        bad.members = 3
        #expect(bad.invalidSetting?.contains("only an ensemble") == true)
        bad = Self.settings(.mcDropout)
        bad.dropoutRate = 1
        #expect(bad.invalidSetting?.contains("dropoutRate") == true)
        bad = ensemble
        bad.memberMethod = .ensemble
        #expect(bad.invalidSetting?.contains("memberMethod") == true)
        // Member seeds differ from each other and from the ensemble's.
        let seeds = (0..<3).map { ensemble.memberConfiguration($0).seed }
        #expect(Set(seeds + [ensemble.seed]).count == 4)
        #expect(ensemble.memberConfiguration(1).trainingMethod == .mcDropout && ensemble.memberConfiguration(1).members == nil)
    }

    /// A damaged ensemble or dropout layer in a model file is one error naming the problem, never a trap.
    @Test func badArchitecturesAreRefused() throws {
        let network = try Self.network(Self.settings(.ensemble, members: 2, memberMethod: .mcDropout))
        let model = BayesianClassifier(network: network, training: Self.settings(.ensemble, members: 2, memberMethod: .mcDropout))
        let file = try SafeTensorsFile.read(data: try model.save(), name: "m")
        _ = try BayesianClassifier.load(file, path: "m")
        let architecture = try #require(file.metadata["architecture"])
        for (from, to, expected) in [("\"rate\":0.25", "\"rate\":0", "rate"), ("\"rate\":0.25", "\"rate\":1.5", "rate"),
                                     ("\"kind\":\"relu\"", "\"kind\":\"ensemble\"", "ensemble"),
                                     ("\"outputs\":3", "\"outputs\":4", "parameter")] {
            var damaged = file
            damaged.metadata["architecture"] = architecture.replacingOccurrences(of: from, with: to)
            #expect(damaged.metadata["architecture"] != architecture)
            #expect(throws: ModelFileError.self, "\(to)") { try BayesianClassifier.load(damaged, path: "m") }
            do { _ = try BayesianClassifier.load(damaged, path: "m") } catch { #expect("\(error)".contains(expected), "\(error)") }
        }
    }
}

extension BayesianClassifier {
    /// The model file's bytes (saved to a temporary file and read back).
    func save() throws -> Data {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bnn-method-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try save(to: url)
        return try Data(contentsOf: url)
    }
}
