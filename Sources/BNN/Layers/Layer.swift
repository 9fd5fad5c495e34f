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
public protocol Layer: AnyObject {
    /// The layer's type as stored in model files, e.g. `bayesian_dense`.
    var kind: String { get }
    /// The per-example output shape for a per-example input shape.
    func outputShape(for inputShape: [Int]) -> [Int]
    /// The forward pass. In `.train` mode the layer keeps what `backward` needs.
    func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor
    /// The backward pass for the last `.train` forward call: writes every parameter's gradient and returns
    /// the gradient with respect to the input when `needsInputGradient` is true (else nil).
    func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor?
    /// The trainable parameters, in the order they are saved.
    var parameters: [Parameter] { get }
    /// The layer's settings as stored in the model file (JSON-compatible values).
    var configuration: LayerConfiguration { get }
    /// Tells the layer that its parameter values changed (optimiser step, loading), so that values
    /// derived from them (such as σ = softplus(ρ)) are recomputed.
    func parametersDidChange()
}

/// A layer with a posterior over its parameters and a prior to compare it with.
public protocol BayesianLayer: Layer {
    /// KL(q ‖ p) of this layer's posterior from its prior, in nats.
    func klDivergence() -> Double
    /// Adds `scale · ∂KL/∂θ` to every parameter gradient.
    func accumulateKLGradient(scale: Float)
}

/// A layer whose stochastic output, for a fixed input, is Normal per unit with a mean and standard
/// deviation that can be computed once and then sampled many times (local reparameterisation).
public protocol MomentLayer: Layer {
    /// Writes the mean and standard deviation of every output unit for `input` into `mean` and `std`
    /// (both shaped like the output).
    func outputMoments(_ input: Tensor, mean: Tensor, standardDeviation: Tensor)
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public func parametersDidChange() {}
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
