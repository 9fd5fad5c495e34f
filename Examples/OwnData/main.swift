// swift-bnn on your own arrays: three clusters of 2-D points, and a Bayesian network that names the
// cluster of a point inside them and says "I don't know" when its sampled networks disagree.
// Run with `swift run -c release own-data-example` (a few seconds).
import BNN
import Foundation

// 1. The data: 200 points around each of three centres, drawn from a fixed seed; 20% held out.
var random = RandomGenerator(seed: 7)
let centres: [[Float]] = [[0, 0], [4, 0], [2, 3.5]]
var points: [[Float]] = [], labels: [Int] = []
for (label, centre) in centres.enumerated() {
    for _ in 0..<200 {
        points.append([centre[0] + 0.8 * random.normal(), centre[1] + 0.8 * random.normal()])
        labels.append(label)
    }
}
let (training, validation) = try LabeledImages(features: points, labels: labels).stratifiedSplit(validationFraction: 0.2, seed: 1)

// 2. The network: any stack of the library's layers; here 2 → 32 (ReLU) → 3 with Bayesian weights.
let network = Sequential(inputShape: [2], layers: [
    BayesianDense(inputs: 2, outputs: 32), ReLU(), BayesianDense(inputs: 32, outputs: 3),
])

// 3. Train (features are standardised for you), printing progress; the refusal threshold is calibrated
//    on the held-out points so that about 97.5% of points like them are answered.
var settings = TrainingConfiguration.default
settings.epochs = 40
settings.batchSize = 32
let model = try ClassifierTraining.train(network, configuration: settings, training: training, validation: validation,
                                         classNames: ["west", "east", "north"]) { progress in
    if let record = progress.record, record.epoch % 10 == 0 {
        print("epoch \(record.epoch): loss \(String(format: "%.3f", record.loss)), validation accuracy \(record.validationAccuracy ?? 0)")
    }
}

// 4. Save, load, and ask: three points inside the clusters, two far away from them (refused: tables train
//    with synthetic points beyond the data, so the network does not extrapolate one cluster forever).
let file = FileManager.default.temporaryDirectory.appendingPathComponent("own-data-example.safetensors")
try model.save(to: file)
let loaded = try BayesianClassifier.load(from: file)
let rule = try DecisionRule.make(kind: .calibrated, model: loaded)
var generator = RandomGenerator(seed: 1)
let questions: [[Float]] = [[0, 0], [4, 0.3], [2, 3.4], [2, -40], [30, -30]]
for (point, result) in zip(questions, try loaded.predict(questions, rule: rule, generator: &generator)) {
    print("\(point) → \(result.answer)")
}
try? FileManager.default.removeItem(at: file)
