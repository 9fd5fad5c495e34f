import Foundation
import Testing
@testable import BNN

/// Outlier exposure: the uniform-target loss, the tile-shuffled non-digits, and the trainer's use of them.
@Suite struct OutlierExposureTests {
    /// Cross-entropy to the uniform distribution: ln C at equal logits with a zero gradient; the gradient
    /// against finite differences elsewhere.
    @Test func uniformTargetLossAndGradient() {
        let zero = [Float](repeating: 0, count: 4)
        var gradient = [Float](repeating: 9, count: 4)
        let loss = SoftmaxCrossEntropy.uniformTargetLossAndGradient(logits: zero, rows: 1, classes: 4, scale: 1, gradient: &gradient)
        #expect(abs(loss - log(4.0)) < 1e-6)
        #expect(gradient.allSatisfy { abs($0) < 1e-7 })

        // One logit far above the others: the loss is about that logit's excess times (1 − 1/C).
        let peaked: [Float] = [20, 0, 0, 0]
        let peakedLoss = SoftmaxCrossEntropy.uniformTargetLossAndGradient(logits: peaked, rows: 1, classes: 4, scale: 1, gradient: &gradient)
        #expect(abs(peakedLoss - 15) < 1e-3)
        #expect(abs(gradient[0] - 0.75) < 1e-5 && abs(gradient[1] + 0.25) < 1e-5)

        let logits = randomTensor([3, 5], seed: 12, scale: 2)
        let analytic = Tensor(shape: [3, 5])
        _ = SoftmaxCrossEntropy.uniformTargetLossAndGradient(logits: logits.pointer, rows: 3, classes: 5, scale: 0.5,
                                                             gradient: analytic.pointer)
        let scratch = Tensor(shape: [3, 5])
        func value() -> Double {
            SoftmaxCrossEntropy.uniformTargetLossAndGradient(logits: logits.pointer, rows: 3, classes: 5, scale: 1, gradient: scratch.pointer)
        }
        for index in 0..<logits.count {
            let numeric = centralDifference(value, in: logits, at: index) * 0.5
            #expect(abs(analytic.pointer[index] - numeric) < 2e-3, "logit \(index): \(analytic.pointer[index]) vs \(numeric)")
        }
    }

    /// Every 7×7 square of the output is a square of the input, and each input square is used once.
    @Test func tileShuffleRearrangesWholeSquares() {
        let source = (0..<784).map(Float.init)
        var destination = [Float](repeating: -1, count: 784)
        var generator = RandomGenerator(seed: 3)
        SyntheticOutliers.tileShuffled(source, into: &destination, side: 28, tile: 7, generator: &generator)
        var used = Set<Int>()
        for tile in 0..<16 {
            let (row, column) = (tile / 4 * 7, tile % 4 * 7)
            // Which source square starts at the value found in this square's corner?
            let corner = Int(destination[row * 28 + column])
            let origin = (corner / 28 / 7) * 4 + (corner % 28) / 7
            #expect(corner / 28 % 7 == 0 && corner % 28 % 7 == 0, "square \(tile) does not start at a square corner")
            used.insert(origin)
            for y in 0..<7 {
                for x in 0..<7 {
                    #expect(destination[(row + y) * 28 + column + x] == Float(corner + y * 28 + x))
                }
            }
        }
        #expect(used.count == 16)
        #expect(destination != source, "seed 3 happens to give the identity order")
    }

    /// One epoch through `Trainer` with outlier exposure against the same steps by hand: digits with
    /// their labels, then `batchSize / 16` tile-shuffled copies of the batch's first digits with the
    /// uniform target, weighted `outlierWeight` over their mean.
    @Test func trainerAddsUniformTargetOutliers() throws {
        let configuration = handCheckedConfiguration(outlierWeight: 0.7)
        #expect(configuration.outliersPerBatch == 2)
        let count = 40, features = 784
        let images = randomTensor([count, features], seed: 4)
        let labels = (0..<count).map { $0 % 3 }
        let data = LabeledImages(images: images, labels: labels, rows: 28, columns: 28)
        let networks = try identicalNetworks(configuration, count: 2, classes: 3)
        let (network, twin) = (networks[0], networks[1])
        let trainer = Trainer(network: network, configuration: configuration, generator: RandomGenerator(seed: 9))
        trainer.train(on: data, validation: nil)
        let outlierTerm = try #require(trainer.history.first?.outlierTerm)

        let outlierMean = trainOneEpochByHand(twin, configuration: configuration, images: images, labels: labels, classes: 3,
                                              seed: 9, side: 28, tile: 7)
        let batches = (count + 31) / 32
        #expect(abs(outlierTerm - outlierMean) < 1e-5 * outlierMean * Double(batches))
        for ((name, a), (_, b)) in zip(network.namedParameters, twin.namedParameters) {
            var worst: Float = 0
            for i in 0..<a.value.count {
                worst = max(worst, abs(a.value.pointer[i] - b.value.pointer[i]) / (1e-3 + abs(b.value.pointer[i])))
            }
            #expect(worst < 1e-4, "\(name): \(worst)")
        }
    }

    /// With a pool, the outliers are the pool's rows: a network trained against a pool of one image gives
    /// that image nearly uniform probabilities and the recorded outlier term falls towards ln C, while the
    /// same training without outlier exposure leaves the network sure of a class there.
    @Test func trainerDrawsOutliersFromThePool() throws {
        var configuration = handCheckedConfiguration(outlierWeight: 1)
        configuration.epochs = 30
        configuration.learningRate = 1e-2
        let count = 96, features = 784, classes = 3
        // Three classes: ink across the top, middle or bottom third. The outlier is the top third's left
        // half only: without exposure to it, a class-0 image.
        let images = Tensor(shape: [count, features])
        for row in 0..<count {
            let band = row % classes
            for y in (band * 9)..<(band * 9 + 9) { for x in 0..<28 { images.pointer[row * features + y * 28 + x] = 1 } }
        }
        let data = LabeledImages(images: images, labels: (0..<count).map { $0 % classes }, rows: 28, columns: 28)
        let outlier = Tensor(shape: [1, features])
        for y in 0..<9 { for x in 0..<14 { outlier.pointer[y * 28 + x] = 1 } }

        func trained(pool: Tensor?, weight: Float, poolShare: Float? = nil) throws -> (largest: Float, outlierTerm: Double?) {
            var settings = configuration
            settings.outlierWeight = weight
            settings.outlierPoolShare = poolShare
            let network = try identicalNetworks(settings, count: 1, classes: classes)[0]
            let trainer = Trainer(network: network, configuration: settings, generator: RandomGenerator(seed: 5))
            trainer.train(on: data, validation: nil, outlierPool: pool)
            var generator = RandomGenerator(seed: 6)
            let sampled = Predictive(network: network).sampleProbabilities(outlier, samples: 20, generator: &generator)
            var mean = [Float](repeating: 0, count: classes)
            for s in 0..<20 { for c in 0..<classes { mean[c] += sampled.pointer[s * classes + c] / 20 } }
            return (mean.max()!, trainer.history.last?.outlierTerm)
        }
        let pooled = try trained(pool: outlier, weight: 1)
        let unexposed = try trained(pool: nil, weight: 0)
        #expect(pooled.largest < 0.45, "largest probability \(pooled.largest) on the pool's image")
        let term = try #require(pooled.outlierTerm)
        #expect(abs(term - log(Double(classes))) < 0.05, "outlier term \(term)")
        #expect(unexposed.largest > 0.8, "without outlier exposure: largest probability \(unexposed.largest)")
        // Half from the pool, half made from the batch: the pool's image is still learned as a non-example,
        // and none of the pool at all leaves it a class-0 image.
        let halfPooled = try trained(pool: outlier, weight: 1, poolShare: 0.5)
        #expect(halfPooled.largest < 0.45, "half from the pool: largest probability \(halfPooled.largest)")
        let nonePooled = try trained(pool: outlier, weight: 1, poolShare: 0)
        #expect(nonePooled.largest > 0.8, "none from the pool: largest probability \(nonePooled.largest)")
    }

    /// `outlierPoolShare` splits each minibatch's outliers between the pool and the batch's own examples.
    @Test func poolShareSplitsTheOutliers() {
        var configuration = TrainingConfiguration.defaultCNN
        configuration.batchSize = 128
        #expect(configuration.outliersPerBatch == 8 && configuration.pooledOutliersPerBatch == 8)
        for (share, pooled) in [(Float(1), 8), (0.5, 4), (0.3, 2), (0, 0)] {
            configuration.outlierPoolShare = share
            #expect(configuration.pooledOutliersPerBatch == pooled, "share \(share)")
            #expect(configuration.invalidSetting == nil)
        }
        for share in [Float(-0.1), 1.5, .nan] {
            configuration.outlierPoolShare = share
            #expect(configuration.invalidSetting?.contains("outlierPoolShare") == true, "share \(share)")
        }
    }

    /// Model files written before outlier exposure existed (no key) decode with it off.
    @Test func configurationWithoutOutlierWeightDecodes() throws {
        var json = try String(decoding: JSONEncoder().encode(TrainingConfiguration.default), as: UTF8.self)
        #expect(!json.contains("outlierWeight"))
        json = json.replacingOccurrences(of: "\"seed\":0", with: "\"seed\":3")
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8))
        #expect(decoded.outlierWeight == nil && decoded.outliersPerBatch == 0 && decoded.seed == 3)
        var exposed = TrainingConfiguration.defaultCNN
        exposed.outlierWeight = 0.5
        let roundTrip = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(exposed))
        #expect(roundTrip == exposed && roundTrip.outliersPerBatch == 8)
    }
}
