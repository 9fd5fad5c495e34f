import Foundation
import Testing
@testable import BNN

/// The preprocessing a model file records: standardisation by hand, range checks, and a file round trip
/// (old files without it read as MNIST models).
@Suite struct InputPreprocessingTests {
    @Test func standardisationByHand() {
        // Feature 0: 1, 2, 3 (mean 2, sample sd 1); feature 1: constant 5 (sd taken as 1).
        let rows = Tensor(shape: [3, 2], values: [1, 5, 2, 5, 3, 5])
        let preprocessing = InputPreprocessing.tabular(featureNames: ["a", "b"], fittedTo: rows)
        #expect(preprocessing.means == [2, 5] && preprocessing.standardDeviations == [1, 1])
        preprocessing.standardize(rows)
        #expect(rows.array == [-1, 0, 0, 0, 1, 0])
        #expect(preprocessing.invalidSetting == nil)
    }

    @Test func badSettingsAreNamed() {
        var table = InputPreprocessing.tabular(featureNames: ["a"], fittedTo: Tensor(shape: [2, 1], values: [0, 2]))
        table.standardDeviations = [0]
        #expect(table.invalidSetting?.contains("standard deviations") == true)
        #expect(InputPreprocessing(kind: .image, shape: [2, 4, 4]).invalidSetting?.contains("1 or 3 channels") == true)
        #expect(InputPreprocessing(kind: .image, shape: [16]).invalidSetting != nil)
        #expect(InputPreprocessing(kind: .tabular, shape: [3]).invalidSetting?.contains("mean") == true)
    }

    @Test func modelFileRoundTripAndOldFiles() throws {
        let network = NetworkBuilder.mlp(inputs: 3, hidden: 4, classes: 2)
        let preprocessing = InputPreprocessing.tabular(featureNames: ["x", "y", "z"],
                                                       fittedTo: Tensor(shape: [2, 3], values: [0, 1, 2, 4, 5, 6]))
        let model = BayesianClassifier(network: network, training: .default, classNames: ["no", "yes"], preprocessing: preprocessing)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bnn-preprocessing-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(to: url)
        let loaded = try BayesianClassifier.load(from: url)
        #expect(loaded.preprocessing == preprocessing && loaded.classNames == ["no", "yes"])

        // A file written before preprocessing was recorded (no such key) is an MNIST model.
        var file = try SafeTensorsFile.read(from: url)
        file.metadata["preprocessing"] = nil
        let mnist = BayesianClassifier(network: NetworkBuilder.mlp(inputs: 784, hidden: 4, classes: 10), training: .default)
        try mnist.save(to: url)
        var mnistFile = try SafeTensorsFile.read(from: url)
        mnistFile.metadata["preprocessing"] = nil
        #expect(try BayesianClassifier.load(mnistFile, path: "old.safetensors").preprocessing == .mnist)
        // A recorded shape that does not fit the network is refused, naming the key.
        file.metadata["preprocessing"] = #"{"kind":"image","shape":[1,2,2],"digit_normalization":false}"#
        #expect(throws: ModelFileError.self) { try BayesianClassifier.load(file, path: "bad.safetensors") }
    }

    /// A runner-up joins a calibrated answer above max(0.2, 1.2/K): 0.2 for 10 classes, 0.4 for 3.
    @Test func runnerUpThresholdGrowsForFewClasses() {
        #expect(DecisionRule.runnerUpThreshold(classes: 10) == 0.2)
        #expect(abs(DecisionRule.runnerUpThreshold(classes: 3) - 0.4) < 1e-6)
        #expect(abs(DecisionRule.runnerUpThreshold(classes: 2) - 0.6) < 1e-6)
    }

    /// Outlier exposure for feature vectors: every outlier lies 1.5 to 5 radii from the batch's centre.
    @Test func vectorExposureLiesBeyondTheBatch() {
        let batch = Tensor(shape: [4, 2], values: [0, 0, 2, 0, 0, 2, 2, 2])  // centre (1, 1), radius √2
        let outliers = Tensor(shape: [50, 2])
        var generator = RandomGenerator(seed: 3)
        SyntheticOutliers.exposure(from: batch.pointer, rows: 4, shape: [2], into: outliers.pointer, count: 50, generator: &generator)
        for row in 0..<50 {
            let distance = ((outliers[row, 0] - 1) * (outliers[row, 0] - 1) + (outliers[row, 1] - 1) * (outliers[row, 1] - 1)).squareRoot()
            #expect(distance >= 1.5 * Float(2).squareRoot() - 1e-4 && distance <= 5 * Float(2).squareRoot() + 1e-4, "row \(row): \(distance)")
        }
    }
}
