@testable import BNN

/// One training epoch of `network`, written out step by step the way `Trainer` is documented to run it
/// (unfused, from the generator `seed`): shuffle, minibatches of `configuration.batchSize`, the scheduled
/// learning rate, the sampled forward pass, the mean cross-entropy gradient, backward, the KL gradient
/// scaled by `klWeight / N` (for a scale-mixture prior, with the KL draws made after backward, block by
/// block), one Adam step. With `augmentation` each minibatch's images (`side` rows high) are changed first,
/// in order. Under outlier exposure each minibatch also carries
/// `configuration.outliersPerBatch` tile-shuffled copies of its first digits (squares `tile` pixels wide
/// in `side × side` images) with the uniform target at weight `outlierWeight` over their count.
/// Returns the mean over minibatches of the outliers' mean cross-entropy to the uniform distribution.
@discardableResult
func trainOneEpochByHand(
    _ network: Sequential, configuration: TrainingConfiguration, images: Tensor, labels: [Int], classes: Int,
    seed: UInt64, side: Int = 0, tile: Int = 0
) -> Double {
    let count = images.rows, features = images.columns, batchSize = configuration.batchSize
    let outliers = configuration.outliersPerBatch
    var generator = RandomGenerator(seed: seed)
    // Every parameter as a point parameter: Adam's plain update, with the blocks' chain rule and KL
    // gradient applied by hand before it (the unfused reference for the fused step).
    let optimizer = Adam(parameters: network.layers.flatMap(\.parameters), learningRate: configuration.learningRate)
    var order = Array(0..<count)
    generator.shuffle(&order)
    let klScale = configuration.klWeight / Float(count)
    let batches = (count + batchSize - 1) / batchSize
    var outlierSum = 0.0
    for batch in 0..<batches {
        let rows = Array(order[(batch * batchSize)..<min(count, batch * batchSize + batchSize)])
        let x = Tensor(shape: [rows.count + outliers, features])
        for (r, source) in rows.enumerated() { for c in 0..<features { x[r, c] = images[source, c] } }
        if let augmentation = configuration.augmentation {
            precondition(side > 0, "augmentation needs the images' side")
            let scratch = Tensor(shape: [features])
            for r in 0..<rows.count {
                augmentation.apply(to: x.pointer + r * features, channels: 1, height: side, width: features / side,
                                   scratch: scratch.pointer, generator: &generator)
            }
        }
        for o in 0..<outliers {
            SyntheticOutliers.tileShuffled(x.pointer + o * features, into: x.pointer + (rows.count + o) * features,
                                           side: side, tile: tile, generator: &generator)
        }
        optimizer.learningRate = configuration.learningRate(epoch: 0, progress: Double(batch) / Double(batches))
        let logits = network.forward(x, mode: .train, generator: &generator)
        let gradient = Tensor(shape: [rows.count + outliers, classes])
        let batchLabels = rows.map { labels[$0] }
        _ = batchLabels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(logits: logits.pointer, rows: rows.count, classes: classes, labels: $0.baseAddress!,
                                                scale: 1 / Float(rows.count), gradient: gradient.pointer)
        }
        if outliers > 0 {
            let weight = configuration.outlierWeight ?? 0
            outlierSum += SoftmaxCrossEntropy.uniformTargetLossAndGradient(
                logits: logits.pointer + rows.count * classes, rows: outliers, classes: classes, scale: weight / Float(outliers),
                gradient: gradient.pointer + rows.count * classes) / Double(outliers)
        }
        network.backward(gradient)
        for block in network.posteriorBlocks {
            block.drawKLNoise(generator: &generator)  // the scale mixture's KL draws (nothing for a Normal prior)
            block.completeRhoGradient()
            block.accumulateKLGradient(scale: klScale)
        }
        optimizer.step(klScale: 0)
        network.parametersDidChange()
    }
    return outlierSum / Double(batches)
}

/// One epoch of a 16-unit MLP in minibatches of 32 under outlier exposure at `outlierWeight`: the setting
/// `Trainer` is checked against `trainOneEpochByHand` in.
func handCheckedConfiguration(outlierWeight: Float) -> TrainingConfiguration {
    var configuration = TrainingConfiguration.default
    configuration.hidden = 16
    configuration.epochs = 1
    configuration.batchSize = 32
    configuration.outlierWeight = outlierWeight
    return configuration
}

/// `count` networks of `configuration` for 28×28 inputs and `classes` classes, each built from the same
/// seed, so with the same initial weights.
func identicalNetworks(_ configuration: TrainingConfiguration, count: Int, classes: Int) throws -> [Sequential] {
    try (0..<count).map { _ in
        var generator = RandomGenerator(seed: 1)
        return try ClassifierTraining.makeNetwork(configuration, inputShape: [784], classes: classes, generator: &generator)
    }
}
