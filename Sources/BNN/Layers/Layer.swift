/// A trainable tensor with its gradient, owned by a layer.
///
/// Optimisers update `value` from `gradient`; layers overwrite `gradient` in `backward`.
public final class Parameter: @unchecked Sendable {
    /// The name within its layer, e.g. `weight.mu` or `bias`.
    public let name: String
    /// The current value.
    public let value: Tensor
    /// The gradient of the loss with respect to `value`, written by the last backward pass.
    public let gradient: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        self.gradient = Tensor(shape: value.shape)
    }
}

/// How a forward pass treats randomness.
public enum ForwardMode: Sendable {
    /// Training: stochastic, and the layer keeps what `backward` needs.
    case train
    /// Prediction with one posterior sample per example (local reparameterisation where the layer has
    /// it); nothing is kept for a backward pass.
    case sample
    /// Prediction with one weight sample shared by the whole batch ("sampling whole networks").
    case sampleWeights
    /// Prediction with the posterior means (a deterministic network).
    case mean
}

extension ForwardMode {
    /// The matrix-multiply path a layer uses in this mode: prediction modes use
    /// `MatrixMultiply.rowStablePath`, so that an input's output does not depend on the rest of the
    /// batch; training takes the automatic choice.
    public var matrixMultiplyPath: MatrixMultiply.Path? { self == .train ? nil : MatrixMultiply.rowStablePath }
}

/// One step of a feed-forward network: `forward` maps a batch to a batch, `backward` maps the gradient
/// of the loss with respect to the output to the gradient with respect to the input, writing parameter
/// gradients on the way.
///
/// Tensors are batch-first: `[batch, features]` or `[batch, channels, height, width]`. A layer may
/// return the same output tensor from call to call (its buffers are reused while the batch size stays
/// the same), so callers must consume an output before the next forward call of the same layer.
///
/// A Bayesian layer holds its posterior as `MeanFieldNormal` blocks and lists them in `posteriorBlocks`;
/// with that alone it gets initialisation, the KL term, the optimiser's fused step and saving and loading
/// (register its kind with `NetworkBuilder.register`). The other optional requirements are capabilities
/// that the fast prediction paths look for; a layer that declares none of them still works everywhere.
public protocol Layer: AnyObject {
    /// The layer's type as stored in model files, e.g. `bayesian_dense`.
    var kind: String { get }
    /// The per-example output shape for a per-example input shape.
    func outputShape(for inputShape: [Int]) -> [Int]
    /// The forward pass. In `.train` mode the layer keeps what `backward` needs.
    func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor
    /// The backward pass for the last `.train` forward call: writes the data term's gradient of every
    /// parameter (for posterior blocks, ρ's in the form the block's `rhoGradient` names) and returns the
    /// gradient with respect to the input when `needsInputGradient` is true (else nil).
    func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor?
    /// Every parameter, in the order they are saved (by default the blocks' μ and ρ, block by block).
    var parameters: [Parameter] { get }
    /// The mean-field posterior blocks (empty for a deterministic layer).
    var posteriorBlocks: [MeanFieldNormal] { get }
    /// The layer's settings as stored in the model file (JSON-compatible values).
    var configuration: LayerConfiguration { get }
    /// Initialises the parameters before training: by default each block with `initialization`, where
    /// σ = `initialSigma` for `he`; deterministic layers use their own rule (He initialisation).
    func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator)
    /// Tells the layer that its parameter values were changed from outside (loading, tests), so that
    /// values derived from them (such as σ = softplus(ρ)) are recomputed. Optimiser steps need no call.
    func parametersDidChange()
    /// The number of values per example the layer reads, or nil when it takes any number (checked when a
    /// network is rebuilt from a file).
    var inputCount: Int? { get }
    /// Whether prediction should sample this layer's weights (whole networks) rather than its outputs:
    /// true when local reparameterisation would be inexact, e.g. for a convolution, whose outputs share
    /// their filter and so are correlated.
    var samplesWeightsInPrediction: Bool { get }
    /// Whether the layer's output in the sampling prediction modes (`.sample`, `.sampleWeights`) varies
    /// from draw to draw. A layer that says false must not read `generator` in those modes: `Predictive`
    /// then computes a network without such layers once and replicates it, and runs the layers before
    /// the first stochastic one once per input rather than once per sample. By default a layer with
    /// posterior blocks is stochastic and one without is not; a layer that draws other noise (`Dropout`)
    /// says so.
    var isStochasticInPrediction: Bool { get }
    /// Every parameter with its name within the layer, in saving order (by default `parameters` under their
    /// own names); a layer that holds whole networks (`Ensemble`) prefixes them with the network's place.
    var namedParameters: [(name: String, parameter: Parameter)] { get }
}

extension Layer {
    public var posteriorBlocks: [MeanFieldNormal] { [] }
    public var parameters: [Parameter] { posteriorBlocks.flatMap { [$0.mu, $0.rho] } }
    public func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator) {
        for block in posteriorBlocks { block.initialize(initialization, initialSigma: initialSigma, generator: &generator) }
    }
    public func parametersDidChange() { for block in posteriorBlocks { block.parametersDidChange() } }
    public var inputCount: Int? { nil }
    public var samplesWeightsInPrediction: Bool { false }
    public var isStochasticInPrediction: Bool { !posteriorBlocks.isEmpty }
    public var namedParameters: [(name: String, parameter: Parameter)] { parameters.map { ($0.name, $0) } }

    /// KL(q ‖ p) of the layer's posterior blocks from their priors, in nats.
    public func klDivergence() -> Double { posteriorBlocks.reduce(0) { $0 + $1.klDivergence() } }
}

/// A layer whose stochastic output, for a fixed input, is Normal per unit with a mean and standard
/// deviation that can be computed once and then sampled many times (local reparameterisation).
public protocol MomentLayer: Layer {
    /// Writes the mean and standard deviation of every output unit for `input` into `mean` and `std`
    /// (both shaped like the output). Each row's result depends on that row alone, bit for bit.
    /// `precision` is the arithmetic the caller asks for (`Predictive.precision`); a layer whose products
    /// follow `ComputeSettings.matrixPrecision` instead says so.
    func outputMoments(_ input: Tensor, mean: Tensor, standardDeviation: Tensor, precision: MatrixPrecision)
}

extension MomentLayer {
    /// `outputMoments` in fp32.
    public func outputMoments(_ input: Tensor, mean: Tensor, standardDeviation: Tensor) {
        outputMoments(input, mean: mean, standardDeviation: standardDeviation, precision: .float32)
    }
}

/// A layer with a faster path for the network's own input (such as sparse images), which `Sequential`
/// turns on for its first layer. Deeper layers keep their general path.
public protocol InputLayerCapable: Layer {
    /// Whether this layer reads the network's input (set by `Sequential`).
    var readsNetworkInput: Bool { get set }
}

/// A fully connected layer with a mean-field Normal posterior, `y = x·W + b`, whose posterior the fused
/// uncertainty pass (`bnn_fused_sample_mlp`) reads directly when the layer ends a network.
public protocol DensePosteriorLayer: Layer {
    var inputs: Int { get }
    var outputs: Int { get }
    /// μ and σ² of the weights `[inputs, outputs]` and biases `[outputs]`, current until the parameters change.
    func posteriorMeanAndVariance() -> (weightMean: Tensor, weightVariance: Tensor, biasMean: Tensor, biasVariance: Tensor)
}

/// An element-wise activation function that the fused uncertainty pass can apply itself.
public enum Activation: Sendable {
    case relu
}

/// A layer that applies an element-wise `Activation` and nothing else.
public protocol ActivationLayer: Layer {
    var activation: Activation { get }
}

/// A reusable output buffer that is reallocated only when the needed shape changes.
struct Workspace {
    private(set) var tensor: Tensor?

    mutating func tensor(shape: [Int]) -> Tensor {
        if let tensor, tensor.shape == shape { return tensor }
        let fresh = Tensor(shape: shape)
        tensor = fresh
        return fresh
    }
}
