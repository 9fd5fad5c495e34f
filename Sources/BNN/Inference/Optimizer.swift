/// Updates a network's parameters from their gradients, one step at a time.
///
/// An optimiser is given two kinds of parameters when it is made: point parameters (`Parameter`, e.g. a
/// deterministic layer's weights), updated from the gradient the backward pass wrote, and mean-field
/// posterior blocks (`MeanFieldNormal`), for which a step also adds the KL term's gradient and leaves the
/// block's derived values (σ or σ²) current for the next forward pass. The training loop is
/// forward → loss → backward → `step(klScale:)`.
public protocol Optimizer: AnyObject {
    /// The step size of the next step.
    var learningRate: Float { get set }
    /// The number of steps taken so far.
    var stepCount: Int { get }
    /// One update of every parameter and block from the gradients of the last backward pass, with the
    /// posterior blocks' KL divergence weighted by `klScale` (κ in the loss `data term + κ · KL`).
    func step(klScale: Float)
}
