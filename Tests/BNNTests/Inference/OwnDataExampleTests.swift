import Foundation
import Testing
@testable import BNN

/// The steps of `Examples/OwnData/main.swift` (three clusters of 2-D points, a user-built Bayesian
/// network, training, the calibrated rule, save, load, predict on arrays), checked on fresh points.
@Suite struct OwnDataExampleTests {
    static let centres: [[Float]] = [[0, 0], [4, 0], [2, 3.5]]

    /// The example's model, trained as the example trains it, saved and loaded back.
    static func trainedAndReloaded() throws -> (trained: BayesianClassifier, loaded: BayesianClassifier) {
        let (points, labels) = gaussianBlobs(centres: centres, perClass: 200, spread: 0.8, seed: 7)
        let (training, validation) = try LabeledImages(features: points, labels: labels).stratifiedSplit(validationFraction: 0.2, seed: 1)
        let network = Sequential(inputShape: [2], layers: [
            BayesianDense(inputs: 2, outputs: 32), ReLU(), BayesianDense(inputs: 32, outputs: 3),
        ])
        var settings = TrainingConfiguration.default
        settings.epochs = 40
        settings.batchSize = 32
        var epochs: [Int] = []
        let model = try ClassifierTraining.train(network, configuration: settings, training: training, validation: validation,
                                                 classNames: ["west", "east", "north"]) { progress in
            if let record = progress.record { epochs.append(record.epoch) }
        }
        #expect(epochs == Array(1...40), "progress reports every epoch's end")
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("own-data.safetensors")
        try model.save(to: file)
        return (model, try BayesianClassifier.load(from: file))
    }

    @Test func answersInsideTheClustersAndRefusesFarAway() throws {
        let (trained, model) = try Self.trainedAndReloaded()
        #expect(model.classNames == ["west", "east", "north"])
        #expect(model.preprocessing == trained.preprocessing && model.preprocessing.kind == .tabular)
        #expect(model.training.validationCount == 120)
        let calibration = try #require(model.calibration)
        let rule = try DecisionRule.make(kind: .calibrated, model: model)
        var generator = RandomGenerator(seed: 1)

        // Fresh points from the same clusters: nearly all answered, and answered right.
        let (inside, truth) = gaussianBlobs(centres: Self.centres, perClass: 100, spread: 0.8, seed: 99)
        let answers = try model.predict(inside, rule: rule, generator: &generator)
        let accepted = zip(answers, truth).filter { !$0.0.refused }
        let acceptedAccuracy = Double(accepted.filter { $0.0.prediction == $0.1 }.count) / Double(accepted.count)
        #expect(Double(accepted.count) / Double(inside.count) >= 0.85, "answered \(accepted.count) of \(inside.count) (calibrated coverage \(calibration.coverage))")
        #expect(acceptedAccuracy >= 0.93, "accuracy on the answered points \(acceptedAccuracy)")

        // Points far from every cluster, in every direction: all should be refused; not all are yet.
        let far: [[Float]] = (0..<16).flatMap { step -> [[Float]] in
            let angle = Float(step) * .pi / 8
            return [20, 40].map { radius in [2 + radius * cos(angle), 1 + radius * sin(angle)] }
        }
        let farAnswers = try model.predict(far, rule: rule, generator: &generator)
        let answeredFar = zip(far, farAnswers).filter { !$0.1.refused }.map { "\($0.0) → \($0.1.answer)" }
        #expect(farAnswers.contains { $0.answer == "I don't know" }, "no far point refused")
        // Tables train with outlier exposure (points beyond the data in every direction), so that the ReLU
        // network's linear extrapolation does not leave it sure of a cluster far out along that cluster's side.
        #expect(answeredFar.count * 10 <= far.count, "far points answered: \(answeredFar)")
        print("far points refused: \(far.count - answeredFar.count) of \(far.count); answered: \(answeredFar)")
    }

    @Test func mismatchedDataIsANamedError() throws {
        let network = Sequential(inputShape: [2], layers: [BayesianDense(inputs: 2, outputs: 3)])
        let wrongWidth = try LabeledImages(features: [[1, 2, 3]], labels: [0])
        let wrongLabel = try LabeledImages(features: [[1, 2]], labels: [3])
        func message(_ set: LabeledImages, names: [String]? = nil) -> String? {
            do { _ = try ClassifierTraining.train(network, configuration: .default, training: set, validation: nil, classNames: names); return nil }
            catch { return "\(error)" }
        }
        #expect(message(wrongWidth)?.contains("training examples have 3 values each, the network reads 2") == true)
        #expect(message(wrongLabel)?.contains("training label 0 is 3; the network has 3 classes") == true)
        #expect(message(try LabeledImages(features: [[1, 2]], labels: [0]), names: ["a"])?.contains("1 class names") == true)
        let model = BayesianClassifier(network: network, training: .default)
        var generator = RandomGenerator(seed: 0)
        #expect(throws: DataSetError.self) { try model.predict([[1]], rule: .mean(threshold: 0.5), generator: &generator) }
    }
}
