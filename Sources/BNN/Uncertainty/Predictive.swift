import CBNNKernels
import Foundation

/// Monte Carlo samples of the posterior predictive distribution: for each input, the class probabilities
/// of S networks drawn from the posterior.
///
/// The fast path (DESIGN.md, "Prediction with S samples"), for networks of dense Bayesian layers: when the
/// first layer is a `MomentLayer`, the mean and standard deviation of its outputs are computed once per
/// input and only the noise is drawn per sample (one vector per sample, rotated by a random offset per
/// input: `rotatedNoise`); the rest of the network runs once per sample with local reparameterisation.
/// For every input this gives exactly the distribution of sampling whole networks (samples of different
/// inputs are nearly independent instead of sharing weights, which no per-input summary can see).
/// `wholeNetworks` turns the fast path off and draws one weight sample per network and chunk, as the
/// tutorial did; networks with Bayesian convolutions are always sampled that way (see
/// `prefersWholeNetworks`).
///
/// For the tutorial's shape (moment layer → ReLU → `BayesianDense` with at most 16 outputs) each sample
/// is one fused kernel per row (`bnn_fused_sample_mlp`): noise, affine, ReLU, the second layer's moments,
/// its noise and softmax without writing the hidden activations, split over the cores by rows. It draws
/// the same Normal streams and offsets, in the same order, as the layer-by-layer path, so the two agree
/// to rounding.
public struct Predictive {
    public let network: Sequential
    /// Sample whole weight matrices (one network shared by a chunk of inputs) instead of the fast path.
    public var wholeNetworks: Bool
    /// Inputs processed together (bounds memory: about `chunkSize × hidden × 16` bytes).
    public var chunkSize: Int
    /// Use the fused kernel when the network has its shape. Turning it off runs the layer-by-layer path
    /// with the same draws, which checks the kernel.
    public var fusedKernel = true

    /// The most posterior samples per input that model files and the command line may ask for (10,000):
    /// scores settle long before (100 is the default), and larger counts only cost memory and time.
    public static let maximumSamples = 10_000

    /// The bytes `sampleProbabilities` allocates for its result (`samples × count × classes` floats), or
    /// nil when that overflows: lets a caller refuse a run that cannot fit before it starts.
    public static func resultBytes(samples: Int, count: Int, classes: Int) -> Int? {
        Tensor.elementCount(of: [samples, count, classes]).map { $0 * MemoryLayout<Float>.stride }
    }

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
        let sampleWholeNetworks = wholeNetworks || Self.prefersWholeNetworks(network)
        let fastPath = !sampleWholeNetworks && layers.first is MomentLayer

        var start = 0
        while start < count {
            let size = min(chunkSize, count - start)
            let chunk = Tensor(shape: [size, features])
            chunk.pointer.update(from: images.pointer + start * features, count: size * features)
            if fastPath, let first = layers.first as? MomentLayer {
                let hiddenShape = [size] + first.outputShape(for: network.inputShape)
                let mean = Tensor(shape: hiddenShape), std = Tensor(shape: hiddenShape)
                first.outputMoments(chunk, mean: mean, standardDeviation: std)
                if fusedKernel, let second = fusedSecondLayer(hidden: mean.columns, classes: classes) {
                    Self.sampleFused(mean: mean, deviation: std, second: second, samples: samples, count: count, start: start,
                                     into: result, generator: &generator)
                    start += size
                    continue
                }
                let activation = Tensor(shape: hiddenShape)
                let perInput = mean.count / max(size, 1)
                let noise = Tensor(shape: [perInput])
                for sample in 0..<samples {
                    let key = generator.next()
                    NormalSampler.fill(noise.pointer, count: perInput, key: key)
                    Self.rotatedNoise(mean: mean, std: std, noise: noise.pointer, key: key, into: activation)
                    var output = activation
                    for layer in layers.dropFirst() { output = layer.forward(output, mode: .sample, generator: &generator) }
                    Self.softmax(output, into: result.pointer + (sample * count + start) * classes)
                }
            } else {
                let mode: ForwardMode = sampleWholeNetworks ? .sampleWeights : .sample
                for sample in 0..<samples {
                    let logits = network.forward(chunk, mode: mode, generator: &generator)
                    Self.softmax(logits, into: result.pointer + (sample * count + start) * classes)
                }
            }
            start += size
        }
        return result
    }

    /// The first layer's sampled pre-activations of one sample, `mean + std ⊙ ε_r` for each row r, where
    /// ε_r is the sample's noise vector `noise` rotated by a uniform offset of its own
    /// (`bnn_noise_offset(key, r, n)`): ε_r[j] = noise[(j + o_r) mod n]. Each row's ε_r is exactly N(0, I)
    /// and independent of the other samples' (each sample draws a new vector), so every input still gets
    /// exactly its local-reparameterisation distribution; one vector of n draws serves all rows, instead of
    /// n draws per row. Rows of a sample share the values but not their places, so their noise is
    /// nearly independent (common noise without rotation made the data-set figures swing by several
    /// points from one seed to the next).
    static func rotatedNoise(mean: Tensor, std: Tensor, noise: UnsafePointer<Float>, key: UInt64, into activation: Tensor) {
        let rows = mean.rows, n = mean.count / max(rows, 1)
        for row in 0..<rows {
            let offset = bnn_noise_offset(key, row, n)
            let m = mean.pointer + row * n, s = std.pointer + row * n, out = activation.pointer + row * n
            // j < n − o reads noise[o + j]; the rest wraps to noise[j − (n − o)].
            Elementwise.affineNoise(mean: m, std: s, noise: noise + offset, into: out, count: n - offset)
            Elementwise.affineNoise(mean: m + (n - offset), std: s + (n - offset), noise: noise, into: out + (n - offset), count: offset)
        }
    }

    /// Whether whole networks are sampled even without `wholeNetworks`: true when the network has a
    /// `BayesianConv2D`. Local reparameterisation is exact per input only for dense layers (each output
    /// unit has its own weights); the outputs of a convolution share its filter, so drawing them
    /// independently would ignore their correlation. A sampled filter is exact, and costs one matrix
    /// multiply per layer instead of two (the means and the variances).
    static func prefersWholeNetworks(_ network: Sequential) -> Bool {
        network.layers.contains { $0 is BayesianConv2D }
    }

    /// The second layer's posterior, transposed to `[classes, stride]` (zero-padded rows) for the fused
    /// kernel, when the network is moment layer → ReLU → `BayesianDense`; else nil.
    private func fusedSecondLayer(hidden: Int, classes: Int) -> FusedSecondLayer? {
        let layers = network.layers
        guard layers.count == 3, layers[1] is ReLU, let second = layers[2] as? BayesianDense,
              second.inputs == hidden, second.outputs == classes, classes <= Int(BNN_FUSED_MAX_CLASSES) else { return nil }
        let posterior = second.posteriorMeanAndVariance()
        // Zero padding to whole vectors and whole class groups, as the kernel reads them.
        let stride = (hidden + 15) / 16 * 16
        let group = Int(BNN_FUSED_CLASS_GROUP)
        let paddedClasses = (classes + group - 1) / group * group
        let mean = Tensor(shape: [paddedClasses, stride]), variance = Tensor(shape: [paddedClasses, stride])
        for j in 0..<hidden {
            for c in 0..<classes {
                mean.pointer[c * stride + j] = posterior.weightMean.pointer[j * classes + c]
                variance.pointer[c * stride + j] = posterior.weightVariance.pointer[j * classes + c]
            }
        }
        return FusedSecondLayer(stride: stride, meanTransposed: mean, varianceTransposed: variance,
                                biasMean: posterior.biasMean, biasVariance: posterior.biasVariance)
    }

    private struct FusedSecondLayer {
        let stride: Int
        let meanTransposed: Tensor
        let varianceTransposed: Tensor
        let biasMean: Tensor
        let biasVariance: Tensor
    }

    /// All samples of one chunk of rows through `bnn_fused_sample_mlp`. The keys are drawn per sample in
    /// the order of the layer-by-layer path (hidden noise, then output noise), and each thread takes its
    /// own rows, so the result does not depend on the number of threads.
    private static func sampleFused(mean: Tensor, deviation: Tensor, second: FusedSecondLayer, samples: Int, count: Int,
                                    start: Int, into result: Tensor, generator: inout RandomGenerator) {
        let rows = mean.rows, classes = second.biasMean.count
        var hiddenKeys = [UInt64](repeating: 0, count: samples), outputKeys = [UInt64](repeating: 0, count: samples)
        for sample in 0..<samples {
            hiddenKeys[sample] = generator.next()
            outputKeys[sample] = generator.next()
        }
        // Each sample's noise vector, twice in a row (every rotation is then one contiguous slice).
        let hidden = mean.columns
        let noise = Tensor(shape: [samples, 2 * hidden])
        for sample in 0..<samples {
            let vector = noise.pointer + sample * 2 * hidden
            NormalSampler.fill(vector, count: hidden, key: hiddenKeys[sample])
            (vector + hidden).update(from: vector, count: hidden)
        }
        hiddenKeys.withUnsafeBufferPointer { hiddenKeys in
            outputKeys.withUnsafeBufferPointer { outputKeys in
                var arguments = bnn_fused_mlp_sample_arguments()
                arguments.hidden = mean.columns
                arguments.classes = classes
                arguments.transposed_stride = second.stride
                arguments.samples = samples
                arguments.sample_stride = count * classes
                arguments.mean = UnsafePointer(mean.pointer)
                arguments.deviation = UnsafePointer(deviation.pointer)
                arguments.mu_transposed = UnsafePointer(second.meanTransposed.pointer)
                arguments.variance_transposed = UnsafePointer(second.varianceTransposed.pointer)
                arguments.bias_mu = UnsafePointer(second.biasMean.pointer)
                arguments.bias_variance = UnsafePointer(second.biasVariance.pointer)
                arguments.hidden_keys = hiddenKeys.baseAddress
                arguments.output_keys = outputKeys.baseAddress
                arguments.hidden_noise = UnsafePointer(noise.pointer)
                arguments.probabilities = result.pointer + start * classes
                let shared = SendableSampleArguments(arguments)
                // Blocks of 8 rows (the kernel's row block) per task; the two threads split the chunk.
                Parallel.forChunks(of: (rows + 7) / 8) { blocks in
                    withUnsafePointer(to: shared.arguments) {
                        bnn_fused_sample_mlp($0, blocks.lowerBound * 8, min(rows, blocks.upperBound * 8))
                    }
                }
            }
        }
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

/// The fused kernel's arguments (pointers into buffers that outlive the parallel loop; each thread writes
/// only its own rows of `probabilities`).
private struct SendableSampleArguments: @unchecked Sendable {
    let arguments: bnn_fused_mlp_sample_arguments
    init(_ arguments: bnn_fused_mlp_sample_arguments) { self.arguments = arguments }
}
