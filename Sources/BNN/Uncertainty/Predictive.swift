import Foundation

/// Monte Carlo samples of the posterior predictive distribution: for each input, the class probabilities
/// of S networks drawn from the posterior.
///
/// The fast path (DESIGN.md, "Prediction with S samples"): when the first layer is a `MomentLayer`, the mean
/// and standard deviation of its outputs are computed once per input and only the noise is drawn per
/// sample; the rest of the network runs once per sample with local reparameterisation. For every input
/// this gives exactly the distribution of sampling whole networks (samples of different inputs are
/// independent instead of sharing weights, which no per-input summary can see). `wholeNetworks` turns
/// the fast path off and draws one weight sample per network and chunk, as the tutorial did.
public struct Predictive {
    public let network: Sequential
    /// Sample whole weight matrices (one network shared by a chunk of inputs) instead of the fast path.
    public var wholeNetworks: Bool
    /// Inputs processed together (bounds memory: about `chunkSize × hidden × 16` bytes).
    public var chunkSize: Int

    public init(network: Sequential, wholeNetworks: Bool = false, chunkSize: Int = 1000) {
        self.network = network
        self.wholeNetworks = wholeNetworks
        self.chunkSize = chunkSize
    }

    /// Class probabilities `[samples, count, classes]` (sample-major) for the `count` inputs in `images`
    /// (`[count, inputCount]`).
    public func sampleProbabilities(_ images: Tensor, samples: Int, generator: inout RandomGenerator) -> Tensor {
        precondition(samples > 0, "samples must be positive, got \(samples)")
        let count = images.rows
        let features = network.inputCount
        precondition(images.count == count * features, "images \(images.shape) do not have \(features) values each")
        let classes = network.classes
        let result = Tensor(shape: [samples, count, classes])
        let layers = network.layers
        let fastPath = !wholeNetworks && layers.first is MomentLayer

        var start = 0
        while start < count {
            let size = min(chunkSize, count - start)
            let chunk = Tensor(shape: [size, features])
            chunk.pointer.update(from: images.pointer + start * features, count: size * features)
            if fastPath, let first = layers.first as? MomentLayer {
                let hiddenShape = [size] + first.outputShape(for: network.inputShape)
                let mean = Tensor(shape: hiddenShape), std = Tensor(shape: hiddenShape)
                first.outputMoments(chunk, mean: mean, standardDeviation: std)
                let activation = Tensor(shape: hiddenShape)
                for sample in 0..<samples {
                    generator.fillNormal(activation)
                    Elementwise.affineNoise(mean: mean.pointer, std: std.pointer, noise: activation.pointer,
                                            into: activation.pointer, count: activation.count)
                    var output = activation
                    for layer in layers.dropFirst() { output = layer.forward(output, mode: .sample, generator: &generator) }
                    Self.softmax(output, into: result.pointer + (sample * count + start) * classes)
                }
            } else {
                for sample in 0..<samples {
                    let logits = network.forward(chunk, mode: wholeNetworks ? .sampleWeights : .sample, generator: &generator)
                    Self.softmax(logits, into: result.pointer + (sample * count + start) * classes)
                }
            }
            start += size
        }
        return result
    }

    /// Writes the softmax of each row of `logits` to `destination`.
    static func softmax(_ logits: Tensor, into destination: UnsafeMutablePointer<Float>) {
        let rows = logits.rows, classes = logits.columns
        SoftmaxCrossEntropy.logSoftmax(logits.pointer, into: destination, rows: rows, classes: classes)
        for i in 0..<rows * classes { destination[i] = Foundation.exp(destination[i]) }
    }

    /// The accuracy of the arg-max of the mean predictive probability.
    public func forcedAccuracy(on data: LabeledImages, samples: Int, generator: inout RandomGenerator) -> Double {
        let probabilities = sampleProbabilities(data.images, samples: samples, generator: &generator)
        let count = data.count, classes = network.classes
        var correct = 0
        var mean = [Float](repeating: 0, count: classes)
        for i in 0..<count {
            for c in 0..<classes { mean[c] = 0 }
            for s in 0..<samples {
                let row = probabilities.pointer + (s * count + i) * classes
                for c in 0..<classes { mean[c] += row[c] }
            }
            var best = 0
            for c in 1..<classes where mean[c] > mean[best] { best = c }
            if best == data.labels[i] { correct += 1 }
        }
        return Double(correct) / Double(max(count, 1))
    }
}
