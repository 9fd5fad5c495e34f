import Foundation

/// Adam with bias correction (Kingma & Ba 2015, Algorithm 1):
///
///     m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²,
///     θ ← θ − α · (m / (1−β₁ᵗ)) / (sqrt(v / (1−β₂ᵗ)) + ε).
///
/// The moment estimates live beside each parameter; one `step` updates all of them.
public final class Adam {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    /// The number of steps taken so far (t).
    public private(set) var stepCount = 0

    private let parameters: [Parameter]
    private let firstMoments: [Tensor]
    private let secondMoments: [Tensor]

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoments = parameters.map { Tensor(shape: $0.value.shape) }
        secondMoments = parameters.map { Tensor(shape: $0.value.shape) }
    }

    /// The constants of one update, with both bias corrections folded into the step size and ε:
    /// α·m̂/(√v̂+ε) = (α·√c₂/c₁)·m/(√v + ε·√c₂) with c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ (same update, one division fewer).
    struct StepConstants {
        var stepSize: Float
        var epsilonHat: Float
        var beta1: Float
        var beta2: Float
    }

    /// Applies one update to every parameter from its current gradient.
    public func step() {
        let constants = beginStep()
        for index in parameters.indices { update(index, constants) }
    }

    /// Starts step t + 1 and returns its constants; the caller then updates every parameter exactly once,
    /// either through `update(skipping:_:)` or a fused kernel that uses `moments(of:)`.
    func beginStep() -> StepConstants {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - Foundation.pow(beta1, t)
        let correction2 = 1 - Foundation.pow(beta2, t)
        return StepConstants(stepSize: learningRate * correction2.squareRoot() / correction1,
                             epsilonHat: epsilon * correction2.squareRoot(), beta1: beta1, beta2: beta2)
    }

    /// The first and second moment estimates (m, v) of `parameter`, or nil if this optimiser does not own it.
    func moments(of parameter: Parameter) -> (first: Tensor, second: Tensor)? {
        guard let index = parameters.firstIndex(where: { $0 === parameter }) else { return nil }
        return (firstMoments[index], secondMoments[index])
    }

    /// Updates every parameter whose position in `parameters` is not flagged in `skipped` (which is
    /// indexed like the parameter list given at `init`).
    func update(skipping skipped: [Bool], _ constants: StepConstants) {
        for index in parameters.indices where !skipped[index] { update(index, constants) }
    }

    /// The parameters, in the order given at `init`.
    var parameterList: [Parameter] { parameters }

    private func update(_ index: Int, _ constants: StepConstants) {
        let stepSize = constants.stepSize, epsilonHat = constants.epsilonHat
        let b1 = constants.beta1, b2 = constants.beta2, c1 = 1 - constants.beta1, c2 = 1 - constants.beta2
        let parameter = parameters[index]
        let theta = SendablePointer(parameter.value.pointer)
        let gradient = SendablePointer(parameter.gradient.pointer)
        let m = SendablePointer(firstMoments[index].pointer)
        let v = SendablePointer(secondMoments[index].pointer)
        Parallel.forChunks(of: parameter.value.count, minimumChunk: 1 << 16) { range in
            let theta = theta.pointer, gradient = gradient.pointer, m = m.pointer, v = v.pointer
            for i in range {
                let g = gradient[i]
                let mi = b1 * m[i] + c1 * g
                let vi = b2 * v[i] + c2 * g * g
                m[i] = mi
                v[i] = vi
                theta[i] -= stepSize * mi / (vi.squareRoot() + epsilonHat)
            }
        }
    }
}
