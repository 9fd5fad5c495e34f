import Foundation

/// Builds networks from an architecture name or from stored layer configurations.
public enum NetworkBuilder {
    /// An error in a stored architecture.
    public struct UnknownLayer: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The tutorial's network: `inputs → hidden (ReLU) → classes`, both layers Bayesian.
    public static func mlp(inputs: Int, hidden: Int = 1024, classes: Int,
                           estimator: GradientEstimator = .local, priorSigma: Float = 1) -> Sequential {
        mlp(inputs: inputs, hidden: hidden, classes: classes, estimator: estimator, prior: .normal(sigma: priorSigma))
    }

    /// The tutorial's network with `prior` on every weight and bias.
    public static func mlp(inputs: Int, hidden: Int = 1024, classes: Int, estimator: GradientEstimator = .local,
                           prior: Prior) -> Sequential {
        Sequential(inputShape: [inputs], layers: [
            BayesianDense(inputs: inputs, outputs: hidden, estimator: estimator, prior: prior),
            ReLU(),
            BayesianDense(inputs: hidden, outputs: classes, estimator: estimator, prior: prior),
        ])
    }

    /// The library's MLP for a training method: `inputs → hidden (ReLU) → classes` with Bayesian dense
    /// layers for `bayes` (exactly `mlp(inputs:hidden:classes:estimator:prior:)`), point `Dense`
    /// layers for `deterministic`, and `Dense → ReLU → Dropout → Dense` for `mc-dropout`. `hidden`,
    /// `estimator`, the prior (`layerPrior`) and the dropout rate come from `configuration`; an ensemble's members are
    /// built with `configuration.memberConfiguration(_:)`.
    public static func mlp(inputs: Int, classes: Int, configuration: TrainingConfiguration) -> Sequential {
        Sequential(inputShape: [inputs], layers: [weightLayer(inputs: inputs, outputs: configuration.hidden, configuration)]
                   + hiddenActivation(configuration)
                   + [weightLayer(inputs: configuration.hidden, outputs: classes, configuration)])
    }

    /// A dense layer of the configuration's method: `BayesianDense` for `bayes`, else `Dense`.
    static func weightLayer(inputs: Int, outputs: Int, _ configuration: TrainingConfiguration) -> Layer {
        configuration.trainingMethod == .bayes
            ? BayesianDense(inputs: inputs, outputs: outputs, estimator: configuration.estimator, prior: configuration.layerPrior)
            : Dense(inputs: inputs, outputs: outputs)
    }

    /// What follows a hidden weight layer: a ReLU, and for `mc-dropout` a `Dropout` of the configuration's rate.
    static func hiddenActivation(_ configuration: TrainingConfiguration) -> [Layer] {
        configuration.trainingMethod == .mcDropout ? [ReLU(), Dropout(rate: configuration.effectiveDropoutRate)] : [ReLU()]
    }

    /// Makes layers of kind `kind` from their stored configuration when a model file is loaded, so that a
    /// layer defined outside the library loads like the built-in ones. The maker throws
    /// `UnknownLayer` (never traps) on a configuration it cannot build; registering a kind again replaces
    /// its maker.
    public static func register(kind: String, _ make: @escaping @Sendable (LayerConfiguration) throws -> Layer) {
        LayerRegistry.shared.register(kind: kind, make)
    }

    /// Rebuilds a built-in dense-family layer (`bayesian_dense`, `dense`, `relu`, `dropout`) or an `ensemble`
    /// (its members rebuilt by `network(inputShape:configurations:parameterBudget:)`).
    static func denseLayer(from configuration: LayerConfiguration) throws -> Layer {
        switch configuration.kind {
        case "bayesian_dense":
            guard let inputs = configuration.inputs, let outputs = configuration.outputs, inputs > 0, outputs > 0 else {
                throw UnknownLayer(description: "bayesian_dense layer needs positive inputs and outputs")
            }
            let estimator = GradientEstimator(rawValue: configuration.estimator ?? "local") ?? .local
            return BayesianDense(inputs: inputs, outputs: outputs, estimator: estimator, prior: try configuration.layerPrior())
        case "dense":
            guard let inputs = configuration.inputs, let outputs = configuration.outputs, inputs > 0, outputs > 0 else {
                throw UnknownLayer(description: "dense layer needs positive inputs and outputs")
            }
            return Dense(inputs: inputs, outputs: outputs)
        case "relu":
            return ReLU()
        case "dropout":
            guard let rate = configuration.rate, rate > 0, rate < 1 else {
                throw UnknownLayer(description: "dropout layer needs a rate in (0, 1), has \(configuration.rate.map { "\($0)" } ?? "none")")
            }
            return Dropout(rate: rate)
        case "ensemble":
            guard let inputShape = configuration.inputShape, let members = configuration.members, members.count >= 2 else {
                throw UnknownLayer(description: "ensemble layer needs an inputShape and at least two members")
            }
            var networks: [Sequential] = []
            for (index, layers) in members.enumerated() {
                if layers.contains(where: { $0.kind == "ensemble" }) {
                    throw UnknownLayer(description: "ensemble member \(index) holds an ensemble; members are plain networks")
                }
                do {
                    networks.append(try network(inputShape: inputShape, configurations: layers))
                } catch {
                    throw UnknownLayer(description: "ensemble member \(index): \(error)")
                }
                if networks[index].classes != networks[0].classes {
                    throw UnknownLayer(description: "ensemble member \(index) gives \(networks[index].classes) classes, member 0 \(networks[0].classes)")
                }
            }
            return Ensemble(members: networks)
        default:
            throw UnknownLayer(description: "unknown layer kind '\(configuration.kind)'")
        }
    }

    /// The most values a stored architecture may ask for in one tensor (a layer's weights, or one
    /// example's values at any point of the network): 2^28, 1 GiB of `Float`. Far beyond any network this
    /// library trains, and small enough that a damaged or crafted file is refused before it allocates.
    public static let maximumTensorSize = 1 << 28

    /// Rebuilds a network (with zero parameters) from stored layer configurations.
    ///
    /// Every size is checked before anything is allocated: positive, with checked products, each tensor at
    /// most `maximumTensorSize` values, and, when `parameterBudget` is given (the values a model file
    /// actually stores), all parameters together at most that many.
    public static func network(inputShape: [Int], configurations: [LayerConfiguration],
                               parameterBudget: Int? = nil) throws -> Sequential {
        guard !configurations.isEmpty else { throw UnknownLayer(description: "architecture has no layers") }
        guard let inputCount = Tensor.elementCount(of: inputShape), inputCount > 0, inputCount <= maximumTensorSize else {
            throw UnknownLayer(description: "input shape \(inputShape) must be positive sizes of at most \(maximumTensorSize) values in all")
        }
        var parameters = 0
        for (index, configuration) in configurations.enumerated() {
            let (sum, overflow) = parameters.addingReportingOverflow(try parameterCount(of: configuration, index: index))
            guard !overflow else { throw UnknownLayer(description: "the layers hold more parameters than fit in memory") }
            parameters = sum
        }
        if let parameterBudget, parameters > parameterBudget {
            throw UnknownLayer(description: "the layers need \(parameters) parameter values, the file stores \(parameterBudget)")
        }
        let layers: [Layer] = try configurations.map { configuration in
            guard let make = LayerRegistry.shared.maker(for: configuration.kind) else {
                throw UnknownLayer(description: "unknown layer kind '\(configuration.kind)'")
            }
            return try make(configuration)
        }
        // Check shapes without trapping: walk them the same way Sequential would.
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            if let expected = layer.inputCount, shape.reduce(1, *) != expected {
                throw UnknownLayer(description: "layer \(index) (\(layer.kind)) expects \(expected) values per example but receives \(shape.reduce(1, *))")
            }
            shape = layer.outputShape(for: shape)
        }
        return Sequential(inputShape: inputShape, layers: layers)
    }

    /// The parameter values (means and ρ of Bayesian layers) that layer `index` of a stored architecture
    /// holds, after checking each of its sizes as `network(inputShape:configurations:parameterBudget:)` says.
    static func parameterCount(of configuration: LayerConfiguration, index: Int) throws -> Int {
        func size(_ shape: [Int?], _ what: String) throws -> Int {
            let known = shape.compactMap { $0 }
            guard known.count == shape.count, known.allSatisfy({ $0 > 0 }), let count = Tensor.elementCount(of: known),
                  count <= maximumTensorSize else {
                let shown = shape.map { $0.map(String.init) ?? "missing" }.joined(separator: "×")
                throw UnknownLayer(description: "layer \(index) (\(configuration.kind)): \(what) \(shown) must be positive sizes of at most \(maximumTensorSize) values")
            }
            return count
        }
        let c = configuration
        switch c.kind {
        case "bayesian_dense", "dense":
            let weights = try size([c.inputs, c.outputs], "weights")
            let perTensor = weights + (c.outputs ?? 0)
            return c.kind == "dense" ? perTensor : 2 * perTensor
        case "bayesian_conv2d", "conv2d":
            _ = try size([c.channels, c.height, c.width], "input")
            let weights = try size([c.filters, c.channels, c.kernelSize, c.kernelSize], "weights")
            // Every output position holds one patch in the unfolded input: bound the output plane too.
            let padding = c.padding ?? 0, stride = c.stride ?? 1
            guard padding >= 0, padding <= maximumTensorSize, stride > 0 else {
                throw UnknownLayer(description: "layer \(index) (\(c.kind)): padding \(padding) and stride \(stride) are out of range")
            }
            _ = try size([c.filters, (c.height ?? 0) + 2 * padding, (c.width ?? 0) + 2 * padding], "output")
            _ = try size([c.channels, c.kernelSize, c.kernelSize, (c.height ?? 0) + 2 * padding, (c.width ?? 0) + 2 * padding],
                         "unfolded input")
            let perTensor = weights + (c.filters ?? 0)
            return c.kind == "conv2d" ? perTensor : 2 * perTensor
        case "max_pool2d":
            _ = try size([c.channels, c.height, c.width], "input")
            return 0
        case "ensemble":
            // The members' layers, each checked as a layer of its own; nested ensembles are refused when built.
            var total = 0
            for member in c.members ?? [] {
                for (position, layer) in member.enumerated() where layer.kind != "ensemble" {
                    let (sum, overflow) = total.addingReportingOverflow(try parameterCount(of: layer, index: position))
                    guard !overflow else { throw UnknownLayer(description: "layer \(index) (ensemble): its members hold more parameters than fit in memory") }
                    total = sum
                }
            }
            return total
        default:
            return 0
        }
    }
}

/// The makers of every layer kind a model file may name: the built-in kinds, and those registered with
/// `NetworkBuilder.register`.
final class LayerRegistry: @unchecked Sendable {
    typealias Maker = @Sendable (LayerConfiguration) throws -> Layer
    static let shared = LayerRegistry()

    private let lock = NSLock()
    private var makers: [String: Maker] = [:]

    private init() {
        for kind in ["bayesian_dense", "dense", "relu", "dropout", "ensemble"] { makers[kind] = NetworkBuilder.denseLayer(from:) }
        for kind in ["bayesian_conv2d", "conv2d", "max_pool2d", "flatten"] { makers[kind] = NetworkBuilder.convolutionalLayer(from:) }
    }

    func register(kind: String, _ make: @escaping Maker) {
        lock.lock()
        defer { lock.unlock() }
        makers[kind] = make
    }

    func maker(for kind: String) -> Maker? {
        lock.lock()
        defer { lock.unlock() }
        return makers[kind]
    }
}
