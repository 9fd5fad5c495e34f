import Testing
@testable import BNN

/// A ReLU directly followed by max pooling runs after the pooling (`Sequential.executionOrder`): the
/// network's outputs and gradients are those of the layers run one by one in their own order, bit for bit.
@Suite struct LayerOrderTests {
    static func cnn(seed: UInt64) throws -> Sequential {
        var configuration = TrainingConfiguration.defaultCNN
        configuration.hidden = 6
        var generator = RandomGenerator(seed: seed)
        return try ClassifierTraining.makeNetwork(configuration, inputShape: [1, 8, 8], classes: 3, generator: &generator)
    }

    @Test func reluRunsAfterThePoolingThatFollowsIt() throws {
        let network = try Self.cnn(seed: 1)
        // conv, relu, pool, conv, relu, pool, flatten, dense, relu, dense
        #expect(network.layers.map(\.kind) == ["bayesian_conv2d", "relu", "max_pool2d", "bayesian_conv2d", "relu", "max_pool2d",
                                              "flatten", "bayesian_dense", "relu", "bayesian_dense"])
        #expect(network.executionOrder(0..<10) == [0, 2, 1, 3, 5, 4, 6, 7, 8, 9])
        // A pair cut by the range's end runs in its own order.
        #expect(network.executionOrder(0..<2) == [0, 1] && network.executionOrder(1..<5) == [2, 1, 3, 4])
    }

    @Test func outputsAndGradientsEqualTheLayersRunInTheirOwnOrder() throws {
        let network = try Self.cnn(seed: 1), twin = try Self.cnn(seed: 1)
        let input = randomTensor([5, 64], seed: 2)
        let logitsGradient = randomTensor([5, 3], seed: 3)
        for mode in [ForwardMode.train, .mean, .sample, .sampleWeights] {
            var generator = RandomGenerator(seed: 4), twinGenerator = RandomGenerator(seed: 4)
            let output = network.forward(input, mode: mode, generator: &generator).array
            var activation = input
            for layer in twin.layers { activation = layer.forward(activation, mode: mode, generator: &twinGenerator) }
            #expect(output == activation.array, "\(mode)")
            // The shared prefix of prediction: a range that ends between a ReLU and its pooling.
            var split = RandomGenerator(seed: 4)
            let prefix = network.forward(input, layers: 0..<2, mode: mode, generator: &split)
            #expect(network.forward(prefix, layers: 2..<10, mode: mode, generator: &split).array == output, "\(mode), split")
        }
        var generator = RandomGenerator(seed: 5), twinGenerator = RandomGenerator(seed: 5)
        _ = network.forward(input, mode: .train, generator: &generator)
        network.backward(logitsGradient)
        var activation = input
        for layer in twin.layers { activation = layer.forward(activation, mode: .train, generator: &twinGenerator) }
        var gradient = logitsGradient
        for (index, layer) in twin.layers.enumerated().reversed() {
            guard let next = layer.backward(gradient, needsInputGradient: index > 0) else { break }
            gradient = next
        }
        for ((name, a), (_, b)) in zip(network.namedParameters, twin.namedParameters) {
            #expect(a.gradient.array == b.gradient.array, "\(name)")
        }
        #expect(network.namedParameters.contains { $0.parameter.gradient.array.contains { $0 != 0 } })
    }
}
