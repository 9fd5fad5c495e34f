import CBNNKernels
import Foundation

/// Monte Carlo samples of the posterior predictive distribution: for each input, the class probabilities
/// of S networks drawn from the posterior.
///
/// **An input's samples depend only on the input, the model, the sample index and the call's seed** —
/// never on which other inputs share the call, their order or the chunking. Every input gets an identity
/// (a 64-bit hash of its values, `InputIdentity`), and every random choice for it is keyed by that
/// identity and by per-sample keys derived from the seed (`SampleKeys`). Sample s of a call with seed k
/// is the same whether 10 or 1,000 samples are drawn, which is what lets `SampleRefinement` add samples
/// for the inputs near a threshold.
///
/// The fast path, for moment layer → ReLU → `BayesianDense`
/// (at most 16 classes): the mean and standard deviation of the first layer's outputs are computed once
/// per input and only the noise is drawn per sample — one vector per sample, read by each input rotated
/// by an offset of its own (`rotatedNoise`); the second layer runs with local reparameterisation, its
/// output noise a slice of a second per-sample vector at the input's own offset. For every input this is
/// exactly the distribution of sampling whole networks. The fused C kernel (`bnn_fused_sample_mlp`) does
/// each sample of a block of rows in one pass; `fusedKernel = false` runs the same computation in plain
/// Swift (the reference the kernel is checked against).
///
/// Every other network (convolutions, deeper stacks, more classes) samples whole networks: the inputs
/// are split into `networkGroups` groups by identity, and sample s of group g is one weight draw keyed by
/// (s, g), shared by the group's inputs. `wholeNetworks` sends the fast path's networks this way too.
public struct Predictive {
    public let network: Sequential
    /// Sample whole weight matrices (one network per sample and group of inputs) instead of the fast path.
    public var wholeNetworks: Bool
    /// Inputs processed together (bounds memory: about `chunkSize × hidden × 16` bytes).
    public var chunkSize: Int
    /// Use the fused kernel when the network has its shape; `false` runs the plain-Swift reference with the
    /// same draws.
    public var fusedKernel = true
    /// The arithmetic of the fast path: with `.bfloat16` on a CPU with AMX, the first layer's moments are
    /// two bf16 products with its weights packed once (`BayesianDense.outputMoments`) and the second
    /// layer's sums run in bf16 (`bnn_fused_sample_mlp_bf16`; the reference then rounds the same factors).
    /// The matrix multiplies of the other paths follow `ComputeSettings.matrixPrecision`. Default: that
    /// setting when the `Predictive` is made.
    public var precision: MatrixPrecision
    /// Groups of inputs that share a sampled network on the whole-network path: more groups make the
    /// samples of different inputs less dependent (data-set figures vary less from seed to seed), fewer
    /// make the batches larger.
    public static let networkGroups: UInt64 = 16
    /// Length of the per-sample output noise vector of the fast path: two inputs read overlapping
    /// slices of it with probability about 2·classes / length.
    static let outputNoiseLength = 4096

    /// The most posterior samples per input that model files and the command line may ask for (10,000):
    /// scores settle long before (100 is the default), and larger counts only cost memory and time.
    public static let maximumSamples = 10_000

    /// The bytes `sampleProbabilities` allocates for its result (`samples × count × classes` floats), or
    /// nil when that overflows: lets a caller refuse a run that cannot fit before it starts.
    public static func resultBytes(samples: Int, count: Int, classes: Int) -> Int? {
        Tensor.elementCount(of: [samples, count, classes]).map { $0 * MemoryLayout<Float>.stride }
    }

    public init(network: Sequential, wholeNetworks: Bool = false, chunkSize: Int = 256) {
        self.network = network
        self.wholeNetworks = wholeNetworks
        self.chunkSize = chunkSize
        precision = ComputeSettings.matrixPrecision
    }

    /// Class probabilities `[samples, count, classes]` (sample-major) for the `count` inputs in `images`
    /// (`[count, inputCount]`), with a seed taken from `generator`.
    public func sampleProbabilities(_ images: Tensor, samples: Int, generator: inout RandomGenerator) -> Tensor {
        precondition(samples > 0, "samples must be positive, got \(samples)")
        return sampleProbabilities(images, samples: 0..<samples, seed: generator.next())
    }

    /// Samples `samples` (a range of sample indices) of every input under the call seed `seed`:
    /// `[samples.count, count, classes]`. Sample s of an input is the same in every call with the same
    /// seed, whatever the range around it and whatever the other inputs.
    public func sampleProbabilities(_ images: Tensor, samples: Range<Int>, seed: UInt64) -> Tensor {
        precondition(!samples.isEmpty && samples.lowerBound >= 0, "need a non-empty range of samples, got \(samples)")
        let count = images.rows
        let features = network.inputCount
        precondition(images.count == count * features, "images \(images.shape) do not have \(features) values each")
        let result = Tensor(shape: [samples.count, count, network.classes])
        guard count > 0 else { return result }
        let keys = SampleKeys(seed: seed)
        if let mixture = Self.mixture(network) {
            sampleMixture(mixture, images, samples: samples, keys: keys, into: result)
            return result
        }
        if !network.isStochasticInPrediction {
            sampleOnce(images, samples: samples.count, into: result)
            return result
        }
        let identities = InputIdentity.identities(of: images)
        if !wholeNetworks && !Self.prefersWholeNetworks(network), let fast = FastPath(network) {
            var start = 0
            while start < count {
                let size = min(chunkSize, count - start)
                let chunk = Tensor(shape: [size, features])
                chunk.pointer.update(from: images.pointer + start * features, count: size * features)
                let hiddenShape = [size] + fast.first.outputShape(for: network.inputShape)
                let mean = Tensor(shape: hiddenShape), std = Tensor(shape: hiddenShape)
                fast.first.outputMoments(chunk, mean: mean, standardDeviation: std, precision: precision)
                let chunkIdentities = Array(identities[start..<(start + size)])
                let bfloat16 = precision.effective == .bfloat16
                if fusedKernel {
                    Self.sampleFused(mean: mean, deviation: std, second: fast.second, identities: chunkIdentities, samples: samples,
                                     keys: keys, count: count, start: start, bfloat16: bfloat16, into: result)
                } else {
                    Self.sampleReference(mean: mean, deviation: std, second: fast.second, identities: chunkIdentities, samples: samples,
                                         keys: keys, count: count, start: start, bfloat16: bfloat16, into: result)
                }
                start += size
            }
        } else {
            sampleWholeNetworks(images, identities: identities, samples: samples, keys: keys, into: result)
        }
        return result
    }

    /// The mixture layer when the network is one (`MixtureLayer`, e.g. `Ensemble`), else nil.
    static func mixture(_ network: Sequential) -> MixtureLayer? {
        network.layers.count == 1 ? network.layers[0] as? MixtureLayer : nil
    }

    /// The number of different samples the network can give an input, when it is finite: 1 for a network
    /// that is not stochastic in prediction, K for a mixture of K such networks, nil otherwise. With a
    /// multiple of it, the samples hold every distinct value equally often and more samples add nothing.
    public var distinctSampleCount: Int? {
        if let mixture = Self.mixture(network) {
            return mixture.members.contains { $0.isStochasticInPrediction } ? nil : mixture.members.count
        }
        return network.isStochasticInPrediction ? nil : 1
    }

    /// A mixture's samples, stratified: sample s comes from member k = s mod K as that member's sample
    /// j = s / K under the member's key (`SampleKeys.member`), drawn by a `Predictive` of the member (its
    /// own fast path, single pass or whole networks). Every member then gets ⌊S/K⌋ or ⌈S/K⌉ of S samples,
    /// so the mixture weights are equal up to one sample, where a random member per sample would leave
    /// them to chance (a member's share of 100 samples would vary by ±9 for K = 5); sample s is still the
    /// same in every call, whatever the range around it.
    private func sampleMixture(_ mixture: MixtureLayer, _ images: Tensor, samples: Range<Int>, keys: SampleKeys, into result: Tensor) {
        let members = mixture.members.count, count = images.rows, classes = network.classes
        for (index, member) in mixture.members.enumerated() {
            // The member's samples j with lowerBound ≤ j·K + index < upperBound.
            let first = max(0, (samples.lowerBound - index + members - 1) / members)
            let end = max(first, (samples.upperBound - index + members - 1) / members)
            guard first < end else { continue }
            var predictive = Predictive(network: member, wholeNetworks: wholeNetworks, chunkSize: chunkSize)
            predictive.fusedKernel = fusedKernel
            predictive.precision = precision
            let part = predictive.sampleProbabilities(images, samples: first..<end, seed: keys.member(index))
            for j in first..<end {
                let position = j * members + index - samples.lowerBound
                (result.pointer + position * count * classes).update(from: part.pointer + (j - first) * count * classes, count: count * classes)
            }
        }
    }

    /// A network without randomness in prediction: one pass (`.mean`, chunk by chunk), copied to every sample.
    private func sampleOnce(_ images: Tensor, samples: Int, into result: Tensor) {
        let count = images.rows, features = network.inputCount, classes = network.classes
        var unused = RandomGenerator(seed: 0)
        var start = 0
        while start < count {
            let size = min(chunkSize, count - start)
            let chunk = Tensor(shape: [size, features])
            chunk.pointer.update(from: images.pointer + start * features, count: size * features)
            Self.softmax(network.forward(chunk, mode: .mean, generator: &unused), into: result.pointer + start * classes)
            start += size
        }
        for position in 1..<max(samples, 1) {
            (result.pointer + position * count * classes).update(from: result.pointer, count: count * classes)
        }
    }

    /// The whole-network path: inputs grouped by identity; sample s of group g is the network drawn from
    /// the generator seeded with `keys.network(s, group: g)`, applied to every chunk of the group. The
    /// layers before the first stochastic one (`Sequential.firstStochasticLayer`; none in a Bayesian
    /// network, the first weight layer and its ReLU under Monte Carlo dropout) run once per chunk, and
    /// only the rest once per sample.
    private func sampleWholeNetworks(_ images: Tensor, identities: [UInt64], samples: Range<Int>, keys: SampleKeys,
                                     into result: Tensor) {
        let count = images.rows, features = network.inputCount, classes = network.classes
        let split = network.firstStochasticLayer, layerCount = network.layers.count
        var members = [[Int]](repeating: [], count: Int(Self.networkGroups))
        for (index, identity) in identities.enumerated() { members[Int(identity % Self.networkGroups)].append(index) }
        for (group, rows) in members.enumerated() where !rows.isEmpty {
            var first = 0
            while first < rows.count {
                let part = rows[first..<min(rows.count, first + chunkSize)]
                let chunk = Tensor(shape: [part.count, features])
                for (i, row) in part.enumerated() {
                    (chunk.pointer + i * features).update(from: images.pointer + row * features, count: features)
                }
                let probabilities = Tensor(shape: [part.count, classes])
                var unused = RandomGenerator(seed: 0)
                let prefix = split == 0 ? chunk : network.forward(chunk, layers: 0..<split, mode: .sampleWeights, generator: &unused)
                for (position, sample) in samples.enumerated() {
                    var generator = RandomGenerator(seed: keys.network(sample, group: UInt64(group)))
                    let logits = network.forward(prefix, layers: split..<layerCount, mode: .sampleWeights, generator: &generator)
                    Self.softmax(logits, into: probabilities.pointer)
                    for (i, row) in part.enumerated() {
                        (result.pointer + (position * count + row) * classes)
                            .update(from: probabilities.pointer + i * classes, count: classes)
                    }
                }
                first += part.count
            }
        }
    }

    /// The first layer's sampled pre-activations of one sample, `mean + std ⊙ ε_r` for each row r, where
    /// ε_r is the sample's noise vector `noise` (`2n` values: the vector twice) rotated by the offset of the
    /// row's input, `bnn_noise_offset(key, identity_r, n)`: ε_r[j] = noise[(j + o_r) mod n]. Each input's
    /// ε_r is exactly N(0, I) and independent of the other samples' (each sample draws a new vector), so
    /// every input gets exactly its local-reparameterisation distribution; one vector of n draws serves
    /// all rows. Rows of a sample share the values but not their places, so their noise is nearly
    /// independent (common noise without rotation made the data-set figures swing from seed to seed).
    static func rotatedNoise(mean: Tensor, std: Tensor, noise: UnsafePointer<Float>, key: UInt64, identities: [UInt64],
                             into activation: Tensor) {
        let rows = mean.rows, n = mean.count / max(rows, 1)
        for row in 0..<rows {
            let offset = bnn_noise_offset(key, Int(bitPattern: UInt(identities[row])), n)
            Elementwise.affineNoise(mean: mean.pointer + row * n, std: std.pointer + row * n, noise: noise + offset,
                                    into: activation.pointer + row * n, count: n)
        }
    }

    /// Whether whole networks are sampled even without `wholeNetworks`: true when a layer asks for it
    /// (`Layer.samplesWeightsInPrediction`, e.g. a convolution, whose outputs share their filter, so that
    /// drawing them independently would ignore their correlation). A sampled filter is exact, and costs
    /// one matrix multiply per layer instead of two (the means and the variances).
    static func prefersWholeNetworks(_ network: Sequential) -> Bool {
        network.layers.contains { $0.samplesWeightsInPrediction }
    }

    /// The networks the fast path serves: a moment layer, a ReLU activation, and a dense posterior layer
    /// with at most `BNN_FUSED_MAX_CLASSES` outputs, with the second layer's posterior laid out for the kernel.
    private struct FastPath {
        let first: MomentLayer
        let second: SecondLayer

        init?(_ network: Sequential) {
            let layers = network.layers
            guard layers.count == 3, let first = layers[0] as? MomentLayer, (layers[1] as? ActivationLayer)?.activation == .relu,
                  let dense = layers[2] as? DensePosteriorLayer, dense.outputs == network.classes,
                  network.classes <= Int(BNN_FUSED_MAX_CLASSES),
                  first.outputShape(for: network.inputShape) == [dense.inputs] else { return nil }
            self.first = first
            second = SecondLayer(dense)
        }
    }

    /// The second layer's posterior, transposed to `[classes, stride]` (zero-padded rows and columns).
    private struct SecondLayer {
        let hidden: Int
        let classes: Int
        let stride: Int
        let meanTransposed: Tensor
        let varianceTransposed: Tensor
        let biasMean: Tensor
        let biasVariance: Tensor

        init(_ layer: DensePosteriorLayer) {
            let posterior = layer.posteriorMeanAndVariance()
            hidden = layer.inputs
            classes = layer.outputs
            // Zero padding to whole vectors and whole class groups, as the kernel reads them.
            stride = (hidden + 15) / 16 * 16
            let group = Int(BNN_FUSED_CLASS_GROUP)
            let paddedClasses = (classes + group - 1) / group * group
            meanTransposed = Tensor(shape: [paddedClasses, stride])
            varianceTransposed = Tensor(shape: [paddedClasses, stride])
            for j in 0..<hidden {
                for c in 0..<classes {
                    meanTransposed.pointer[c * stride + j] = posterior.weightMean.pointer[j * classes + c]
                    varianceTransposed.pointer[c * stride + j] = posterior.weightVariance.pointer[j * classes + c]
                }
            }
            // The kernels read BNN_FUSED_PADDED_CLASSES biases.
            let padded = Int(BNN_FUSED_PADDED_CLASSES)
            biasMean = Tensor(shape: [padded])
            biasVariance = Tensor(shape: [padded])
            biasMean.pointer.update(from: posterior.biasMean.pointer, count: classes)
            biasVariance.pointer.update(from: posterior.biasVariance.pointer, count: classes)
        }
    }

    /// Each sample's noise vectors for the fast path, each stored twice in a row (every rotation is then
    /// one contiguous slice): `hidden` values from the sample's hidden key, `outputNoiseLength` from its
    /// output key.
    ///
    /// They depend only on their arguments, and a server answers every request with the same seed, so the
    /// last few sets of up to 8 MB are kept (`NoiseVectorCache`): drawing them again cost more than the
    /// rest of a one-image request.
    private static func noiseVectors(samples: Range<Int>, keys: SampleKeys, hidden: Int, classes: Int)
        -> (hidden: Tensor, output: Tensor, outputLength: Int) {
        let outputLength = max(outputNoiseLength, classes)
        let cacheKey = NoiseVectorCache.Key(seed: keys.seed, samples: samples, hidden: hidden, outputLength: outputLength)
        if let cached = noiseCache.vectors(for: cacheKey) { return (cached.hidden, cached.output, outputLength) }
        let hiddenNoise = Tensor(shape: [samples.count, 2 * hidden]), outputNoise = Tensor(shape: [samples.count, 2 * outputLength])
        for (position, sample) in samples.enumerated() {
            let vector = hiddenNoise.pointer + position * 2 * hidden
            NormalSampler.fill(vector, count: hidden, key: keys.hidden(sample))
            (vector + hidden).update(from: vector, count: hidden)
            let output = outputNoise.pointer + position * 2 * outputLength
            NormalSampler.fill(output, count: outputLength, key: keys.output(sample))
            (output + outputLength).update(from: output, count: outputLength)
        }
        noiseCache.store(hidden: hiddenNoise, output: outputNoise, for: cacheKey)
        return (hiddenNoise, outputNoise, outputLength)
    }

    private static let noiseCache = NoiseVectorCache(capacity: 4)

    /// All samples of one chunk of rows through `bnn_fused_sample_mlp` (or `bnn_fused_sample_mlp_bf16` when
    /// `bfloat16`); each thread takes its own rows, and every row's draws depend on its identity only, so
    /// the result depends neither on the number of threads nor on the chunking.
    private static func sampleFused(mean: Tensor, deviation: Tensor, second: SecondLayer, identities: [UInt64], samples: Range<Int>,
                                    keys: SampleKeys, count: Int, start: Int, bfloat16: Bool, into result: Tensor) {
        let rows = mean.rows
        let hiddenKeys = samples.map { keys.hidden($0) }, outputKeys = samples.map { keys.output($0) }
        let noise = noiseVectors(samples: samples, keys: keys, hidden: second.hidden, classes: second.classes)
        hiddenKeys.withUnsafeBufferPointer { hiddenKeys in
            outputKeys.withUnsafeBufferPointer { outputKeys in
                identities.withUnsafeBufferPointer { identities in
                    var arguments = bnn_fused_mlp_sample_arguments()
                    arguments.hidden = second.hidden
                    arguments.classes = second.classes
                    arguments.transposed_stride = second.stride
                    arguments.samples = samples.count
                    arguments.sample_stride = count * second.classes
                    arguments.output_noise_length = noise.outputLength
                    arguments.mean = UnsafePointer(mean.pointer)
                    arguments.deviation = UnsafePointer(deviation.pointer)
                    arguments.mu_transposed = UnsafePointer(second.meanTransposed.pointer)
                    arguments.variance_transposed = UnsafePointer(second.varianceTransposed.pointer)
                    arguments.bias_mu = UnsafePointer(second.biasMean.pointer)
                    arguments.bias_variance = UnsafePointer(second.biasVariance.pointer)
                    arguments.hidden_keys = hiddenKeys.baseAddress
                    arguments.output_keys = outputKeys.baseAddress
                    arguments.identities = identities.baseAddress
                    arguments.hidden_noise = UnsafePointer(noise.hidden.pointer)
                    arguments.output_noise = UnsafePointer(noise.output.pointer)
                    arguments.probabilities = result.pointer + start * second.classes
                    let shared = SendableSampleArguments(arguments)
                    // Blocks of 8 rows (the fp32 kernel's row block) per task; the threads split the chunk.
                    let kernel = bfloat16 ? bnn_fused_sample_mlp_bf16 : bnn_fused_sample_mlp
                    Parallel.forChunks(of: (rows + 7) / 8) { blocks in
                        withUnsafePointer(to: shared.arguments) {
                            kernel($0, blocks.lowerBound * 8, min(rows, blocks.upperBound * 8))
                        }
                    }
                }
            }
        }
    }

    /// The fast path's computation in plain Swift, one input and sample at a time (the reference for
    /// `bnn_fused_sample_mlp`): rotated hidden noise → ReLU → the second layer's moments → its noise, a
    /// slice of the output noise vector at the input's offset → softmax. With `bfloat16`, the second
    /// layer's factors (h, h², μ₂, σ₂²) are rounded to bf16 first, as `bnn_fused_sample_mlp_bf16` rounds
    /// them (their products are exact in fp32).
    private static func sampleReference(mean: Tensor, deviation: Tensor, second: SecondLayer, identities: [UInt64], samples: Range<Int>,
                                        keys: SampleKeys, count: Int, start: Int, bfloat16: Bool, into result: Tensor) {
        let rows = mean.rows, hidden = second.hidden, classes = second.classes
        func round(_ x: Float) -> Float { bfloat16 ? MatrixPrecision.roundedToBFloat16(x) : x }
        let weightMean = second.meanTransposed.array.map { round($0) }, weightVariance = second.varianceTransposed.array.map { round($0) }
        let noise = noiseVectors(samples: samples, keys: keys, hidden: hidden, classes: classes)
        let activation = Tensor(shape: [rows, hidden])
        var logits = [Float](repeating: 0, count: classes)
        for (position, sample) in samples.enumerated() {
            rotatedNoise(mean: mean, std: deviation, noise: noise.hidden.pointer + position * 2 * hidden,
                         key: keys.hidden(sample), identities: identities, into: activation)
            for row in 0..<rows {
                let h = activation.pointer + row * hidden
                let offset = bnn_noise_offset(keys.output(sample), Int(bitPattern: UInt(identities[row])), noise.outputLength)
                let epsilon = noise.output.pointer + position * 2 * noise.outputLength + offset
                for c in 0..<classes {
                    var m = second.biasMean.pointer[c], v = second.biasVariance.pointer[c]
                    for j in 0..<hidden {
                        let a = max(h[j], 0)
                        m += round(a) * weightMean[c * second.stride + j]
                        v += round(a * a) * weightVariance[c * second.stride + j]
                    }
                    logits[c] = m + v.squareRoot() * epsilon[c]
                }
                let largest = logits.max()!
                let exponentials = logits.map { Foundation.exp($0 - largest) }
                let total = exponentials.reduce(0, +)
                let destination = result.pointer + (position * count + start + row) * classes
                for c in 0..<classes { destination[c] = exponentials[c] / total }
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

/// The fast path's most recent noise vectors, shared by every thread (read-only once stored): a small
/// least-recently-stored list, since a process draws with few distinct seeds and sample ranges at a time.
private final class NoiseVectorCache: @unchecked Sendable {
    // @unchecked: `entries` is only touched with `lock` held; the tensors are never written after `store`.
    struct Key: Equatable {
        let seed: UInt64, samples: Range<Int>, hidden: Int, outputLength: Int
    }
    private var entries: [(key: Key, hidden: Tensor, output: Tensor)] = []
    private let lock = NSLock()
    private let capacity: Int
    static let maximumBytes = 8 << 20

    init(capacity: Int) { self.capacity = capacity }

    func vectors(for key: Key) -> (hidden: Tensor, output: Tensor)? {
        lock.withLock { entries.first { $0.key == key }.map { ($0.hidden, $0.output) } }
    }

    /// Keeps the vectors unless they take more than `maximumBytes` (thousands of samples).
    func store(hidden: Tensor, output: Tensor, for key: Key) {
        guard (hidden.count + output.count) * MemoryLayout<Float>.stride <= Self.maximumBytes else { return }
        lock.withLock {
            entries.removeAll { $0.key == key }
            entries.insert((key, hidden, output), at: 0)
            if entries.count > capacity { entries.removeLast() }
        }
    }
}

/// The fused kernel's arguments (pointers into buffers that outlive the parallel loop; each thread writes
/// only its own rows of `probabilities`).
private struct SendableSampleArguments: @unchecked Sendable {
    let arguments: bnn_fused_mlp_sample_arguments
    init(_ arguments: bnn_fused_mlp_sample_arguments) { self.arguments = arguments }
}
