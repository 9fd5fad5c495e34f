import Foundation
import Testing
@testable import BNN

/// Convolution, pooling and flattening: forward passes against direct computations, backward passes
/// against finite differences, the KL term, and whole CNNs (shapes, rebuilding from the architecture).
@Suite struct ConvolutionTests {
    /// Awkward geometries: odd sizes, padding 0 and 2, stride 1 and 2, several channels.
    static let geometries: [(channels: Int, height: Int, width: Int, filters: Int, kernel: Int, stride: Int, padding: Int)] = [
        (1, 7, 7, 3, 3, 1, 0),
        (3, 7, 5, 4, 5, 1, 2),
        (2, 9, 7, 3, 3, 2, 1),
        (2, 6, 7, 2, 5, 2, 2),
    ]

    /// Gives ρ and the biases some spread so that every chain-rule factor matters.
    static func randomize(_ layer: BayesianConv2D, seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        layer.initialize(.he, initialSigma: 0.3, generator: &generator)
        generator.fillNormal(layer.weight.rho.value, mean: -1, standardDeviation: 0.5)
        generator.fillNormal(layer.bias.rho.value, mean: -1, standardDeviation: 0.5)
        generator.fillNormal(layer.bias.mu.value, standardDeviation: 0.5)
        layer.parametersDidChange()
    }

    @Test(arguments: [0, 1, 2, 3])
    func convolutionMatchesDirectComputation(case index: Int) {
        let s = Self.geometries[index]
        let layer = Conv2D(channels: s.channels, height: s.height, width: s.width, filters: s.filters,
                           kernelSize: s.kernel, stride: s.stride, padding: s.padding)
        var generator = RandomGenerator(seed: 3)
        layer.initialize(generator: &generator)
        generator.fillNormal(layer.bias.value)
        let batch = 3
        let input = randomTensor([batch, s.channels * s.height * s.width], seed: 4)
        let output = layer.forward(input, mode: .mean, generator: &generator)
        let expected = Im2Col.referenceConvolution(input, batch: batch, geometry: layer.geometry, weight: layer.weight.value,
                                                   bias: layer.bias.value, filters: s.filters)
        #expect(output.shape == expected.shape)
        #expect(output.shape == [batch] + layer.outputShape(for: [s.channels, s.height, s.width]))
        let difference = zip(output.array, expected.array).map { abs($0 - $1) }.max() ?? 0
        #expect(difference < 1e-4, "largest difference \(difference)")
    }

    /// The columns of stride-1 geometries (the C kernel's case: no padding, "same" padding, padding k − 1,
    /// a plane larger than its stack buffer, a 1 × 1 kernel) and of a stride-2 one (the Swift loop) equal
    /// the definition x[b, c, oh·s − p + i, ow·s − p + j], zero outside the image, entry by entry.
    @Test(arguments: [(3, 7, 6, 3, 1, 0), (2, 14, 14, 5, 1, 2), (1, 5, 9, 3, 1, 2), (1, 100, 97, 3, 1, 1), (2, 6, 6, 1, 1, 0),
                      (2, 9, 8, 3, 2, 1)])
    func columnsMatchTheDefinition(shape: (channels: Int, height: Int, width: Int, k: Int, stride: Int, padding: Int)) {
        let g = ConvolutionGeometry(channels: shape.channels, height: shape.height, width: shape.width, kernelSize: shape.k,
                                    stride: shape.stride, padding: shape.padding)
        let examples = 3
        let input = randomTensor([examples, g.inputSize], seed: 12)
        let leading = examples * g.positions
        let columns = Tensor(shape: [g.patchSize, leading], repeating: .nan)
        Im2Col.columns(input.pointer, examples: examples, geometry: g, into: columns.pointer)
        var mismatches = 0
        for b in 0..<examples {
            for c in 0..<g.channels {
                for i in 0..<g.kernelSize {
                    for j in 0..<g.kernelSize {
                        for oh in 0..<g.outputHeight {
                            for ow in 0..<g.outputWidth {
                                let ih = oh * g.stride - g.padding + i, iw = ow * g.stride - g.padding + j
                                let inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width
                                let expected = inside ? input[(b * g.channels + c) * g.height * g.width + ih * g.width + iw] : 0
                                let row = (c * g.kernelSize + i) * g.kernelSize + j
                                if columns[row * leading + b * g.positions + oh * g.outputWidth + ow] != expected { mismatches += 1 }
                            }
                        }
                    }
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) wrong column entries for \(shape)")
    }

    /// The unrolled 2 × 2 pooling gives the general rule's maxima in every mode and, when training, routes
    /// each gradient to the first maximum of its window (ties included); odd sides drop the last row and column.
    @Test func twoByTwoPoolingKeepsTheFirstMaximum() {
        let layer = MaxPool2D(channels: 2, height: 5, width: 7)
        var generator = RandomGenerator(seed: 3)
        // Values on a coarse grid, so that windows often hold ties.
        let values = (0..<(2 * 2 * 5 * 7)).map { _ in Float(generator.integer(below: 4)) }
        let input = Tensor(shape: [2, 2 * 5 * 7], values: values)
        let evaluated = layer.forward(input, mode: .mean, generator: &generator).array
        let trained = layer.forward(input, mode: .train, generator: &generator).array
        let gradient = layer.backward(Tensor(shape: [2, 2, 2, 3], values: (0..<24).map { Float($0 + 1) }), needsInputGradient: true)!
        var expectedGradient = [Float](repeating: 0, count: input.count)
        for plane in 0..<4 {
            for oh in 0..<2 {
                for ow in 0..<3 {
                    var best = -Float.infinity, position = 0
                    for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        let at = plane * 35 + (2 * oh + i) * 7 + 2 * ow + j
                        if values[at] > best { best = values[at]; position = at }
                    }
                    let o = plane * 6 + oh * 3 + ow
                    #expect(evaluated[o] == best && trained[o] == best)
                    expectedGradient[position] += Float(o + 1)
                }
            }
        }
        #expect(gradient.array == expectedGradient)
    }

    /// A batch larger than one im2col block exercises the block loop and the partial last block.
    @Test func convolutionAcrossSeveralBlocks() {
        let geometry = ConvolutionGeometry(channels: 32, height: 14, width: 14, kernelSize: 5, stride: 1, padding: 2)
        let batch = Im2Col.blockSize(batch: 1000, geometry: geometry) * 2 + 3
        let layer = Conv2D(channels: 32, height: 14, width: 14, filters: 2, kernelSize: 5, padding: 2)
        var generator = RandomGenerator(seed: 1)
        layer.initialize(generator: &generator)
        let input = randomTensor([batch, 32 * 14 * 14], seed: 2)
        let output = layer.forward(input, mode: .mean, generator: &generator)
        let expected = Im2Col.referenceConvolution(input, batch: batch, geometry: geometry, weight: layer.weight.value,
                                                   bias: layer.bias.value, filters: 2)
        let difference = zip(output.array, expected.array).map { abs($0 - $1) }.max() ?? 0
        #expect(difference < 1e-3, "largest difference \(difference)")
    }

    /// Local reparameterisation: the moments are conv(x, μ) + μ_b and sqrt(conv(x², σ²) + σ_b²).
    @Test func momentsMatchDirectComputation() {
        let layer = BayesianConv2D(channels: 2, height: 6, width: 5, filters: 3, kernelSize: 3, stride: 1, padding: 1)
        Self.randomize(layer, seed: 8)
        let input = randomTensor([2, 60], seed: 9)
        let shape = [2] + layer.outputShape(for: [2, 6, 5])
        let mean = Tensor(shape: shape), std = Tensor(shape: shape)
        layer.outputMoments(input, mean: mean, standardDeviation: std)
        let expectedMean = Im2Col.referenceConvolution(input, batch: 2, geometry: layer.geometry, weight: layer.weight.mu.value,
                                                       bias: layer.bias.mu.value, filters: 3)
        let squaredInput = Tensor(shape: input.shape, values: input.array.map { $0 * $0 })
        let sigma = { (rho: Tensor) in Tensor(shape: rho.shape, values: rho.array.map { let s = log1p(exp($0)); return s * s }) }
        let expectedVariance = Im2Col.referenceConvolution(squaredInput, batch: 2, geometry: layer.geometry,
                                                           weight: sigma(layer.weight.rho.value), bias: sigma(layer.bias.rho.value), filters: 3)
        for i in 0..<mean.count {
            #expect(abs(mean[i] - expectedMean[i]) < 1e-4)
            #expect(abs(std[i] - expectedVariance[i].squareRoot()) < 1e-4)
        }
    }

    @Test(arguments: [GradientEstimator.local, .weights, .flipout], [0, 1, 2, 3])
    func bayesianConvolutionGradient(estimator: GradientEstimator, case index: Int) {
        let s = Self.geometries[index]
        let layer = BayesianConv2D(channels: s.channels, height: s.height, width: s.width, filters: s.filters, kernelSize: s.kernel,
                                   stride: s.stride, padding: s.padding, estimator: estimator)
        Self.randomize(layer, seed: UInt64(index + 1))
        let input = randomTensor([3, s.channels * s.height * s.width], seed: 3)
        let (error, worst) = maximumGradientError(layer: layer, input: input, step: 1e-2, entriesPerTensor: 16)
        #expect(error < 2e-2, "worst: \(worst)")
    }

    @Test(arguments: [0, 1, 2, 3])
    func convolutionGradient(case index: Int) {
        let s = Self.geometries[index]
        let layer = Conv2D(channels: s.channels, height: s.height, width: s.width, filters: s.filters,
                           kernelSize: s.kernel, stride: s.stride, padding: s.padding)
        var generator = RandomGenerator(seed: 1)
        layer.initialize(generator: &generator)
        generator.fillNormal(layer.bias.value)
        let input = randomTensor([3, s.channels * s.height * s.width], seed: 4)
        let (error, worst) = maximumGradientError(layer: layer, input: input, entriesPerTensor: 16)
        #expect(error < 1e-2, "worst: \(worst)")
    }

    @Test(arguments: [(2, 2), (3, 2), (2, 1)])
    func maxPoolGradient(size: Int, stride: Int) {
        let layer = MaxPool2D(channels: 3, height: 7, width: 6, size: size, stride: stride)
        // Distinct values far apart, so that no finite-difference step changes which input is the maximum.
        let count = 2 * 3 * 7 * 6
        var generator = RandomGenerator(seed: 6)
        var order = Array(0..<count)
        generator.shuffle(&order)
        let input = Tensor(shape: [2, 3 * 7 * 6], values: order.map { Float($0) * 0.1 })
        let (error, worst) = maximumGradientError(layer: layer, input: input, step: 1e-2, entriesPerTensor: 40)
        #expect(error < 1e-2, "worst: \(worst)")
    }

    @Test func maxPoolForward() {
        let layer = MaxPool2D(channels: 1, height: 3, width: 5)
        let input = Tensor(shape: [1, 15], values: [1, 5, 2, 0, 9,
                                                   3, 4, 8, 7, 9,
                                                   6, 6, 6, 6, 6])
        var generator = RandomGenerator(seed: 0)
        let output = layer.forward(input, mode: .train, generator: &generator)
        #expect(output.shape == [1, 1, 1, 2])
        #expect(output.array == [5, 8])
        let gradient = layer.backward(Tensor(shape: [1, 1, 1, 2], values: [1, 2]), needsInputGradient: true)!
        #expect(gradient.array == [0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func flattenGradient() {
        let layer = Flatten()
        let input = Tensor(shape: [2, 3, 2, 2], values: (0..<24).map { Float($0) })
        var generator = RandomGenerator(seed: 0)
        let output = layer.forward(input, mode: .train, generator: &generator)
        #expect(output.shape == [2, 12] && output.array == input.array)
        #expect(layer.outputShape(for: [3, 2, 2]) == [12])
        let (error, worst) = maximumGradientError(layer: layer, input: randomTensor([2, 3, 2, 2], seed: 1))
        #expect(error < 1e-2, "worst: \(worst)")
    }

    /// The KL gradient against finite differences of `klDivergence()`.
    @Test func klGradient() {
        let layer = BayesianConv2D(channels: 2, height: 5, width: 5, filters: 2, kernelSize: 3, priorSigma: 0.7)
        var generator = RandomGenerator(seed: 11)
        generator.fillNormal(layer.weight.mu.value)
        generator.fillNormal(layer.weight.rho.value, mean: -0.5, standardDeviation: 0.8)
        generator.fillNormal(layer.bias.mu.value)
        generator.fillNormal(layer.bias.rho.value)
        layer.parametersDidChange()
        for parameter in layer.parameters { parameter.gradient.fill(0) }
        for block in layer.posteriorBlocks { block.accumulateKLGradient(scale: 1) }
        let step: Float = 1e-2
        for parameter in layer.parameters {
            for index in 0..<parameter.value.count {
                let original = parameter.value.pointer[index]
                parameter.value.pointer[index] = original + step; layer.parametersDidChange()
                let plus = layer.klDivergence()
                parameter.value.pointer[index] = original - step; layer.parametersDidChange()
                let minus = layer.klDivergence()
                parameter.value.pointer[index] = original; layer.parametersDidChange()
                let numeric = Float((plus - minus) / Double(2 * step))
                let exact = parameter.gradient.pointer[index]
                #expect(abs(exact - numeric) <= 2e-3 * max(1, abs(numeric)), "\(parameter.name)[\(index)]: \(exact) vs \(numeric)")
            }
        }
    }

    /// KL against hand values: σ = s, μ = 0 gives 0; μ = 1 adds ½ per weight; σ = ½ gives log 2 + ⅛ − ½ each.
    @Test func klClosedForm() {
        let layer = BayesianConv2D(channels: 2, height: 4, width: 4, filters: 3, kernelSize: 2)  // 24 weights + 3 biases
        layer.weight.rho.value.fill(inverseSoftplus(1))
        layer.bias.rho.value.fill(inverseSoftplus(1))
        layer.parametersDidChange()
        #expect(abs(layer.klDivergence()) < 1e-5)
        layer.weight.mu.value.fill(1)
        layer.parametersDidChange()
        #expect(abs(layer.klDivergence() - 12) < 1e-4)
        layer.weight.mu.value.fill(0)
        layer.weight.rho.value.fill(inverseSoftplus(0.5))
        layer.bias.rho.value.fill(inverseSoftplus(0.5))
        layer.parametersDidChange()
        #expect(abs(layer.klDivergence() - 27 * (log(2.0) + 0.125 - 0.5)) < 1e-4)
    }

    /// He initialisation uses fan-in = channels·k·k and the requested σ.
    @Test func initialization() {
        let layer = BayesianConv2D(channels: 8, height: 10, width: 10, filters: 16, kernelSize: 5)
        var generator = RandomGenerator(seed: 2)
        layer.initialize(.he, initialSigma: 0.02, generator: &generator)
        let values = layer.weight.mu.value.array.map(Double.init)
        let variance = values.map { $0 * $0 }.reduce(0, +) / Double(values.count)
        #expect(abs(variance - 2.0 / 200) < 0.1 * 2.0 / 200)
        #expect(abs(log1p(exp(Double(layer.weight.rho.value[0]))) - 0.02) < 1e-6)
    }

    /// `ClassifierTraining.makeNetwork` (the path `bnn train` takes) initialises every weight layer of
    /// both architectures: He-scaled means and σ = initialSigma, no layer left at μ = 0, ρ = 0. (Left
    /// uninitialised, the convolutions started with σ = softplus(0) = 0.69 and training diverged.)
    @Test(arguments: [Architecture.mlp, .cnn])
    func makeNetworkInitializesEveryLayer(architecture: Architecture) throws {
        var configuration = architecture == .cnn ? TrainingConfiguration.defaultCNN : TrainingConfiguration.default
        configuration.hidden = 32
        var generator = RandomGenerator(seed: 3)
        let network = try ClassifierTraining.makeNetwork(configuration, inputShape: [1, 28, 28], classes: 10, generator: &generator)
        var checked = 0
        for layer in network.layers {
            let parameters: (mu: Tensor, rho: Tensor, fanIn: Int)
            switch layer {
            case let layer as BayesianConv2D: parameters = (layer.weight.mu.value, layer.weight.rho.value, layer.geometry.patchSize)
            case let layer as BayesianDense: parameters = (layer.weight.mu.value, layer.weight.rho.value, layer.inputs)
            default: continue
            }
            checked += 1
            let values = parameters.mu.array.map(Double.init)
            let variance = values.map { $0 * $0 }.reduce(0, +) / Double(values.count)
            let expected = 2.0 / Double(parameters.fanIn)
            #expect(abs(variance - expected) < 0.25 * expected, "\(layer.kind): μ variance \(variance), expected \(expected)")
            #expect(parameters.rho.array.allSatisfy { abs(log1p(exp(Double($0))) - Double(configuration.initialSigma)) < 1e-5 },
                    "\(layer.kind): σ is not \(configuration.initialSigma)")
        }
        #expect(checked == (architecture == .cnn ? 4 : 2))
    }

    /// A small CNN: shapes through forward and backward in every mode, and a gradient on every parameter.
    @Test func smallNetworkShapes() {
        var configuration = TrainingConfiguration.defaultCNN
        configuration.hidden = 16
        let network = NetworkBuilder.cnnNetwork(configuration: configuration, classes: 10, inputShape: [1, 12, 12])
        #expect(network.outputShape == [10])
        var generator = RandomGenerator(seed: 4)
        NetworkBuilder.initialize(network, configuration: configuration, generator: &generator)
        let input = randomTensor([5, 144], seed: 2)
        for mode in [ForwardMode.mean, .sample, .sampleWeights, .train] {
            let logits = network.forward(input, mode: mode, generator: &generator)
            #expect(logits.shape == [5, 10], "\(mode)")
            #expect(logits.array.allSatisfy { $0.isFinite }, "\(mode)")
        }
        for parameter in network.layers.flatMap(\.parameters) { parameter.gradient.fill(.nan) }
        network.backward(randomTensor([5, 10], seed: 3))
        for (name, parameter) in network.namedParameters {
            #expect(parameter.gradient.array.allSatisfy { $0.isFinite }, "\(name)")
        }
        // The predictive fast path (first-layer moments, then sampled layers) works on the [batch, 144] rows.
        let probabilities = Predictive(network: network, chunkSize: 3).sampleProbabilities(input, samples: 4, generator: &generator)
        #expect(probabilities.shape == [4, 5, 10])
        for row in 0..<20 {
            let sum = (0..<10).reduce(Float(0)) { $0 + probabilities[row * 10 + $1] }
            #expect(abs(sum - 1) < 1e-4)
        }
    }

    /// Rebuilding from the stored architecture (as loading a model file does) and copying the parameters
    /// gives the same network.
    @Test func rebuildFromArchitecture() throws {
        var configuration = TrainingConfiguration.defaultCNN
        configuration.hidden = 8
        let mixed = Sequential(inputShape: [2, 9, 9], layers: [
            Conv2D(channels: 2, height: 9, width: 9, filters: 3, kernelSize: 3, stride: 2, padding: 1), ReLU(),
            BayesianConv2D(channels: 3, height: 5, width: 5, filters: 4, kernelSize: 3, padding: 1, estimator: .weights, priorSigma: 0.5),
            MaxPool2D(channels: 4, height: 5, width: 5, size: 3, stride: 1), Flatten(),
            BayesianDense(inputs: 36, outputs: 6),
        ])
        for (network, inputCount) in [(NetworkBuilder.cnnNetwork(configuration: configuration, classes: 10, inputShape: [1, 28, 28]), 784), (mixed, 162)] {
            var generator = RandomGenerator(seed: 9)
            NetworkBuilder.initialize(network, configuration: configuration, generator: &generator)
            let rebuilt = try NetworkBuilder.network(inputShape: network.inputShape, configurations: network.architecture)
            #expect(rebuilt.architecture == network.architecture)
            let source = network.namedParameters, destination = rebuilt.namedParameters
            #expect(source.map(\.name) == destination.map(\.name))
            for (from, to) in zip(source, destination) {
                #expect(from.parameter.value.shape == to.parameter.value.shape)
                to.parameter.value.assign(from: from.parameter.value)
            }
            rebuilt.parametersDidChange()
            let input = randomTensor([3, inputCount], seed: 5)
            let expected = network.forward(input, mode: .mean, generator: &generator).array
            let actual = rebuilt.forward(input, mode: .mean, generator: &generator).array
            #expect(expected == actual)
        }
        #expect(mixed.architecture[2].estimator == "weights" && mixed.architecture[2].priorSigma == 0.5)
    }

    /// Stored architectures that do not fit throw instead of trapping.
    @Test func badArchitecturesThrow() {
        let convolution = LayerConfiguration(kind: "bayesian_conv2d", channels: 1, filters: 4, kernelSize: 3, stride: 1,
                                             padding: 0, height: 10, width: 10)
        #expect(throws: NetworkBuilder.UnknownLayer.self) {
            try NetworkBuilder.network(inputShape: [1, 28, 28], configurations: [convolution])
        }
        var tooLarge = convolution
        tooLarge.kernelSize = 13
        #expect(throws: NetworkBuilder.UnknownLayer.self) {
            try NetworkBuilder.network(inputShape: [1, 10, 10], configurations: [tooLarge])
        }
        var noFilters = convolution
        noFilters.filters = nil
        #expect(throws: NetworkBuilder.UnknownLayer.self) {
            try NetworkBuilder.network(inputShape: [1, 10, 10], configurations: [noFilters])
        }
        let pool = LayerConfiguration(kind: "max_pool2d", channels: 4, kernelSize: 2, stride: 2, height: 9, width: 9)
        #expect(throws: NetworkBuilder.UnknownLayer.self) {
            try NetworkBuilder.network(inputShape: [1, 10, 10], configurations: [convolution, pool])
        }
        let dense = LayerConfiguration(kind: "bayesian_dense", inputs: 10, outputs: 2)
        #expect(throws: NetworkBuilder.UnknownLayer.self) {
            try NetworkBuilder.network(inputShape: [1, 10, 10], configurations: [convolution, LayerConfiguration(kind: "flatten"), dense])
        }
        #expect(throws: Never.self) {
            try NetworkBuilder.network(inputShape: [1, 10, 10],
                                       configurations: [convolution, LayerConfiguration(kind: "flatten"),
                                                        LayerConfiguration(kind: "bayesian_dense", inputs: 256, outputs: 2)])
        }
    }
}
