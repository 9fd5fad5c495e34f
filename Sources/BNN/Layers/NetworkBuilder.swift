/// Builds networks from an architecture name or from stored layer configurations.
public enum NetworkBuilder {
    /// An error in a stored architecture.
    public struct UnknownLayer: Error, CustomStringConvertible {
        public let description: String
    }

    /// The tutorial's network: `inputs → hidden (ReLU) → classes`, both layers Bayesian.
    public static func mlp(inputs: Int = 784, hidden: Int = 1024, classes: Int = 10,
                           estimator: GradientEstimator = .local, priorSigma: Float = 1) -> Sequential {
        Sequential(inputShape: [inputs], layers: [
            BayesianDense(inputs: inputs, outputs: hidden, estimator: estimator, priorSigma: priorSigma),
            ReLU(),
            BayesianDense(inputs: hidden, outputs: classes, estimator: estimator, priorSigma: priorSigma),
        ])
    }

    /// Rebuilds a network (with zero parameters) from stored layer configurations.
    public static func network(inputShape: [Int], configurations: [LayerConfiguration]) throws -> Sequential {
        guard !configurations.isEmpty else { throw UnknownLayer(description: "architecture has no layers") }
        let layers: [Layer] = try configurations.map { configuration in
            switch configuration.kind {
            case "bayesian_dense":
                guard let inputs = configuration.inputs, let outputs = configuration.outputs, inputs > 0, outputs > 0 else {
                    throw UnknownLayer(description: "bayesian_dense layer needs positive inputs and outputs")
                }
                let estimator = GradientEstimator(rawValue: configuration.estimator ?? "local") ?? .local
                return BayesianDense(inputs: inputs, outputs: outputs, estimator: estimator, priorSigma: configuration.priorSigma ?? 1)
            case "dense":
                guard let inputs = configuration.inputs, let outputs = configuration.outputs, inputs > 0, outputs > 0 else {
                    throw UnknownLayer(description: "dense layer needs positive inputs and outputs")
                }
                return Dense(inputs: inputs, outputs: outputs)
            case "relu":
                return ReLU()
            case "bayesian_conv2d", "conv2d", "max_pool2d", "flatten":
                return try convolutionalLayer(from: configuration)
            default:
                throw UnknownLayer(description: "unknown layer kind '\(configuration.kind)'")
            }
        }
        // Check shapes without trapping: walk them the same way Sequential would.
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            if let dense = layer as? BayesianDense, shape.reduce(1, *) != dense.inputs {
                throw UnknownLayer(description: "layer \(index) expects \(dense.inputs) inputs but receives \(shape.reduce(1, *))")
            }
            if let dense = layer as? Dense, shape.reduce(1, *) != dense.inputs {
                throw UnknownLayer(description: "layer \(index) expects \(dense.inputs) inputs but receives \(shape.reduce(1, *))")
            }
            if let expected = expectedInputCount(of: layer), shape.reduce(1, *) != expected {
                throw UnknownLayer(description: "layer \(index) (\(layer.kind)) expects \(expected) values per example but receives \(shape.reduce(1, *))")
            }
            shape = layer.outputShape(for: shape)
        }
        return Sequential(inputShape: inputShape, layers: layers)
    }
}
