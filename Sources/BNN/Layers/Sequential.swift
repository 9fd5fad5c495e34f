/// A feed-forward network: layers applied one after the other, producing class logits.
///
/// `Sequential` owns its layers and knows the per-example input shape, so that it can be saved, rebuilt
/// from its configuration and checked against the data it is given.
public final class Sequential {
    /// The layers, first to last.
    public let layers: [Layer]
    /// The per-example input shape, e.g. `[784]` or `[1, 28, 28]`.
    public let inputShape: [Int]

    /// The indices of `layers` in the order they run: their own, except that a `ReLU` directly followed by
    /// a `MaxPool2D` runs after it. The two commute — max(relu(a), relu(b)) = relu(max(a, b)), ReLU being
    /// monotone — and the ReLU then reads a quarter of the values. Gradients are the same too: where a
    /// window's maximum is positive both orders send the gradient to the same input (the first maximum),
    /// and where it is not both send zero.
    private let order: [Int]

    public init(inputShape: [Int], layers: [Layer]) {
        precondition(!layers.isEmpty, "Sequential needs at least one layer")
        self.inputShape = inputShape
        self.layers = layers
        var order = Array(layers.indices)
        for index in layers.indices.dropLast() where type(of: layers[index]) == ReLU.self && layers[index + 1] is MaxPool2D {
            order.swapAt(index, index + 1)
        }
        self.order = order
        for (index, layer) in layers.enumerated() { (layer as? InputLayerCapable)?.readsNetworkInput = index == 0 }
        _ = outputShape  // checks that consecutive shapes fit
    }

    /// The per-example output shape (the number of classes, for a classifier).
    public var outputShape: [Int] {
        layers.reduce(inputShape) { shape, layer in layer.outputShape(for: shape) }
    }

    /// The number of classes (output units).
    public var classes: Int { outputShape.reduce(1, *) }

    /// The number of values per example the network reads.
    public var inputCount: Int { inputShape.reduce(1, *) }

    /// All trainable parameters with their saved names, `layers.<i>.<name>`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        layers.enumerated().flatMap { index, layer in
            layer.namedParameters.map { ("layers.\(index).\($0.name)", $0.parameter) }
        }
    }

    /// The mean-field posterior blocks of every layer.
    public var posteriorBlocks: [MeanFieldNormal] { layers.flatMap(\.posteriorBlocks) }

    /// The parameters that are not part of a posterior block (point estimates, e.g. of `Dense`).
    public var pointParameters: [Parameter] {
        let inBlocks = Set(posteriorBlocks.flatMap { [ObjectIdentifier($0.mu), ObjectIdentifier($0.rho)] })
        return layers.flatMap(\.parameters).filter { !inBlocks.contains(ObjectIdentifier($0)) }
    }

    /// The number of scalar parameters (μ and ρ count separately).
    public var parameterCount: Int { layers.flatMap(\.parameters).reduce(0) { $0 + $1.value.count } }

    /// The configuration of every layer, for the model file.
    public var architecture: [LayerConfiguration] { layers.map(\.configuration) }

    /// Runs the layers on a batch `[batch, inputCount]` and returns the logits `[batch, classes]`.
    /// The returned tensor is a buffer of the last layer, valid until the next call.
    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        precondition(input.count == input.rows * inputCount, "Sequential expects \(inputCount) values per example, got \(input.shape)")
        var activation = input
        for index in order { activation = layers[index].forward(activation, mode: mode, generator: &generator) }
        return activation
    }

    /// Runs only `layers[range]` on `input` (the output of the layer before the range, or the network's
    /// input when the range starts at 0). The returned tensor is a buffer of one of the range's layers.
    public func forward(_ input: Tensor, layers range: Range<Int>, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= layers.count, "layer range \(range) of \(layers.count) layers")
        var activation = input
        for index in executionOrder(range) { activation = layers[index].forward(activation, mode: mode, generator: &generator) }
        return activation
    }

    /// The indices of `layers[range]` in the order they run (`order`): a ReLU and the max pooling after it
    /// swap places only when both are in the range; the output is the same either way.
    func executionOrder(_ range: Range<Int>) -> [Int] { order.filter(range.contains) }

    /// Whether some layer's output varies from draw to draw in prediction (`Layer.isStochasticInPrediction`);
    /// false for a deterministic network, whose every sample is the same.
    public var isStochasticInPrediction: Bool { layers.contains { $0.isStochasticInPrediction } }

    /// The index of the first layer that is stochastic in prediction (`layers.count` when none is): the
    /// layers before it give the same output in every sample.
    public var firstStochasticLayer: Int { layers.firstIndex { $0.isStochasticInPrediction } ?? layers.count }

    /// Back-propagates the gradient of the loss with respect to the logits through every layer,
    /// writing every parameter gradient.
    public func backward(_ logitsGradient: Tensor) {
        var gradient = logitsGradient
        for (position, index) in order.enumerated().reversed() {
            guard let next = layers[index].backward(gradient, needsInputGradient: position > 0) else { break }
            gradient = next
        }
    }

    /// KL(q ‖ p) summed over the posterior blocks, in nats.
    public func klDivergence() -> Double { layers.reduce(0) { $0 + $1.klDivergence() } }

    /// Tells every layer its parameters changed.
    public func parametersDidChange() { layers.forEach { $0.parametersDidChange() } }
}
