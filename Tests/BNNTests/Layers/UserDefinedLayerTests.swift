import Foundation
import Testing
import BNN  // not @testable: the layer below uses only what a user of the library sees

/// A Bayesian layer written the way a user of the library would write one: `y = x ⊙ w + c` per feature,
/// with mean-field posteriors over the scales `w` and offsets `c`, trained by sampling them. It declares its
/// blocks and nothing else; initialisation, the KL term, the optimiser's fused step, saving and loading
/// come from the library.
final class BayesianFeatureScale: Layer {
    static let kindName = "test_feature_scale"
    let kind = BayesianFeatureScale.kindName
    let features: Int
    let scale: MeanFieldNormal
    let offset: MeanFieldNormal
    private let sampledScale: Tensor
    private let sampledOffset: Tensor
    private var savedInput: Tensor?
    private var output: Tensor?
    private var inputGradient: Tensor?

    init(features: Int, priorSigma: Float = 1) {
        self.features = features
        scale = MeanFieldNormal(name: "scale", shape: [features], fanIn: 1, priorSigma: priorSigma)
        offset = MeanFieldNormal(name: "offset", shape: [features], fanIn: 0, priorSigma: priorSigma)
        sampledScale = Tensor(shape: [features])
        sampledOffset = Tensor(shape: [features])
    }

    var posteriorBlocks: [MeanFieldNormal] { [scale, offset] }
    var inputCount: Int? { features }
    var configuration: LayerConfiguration { LayerConfiguration(kind: kind, inputs: features, priorSigma: scale.priorSigma) }
    func outputShape(for inputShape: [Int]) -> [Int] { [features] }

    func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        if output?.rows != batch { output = Tensor(shape: [batch, features]) }
        let output = output!
        let w: Tensor, c: Tensor
        if mode == .mean {
            (w, c) = (scale.mu.value, offset.mu.value)
        } else {
            scale.sample(into: sampledScale, generator: &generator)
            offset.sample(into: sampledOffset, generator: &generator)
            (w, c) = (sampledScale, sampledOffset)
        }
        for b in 0..<batch {
            for i in 0..<features { output[b, i] = input[b, i] * w[i] + c[i] }
        }
        if mode == .train { savedInput = input }
        return output
    }

    func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = savedInput else { preconditionFailure("backward before a training forward pass") }
        let batch = input.rows
        scale.mu.gradient.fill(0)
        offset.mu.gradient.fill(0)
        for b in 0..<batch {
            for i in 0..<features {
                scale.mu.gradient[i] += outputGradient[b, i] * input[b, i]
                offset.mu.gradient[i] += outputGradient[b, i]
            }
        }
        // Sampled as θ = μ + σ ⊙ ε: ρ's gradient follows from ∂L/∂μ and the kept ε.
        scale.rhoGradient = .noise
        offset.rhoGradient = .noise
        guard needsInputGradient else { return nil }
        if inputGradient?.rows != batch { inputGradient = Tensor(shape: [batch, features]) }
        let gradient = inputGradient!
        for b in 0..<batch {
            for i in 0..<features { gradient[b, i] = outputGradient[b, i] * sampledScale[i] }
        }
        return gradient
    }
}

@Suite struct UserDefinedLayerTests {
    func network(features: Int = 8) -> Sequential {
        Sequential(inputShape: [5], layers: [
            BayesianDense(inputs: 5, outputs: features), ReLU(), BayesianFeatureScale(features: features),
            BayesianDense(inputs: features, outputs: 3),
        ])
    }

    var configuration: TrainingConfiguration {
        var configuration = TrainingConfiguration.default
        configuration.epochs = 1
        configuration.batchSize = 16
        configuration.outlierWeight = nil
        return configuration
    }

    @Test func backwardMatchesFiniteDifferences() {
        let layer = BayesianFeatureScale(features: 6)
        var generator = RandomGenerator(seed: 3)
        layer.initialize(.he, initialSigma: 0.3, generator: &generator)
        generator.fillNormal(layer.offset.mu.value)
        generator.fillNormal(layer.scale.rho.value, mean: -1, standardDeviation: 0.5)
        layer.parametersDidChange()
        let (error, worst) = maximumGradientError(layer: layer, input: randomTensor([4, 6], seed: 5))
        #expect(error < 1e-2, "worst: \(worst)")
    }

    /// The library's initialisation reaches the user's blocks, and their KL enters the network's.
    @Test func initialisationAndKL() {
        let network = network()
        var generator = RandomGenerator(seed: 1)
        NetworkBuilder.initialize(network, configuration: configuration, generator: &generator)
        let layer = network.layers[2] as! BayesianFeatureScale
        for block in layer.posteriorBlocks {
            #expect(block.sigma.array.allSatisfy { abs($0 - configuration.initialSigma) < 1e-6 })
        }
        #expect(layer.offset.mu.value.array.allSatisfy { $0 == 0 })
        #expect(layer.scale.mu.value.array.contains { $0 != 0 })
        let total = network.layers.reduce(0) { $0 + $1.klDivergence() }
        #expect(layer.klDivergence() > 0 && abs(network.klDivergence() - total) < 1e-9)
    }

    /// `Trainer` takes the user's blocks through Adam's fused step: the same parameters as the unfused
    /// sequence written out by hand.
    @Test func trainerRunsTheFusedStepOnUserBlocks() {
        let configuration = configuration
        let count = 60
        let images = randomTensor([count, 5], seed: 4)
        let labels = (0..<count).map { $0 % 3 }
        let data = LabeledImages(images: images, labels: labels, rows: 1, columns: 5)
        let (trained, twin) = (network(), network())
        var generator = RandomGenerator(seed: 2)
        NetworkBuilder.initialize(trained, configuration: configuration, generator: &generator)
        generator = RandomGenerator(seed: 2)
        NetworkBuilder.initialize(twin, configuration: configuration, generator: &generator)
        let before = (trained.layers[2] as! BayesianFeatureScale).scale.rho.value.array
        Trainer(network: trained, configuration: configuration, generator: RandomGenerator(seed: 9)).train(on: data, validation: nil)
        trainOneEpochByHand(twin, configuration: configuration, images: images, labels: labels, classes: 3, seed: 9)
        #expect((trained.layers[2] as! BayesianFeatureScale).scale.rho.value.array != before)
        for ((name, a), (_, b)) in zip(trained.namedParameters, twin.namedParameters) {
            let scale = b.value.array.map(abs).max() ?? 1
            let error = zip(a.value.array, b.value.array).map { abs($0 - $1) }.max() ?? 0
            #expect(error <= 1e-5 * max(scale, 1e-30), "\(name): \(error)")
        }
    }

    /// Saved and loaded like a built-in layer once its kind is registered; an unregistered kind is a
    /// clear error, not a trap.
    @Test func savesAndLoads() throws {
        let network = network()
        var generator = RandomGenerator(seed: 7)
        NetworkBuilder.initialize(network, configuration: configuration, generator: &generator)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bnn-user-layer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("model.safetensors")
        try BayesianClassifier(network: network, training: configuration).save(to: file)

        #expect(throws: (any Error).self) { try BayesianClassifier.load(from: file) }
        do {
            _ = try BayesianClassifier.load(from: file)
        } catch {
            #expect("\(error)".contains("unknown layer kind 'test_feature_scale'"), "\(error)")
        }
        NetworkBuilder.register(kind: BayesianFeatureScale.kindName) { configuration in
            guard let features = configuration.inputs, features > 0 else {
                throw NetworkBuilder.UnknownLayer(description: "test_feature_scale needs inputs")
            }
            return BayesianFeatureScale(features: features, priorSigma: configuration.priorSigma ?? 1)
        }
        let loaded = try BayesianClassifier.load(from: file)
        #expect(loaded.network.layers[2] is BayesianFeatureScale)
        for ((name, a), (_, b)) in zip(network.namedParameters, loaded.network.namedParameters) {
            #expect(a.value.array == b.value.array, "\(name)")
        }
        let input = randomTensor([6, 5], seed: 12)
        let expected = Predictive(network: network).sampleProbabilities(input, samples: 0..<20, seed: 3)
        let actual = Predictive(network: loaded.network).sampleProbabilities(input, samples: 0..<20, seed: 3)
        #expect(expected.array == actual.array)
    }
}
