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

    /// Applies one update to every parameter from its current gradient.
    public func step() {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - Foundation.pow(beta1, t)
        let correction2 = 1 - Foundation.pow(beta2, t)
        // Fold both bias corrections into the step size and ε (same update, one division fewer):
        // α·m̂/(√v̂+ε) = (α·√c₂/c₁)·m/(√v + ε·√c₂).
        let stepSize = learningRate * correction2.squareRoot() / correction1
        let epsilonHat = epsilon * correction2.squareRoot()
        let b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2
        for (index, parameter) in parameters.enumerated() {
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
}
