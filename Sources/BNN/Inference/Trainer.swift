import Foundation

/// One row of the training curve, stored in the model file.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    /// −ELBO per training example: `dataTerm + klTerm`.
    public var loss: Double
    /// Mean negative log-likelihood of the minibatch labels under the sampled network.
    public var dataTerm: Double
    /// The KL term per example as weighted in the loss (`klWeight · KL / N`, or `KL / B` for the seed recipe).
    public var klTerm: Double
    /// Accuracy of the sampled training forward passes.
    public var trainAccuracy: Double
    /// Under outlier exposure: the mean cross-entropy of the synthetic non-digits to the uniform
    /// distribution (its minimum, ln 10 = 2.303, means they get uniform probabilities); nil otherwise.
    public var outlierTerm: Double? = nil
    /// Accuracy of the predictive mean (`TrainingConfiguration.validationSamples` samples) on the validation split, if there is one.
    public var validationAccuracy: Double?
    public var learningRate: Double
    public var seconds: Double

    /// The training curve of an ensemble from its members' curves (each as long as the first): per epoch
    /// the members' mean of every term and accuracy (a term or accuracy only when every member has it),
    /// and the sum of their seconds, so that the curve's seconds add up to the whole training time.
    public static func combining(_ histories: [[EpochRecord]]) -> [EpochRecord] {
        guard let first = histories.first else { return [] }
        return first.indices.map { epoch in
            let records = histories.compactMap { $0.indices.contains(epoch) ? $0[epoch] : nil }
            func mean(_ value: (EpochRecord) -> Double?) -> Double? {
                let values = records.compactMap(value)
                return values.count == records.count ? values.reduce(0, +) / Double(values.count) : nil
            }
            return EpochRecord(epoch: first[epoch].epoch, loss: mean { $0.loss }!, dataTerm: mean { $0.dataTerm }!, klTerm: mean { $0.klTerm }!,
                               trainAccuracy: mean { $0.trainAccuracy }!, outlierTerm: mean { $0.outlierTerm },
                               validationAccuracy: mean { $0.validationAccuracy }, learningRate: first[epoch].learningRate,
                               seconds: records.reduce(0) { $0 + $1.seconds })
        }
    }
}

/// Progress of a training run, reported to the caller after every `reportEvery` batches and at each epoch end.
public struct TrainingProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var batch: Int
    public var batches: Int
    public var dataTerm: Double
    public var trainAccuracy: Double
    public var examplesPerSecond: Double
    public var secondsRemaining: Double
    /// Set at the end of an epoch.
    public var record: EpochRecord?
    /// While an ensemble trains: the member being trained (from 1) and the number of members.
    public var member: Int? = nil
    public var members: Int? = nil
}

/// Fits a Bayesian network's posterior by stochastic variational inference: minibatches, the ELBO with a
/// closed-form KL (or, for a scale-mixture prior, its one-draw Monte Carlo estimate, whose draws the trainer
/// makes before each optimiser step: `MeanFieldNormal.drawKLNoise`), reparameterised gradients, and Adam.
/// Each step is forward → loss → backward → `Optimizer.step`, the optimiser adding the KL term's gradient
/// to the posterior blocks.
///
/// The loss per step is `−(1/B) Σ_b log p(y_b | x_b, w) + κ · KL(q ‖ p)` with `κ = klWeight / N`
/// (per-example ELBO, Blundell et al. 2015) or `κ = 1 / B` for the tutorial's per-batch KL.
public final class Trainer {
    public let network: Sequential
    public let configuration: TrainingConfiguration
    public private(set) var history: [EpochRecord] = []
    private let optimizer: Optimizer
    private var generator: RandomGenerator

    public init(network: Sequential, configuration: TrainingConfiguration, generator: RandomGenerator) {
        self.network = network
        self.configuration = configuration
        self.generator = generator
        self.optimizer = Adam(network: network, learningRate: configuration.learningRate)
    }

    /// Runs `configuration.epochs` epochs over `training`, reporting progress. `validation` (optional) is
    /// scored after each epoch. Under outlier exposure, `outlierPool` (rows of the network's input size:
    /// real non-examples, such as letters for a digit model) supplies each minibatch's outliers (or the
    /// configuration's `pooledOutliersPerBatch` of them), drawn at random and changed by the configuration's
    /// augmentation; the others are made from the batch's own examples (`SyntheticOutliers.exposure`).
    public func train(
        on training: LabeledImages, validation: LabeledImages?, outlierPool: Tensor? = nil, reportEvery: Int = 50,
        progress: (TrainingProgress) -> Void = { _ in }
    ) {
        let count = training.count
        let features = network.inputCount
        precondition(training.valuesPerImage == features, "training images have \(training.valuesPerImage) values, the network expects \(features)")
        precondition(outlierPool.map { $0.columns == features && $0.rows > 0 } ?? true,
                     "outlier pool rows must be non-empty with \(features) values each")
        let batchSize = min(configuration.batchSize, count)
        let batches = (count + batchSize - 1) / batchSize
        let klScale: Float = configuration.klScaling == .perExample
            ? configuration.klWeight / Float(count) : configuration.klWeight / Float(batchSize)
        var order = Array(0..<count)
        // Outlier exposure: outliers follow the examples in every minibatch (rows size..<size + outliers), first
        // those drawn from the pool, then those made from the batch's own examples.
        let outliers = configuration.outliersPerBatch
        let pooled = outlierPool == nil ? 0 : configuration.pooledOutliersPerBatch
        let outlierShape = SyntheticOutliers.exampleShape(of: training, networkShape: network.inputShape)
        let outlierScale = outliers > 0 ? (configuration.outlierWeight ?? 0) / Float(outliers) : 0
        let classes = network.classes
        let batchImages = Tensor(shape: [batchSize + outliers, features])
        // The elastic control points of a minibatch's augmented images (`augment`), one row per image.
        let augmentationControls = configuration.augmentation.flatMap { augmentation in
            SyntheticOutliers.isImage(outlierShape)
                ? Tensor(shape: [batchSize + pooled, max(1, augmentation.elasticControlCount(height: outlierShape[1], width: outlierShape[2]))])
                : nil
        }
        var batchLabels = [Int](repeating: 0, count: batchSize)
        var logitsGradient = Tensor(shape: [batchSize + outliers, classes])
        let started = Date()
        var examplesSeen = 0
        let sampledKLBlocks = network.posteriorBlocks.filter { !$0.prior.hasClosedFormKL }

        for epoch in 0..<configuration.epochs {
            let epochStart = Date()
            generator.shuffle(&order)
            var dataSum = 0.0, outlierSum = 0.0, correct = 0, seen = 0
            for batch in 0..<batches {
                let start = batch * batchSize
                let size = min(batchSize, count - start)
                let images = size == batchSize ? batchImages : Tensor(shape: [size + outliers, features])
                for row in 0..<size {
                    let source = order[start + row]
                    training.copyImage(source, into: images.pointer + row * features)
                    batchLabels[row] = training.labels[source]
                }
                if let outlierPool {
                    for row in size..<size + pooled {
                        let source = generator.integer(below: outlierPool.rows)
                        (images.pointer + row * features).update(from: outlierPool.pointer + source * features, count: features)
                    }
                }
                if let augmentation = configuration.augmentation, let augmentationControls {
                    augment(images, rows: size + pooled, shape: outlierShape, by: augmentation, controls: augmentationControls,
                            generator: &generator)
                }
                if pooled < outliers {
                    SyntheticOutliers.exposure(from: images.pointer, rows: size, shape: outlierShape,
                                               into: images.pointer + (size + pooled) * features, count: outliers - pooled,
                                               generator: &generator)
                }
                if logitsGradient.rows != size + outliers { logitsGradient = Tensor(shape: [size + outliers, classes]) }
                optimizer.learningRate = configuration.learningRate(epoch: epoch, progress: Double(batch) / Double(batches))

                let logits = network.forward(images, mode: .train, generator: &generator)
                let (loss, batchCorrect) = batchLabels.withUnsafeBufferPointer {
                    SoftmaxCrossEntropy.lossAndGradient(logits: logits.pointer, rows: size, classes: classes, labels: $0.baseAddress!,
                                                        scale: 1 / Float(size), gradient: logitsGradient.pointer)
                }
                if outliers > 0 {
                    outlierSum += SoftmaxCrossEntropy.uniformTargetLossAndGradient(
                        logits: logits.pointer + size * classes, rows: outliers, classes: classes, scale: outlierScale,
                        gradient: logitsGradient.pointer + size * classes) / Double(outliers)
                }
                network.backward(logitsGradient)
                for block in sampledKLBlocks { block.drawKLNoise(generator: &generator) }
                optimizer.step(klScale: klScale)

                dataSum += loss
                correct += batchCorrect
                seen += size
                examplesSeen += size
                if (batch + 1) % reportEvery == 0 && batch + 1 < batches {
                    let elapsed = Date().timeIntervalSince(started)
                    let rate = Double(examplesSeen) / max(elapsed, 1e-9)
                    let remaining = Double(configuration.epochs * count - examplesSeen) / rate
                    progress(TrainingProgress(epoch: epoch + 1, epochs: configuration.epochs, batch: batch + 1, batches: batches,
                                              dataTerm: dataSum / Double(seen), trainAccuracy: Double(correct) / Double(seen),
                                              examplesPerSecond: rate, secondsRemaining: remaining, record: nil))
                }
            }
            let epochSeconds = Date().timeIntervalSince(epochStart)
            let kl = network.klDivergence() * Double(klScale)
            var validationAccuracy: Double? = nil
            if let validation, validation.count > 0 {
                validationAccuracy = Predictive(network: network).forcedAccuracy(on: validation, samples: configuration.validationSamples,
                                                                                   generator: &generator)
            }
            let record = EpochRecord(epoch: epoch + 1, loss: dataSum / Double(seen) + kl, dataTerm: dataSum / Double(seen),
                                     klTerm: kl, trainAccuracy: Double(correct) / Double(seen),
                                     outlierTerm: outliers > 0 ? outlierSum / Double(batches) : nil,
                                     validationAccuracy: validationAccuracy,
                                     learningRate: Double(optimizer.learningRate), seconds: epochSeconds)
            history.append(record)
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double(examplesSeen) / max(elapsed, 1e-9)
            progress(TrainingProgress(epoch: epoch + 1, epochs: configuration.epochs, batch: batches, batches: batches,
                                      dataTerm: record.dataTerm, trainAccuracy: record.trainAccuracy, examplesPerSecond: rate,
                                      secondsRemaining: Double(configuration.epochs * count - examplesSeen) / rate, record: record))
        }
    }

    /// Changes the first `rows` images of `images` (each of `shape`, [channels, height, width]) by
    /// `augmentation`: the draws in row order from `generator`, as one image after another would make them,
    /// then the images themselves in parallel (an image's change depends only on its draws). `controls`
    /// holds a row of elastic control points per image.
    private func augment(_ images: Tensor, rows: Int, shape: [Int], by augmentation: ImageAugmentation, controls: Tensor,
                         generator: inout RandomGenerator) {
        let (channels, height, width) = (shape[0], shape[1], shape[2])
        let features = channels * height * width
        let controlCount = augmentation.elasticControlCount(height: height, width: width)
        let changes = (0..<rows).map { row in
            augmentation.draw(height: height, width: width, controls: controls.pointer + row * controlCount, generator: &generator)
        }
        let (pixels, points) = (SendablePointer(images.pointer), SendablePointer(controls.pointer))
        Parallel.forChunks(of: rows, minimumChunk: 8) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: features) { scratch in
                for row in range {
                    augmentation.apply(changes[row], to: pixels.pointer + row * features, channels: channels, height: height,
                                       width: width, controls: points.pointer + row * controlCount, scratch: scratch.baseAddress!)
                }
            }
        }
    }
}
