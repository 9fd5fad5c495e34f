import CBNNKernels
import Foundation

/// Adam with bias correction (Kingma & Ba 2015, Algorithm 1):
///
///     m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²,
///     θ ← θ − α · (m / (1−β₁ᵗ)) / (sqrt(v / (1−β₂ᵗ)) + ε).
///
/// Point parameters take this update as written. Each posterior block takes it in one fused pass per
/// tensor (`bnn_fused_bayes_adam`): the data gradient for ρ is finished from its raw form (see
/// `MeanFieldNormal.RhoGradient`), the closed-form KL gradient is added, μ and ρ are updated, and σ or σ²
/// of the new ρ is written for the next forward pass, instead of four passes over the same arrays. The
/// arithmetic is the unfused sequence's (`completeRhoGradient`, `accumulateKLGradient`, this update),
/// term for term.
///
/// A block whose prior has no closed-form KL (the scale mixture) takes its KL gradient from the block
/// instead (`MeanFieldNormal.accumulateKLGradient`, the one-draw Monte Carlo estimate) before the fused
/// pass, which then adds no KL term.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public private(set) var stepCount = 0

    private let parameters: [Parameter]
    private let firstMoments: [Tensor]
    private let secondMoments: [Tensor]
    private let blocks: [MeanFieldNormal]
    /// m and v of μ and ρ of each block.
    private let blockMoments: [(muFirst: Tensor, muSecond: Tensor, rhoFirst: Tensor, rhoSecond: Tensor)]

    /// Adam over point `parameters` and posterior `blocks` (each parameter in at most one of them).
    public init(parameters: [Parameter], blocks: [MeanFieldNormal] = [], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.blocks = blocks
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoments = parameters.map { Tensor(shape: $0.value.shape) }
        secondMoments = parameters.map { Tensor(shape: $0.value.shape) }
        blockMoments = blocks.map {
            (Tensor(shape: $0.mu.value.shape), Tensor(shape: $0.mu.value.shape), Tensor(shape: $0.mu.value.shape),
             Tensor(shape: $0.mu.value.shape))
        }
    }

    /// Adam over every parameter of `network`: its posterior blocks, and its other parameters as points.
    public convenience init(network: Sequential, learningRate: Float = 1e-3) {
        self.init(parameters: network.pointParameters, blocks: network.posteriorBlocks, learningRate: learningRate)
    }

    /// The constants of one update, with both bias corrections folded into the step size and ε:
    /// α·m̂/(√v̂+ε) = (α·√c₂/c₁)·m/(√v + ε·√c₂) with c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ (same update, one division fewer).
    private struct StepConstants {
        var stepSize: Float
        var epsilonHat: Float
    }

    public func step(klScale: Float) {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - Foundation.pow(beta1, t)
        let correction2 = 1 - Foundation.pow(beta2, t)
        let constants = StepConstants(stepSize: learningRate * correction2.squareRoot() / correction1,
                                      epsilonHat: epsilon * correction2.squareRoot())
        for index in blocks.indices { update(block: index, klScale: klScale, constants) }
        for index in parameters.indices { update(parameter: index, constants) }
    }

    /// The first and second moment estimates (m, v) of a point parameter or of a block's μ or ρ, or nil if
    /// this optimiser does not own it (for tests).
    func moments(of parameter: Parameter) -> (first: Tensor, second: Tensor)? {
        if let index = parameters.firstIndex(where: { $0 === parameter }) { return (firstMoments[index], secondMoments[index]) }
        for (block, moments) in zip(blocks, blockMoments) {
            if block.mu === parameter { return (moments.muFirst, moments.muSecond) }
            if block.rho === parameter { return (moments.rhoFirst, moments.rhoSecond) }
        }
        return nil
    }

    private func update(parameter index: Int, _ constants: StepConstants) {
        let stepSize = constants.stepSize, epsilonHat = constants.epsilonHat
        let b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2
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

    /// The fused step of one posterior block (see `bnn_fused_adam_arguments`).
    private func update(block index: Int, klScale: Float, _ constants: StepConstants) {
        let block = blocks[index], moments = blockMoments[index]
        let refreshed = block.refreshedByStep
        var klScale = klScale
        if !block.prior.hasClosedFormKL {
            block.completeRhoGradient()
            block.accumulateKLGradient(scale: klScale)
            klScale = 0
        }
        var arguments = bnn_fused_adam_arguments()
        arguments.mu = block.mu.value.pointer
        arguments.rho = block.rho.value.pointer
        arguments.mu_gradient = UnsafePointer(block.mu.gradient.pointer)
        switch block.rhoGradient {
        case .rho:
            arguments.rho_source = UnsafePointer(block.rho.gradient.pointer)
            arguments.rho_gradient_form = Int32(BNN_RHO_GRADIENT_GIVEN)
        case .variance:
            arguments.rho_source = UnsafePointer(block.rho.gradient.pointer)
            arguments.rho_gradient_form = Int32(BNN_RHO_GRADIENT_OF_VARIANCE)
        case .noise:
            arguments.rho_source = UnsafePointer(block.noise.pointer)
            arguments.rho_gradient_form = Int32(BNN_RHO_GRADIENT_FROM_NOISE)
        case .sigma:
            arguments.rho_source = UnsafePointer(block.rho.gradient.pointer)
            arguments.rho_gradient_form = Int32(BNN_RHO_GRADIENT_OF_SIGMA)
        }
        arguments.mu_m = moments.muFirst.pointer
        arguments.mu_v = moments.muSecond.pointer
        arguments.rho_m = moments.rhoFirst.pointer
        arguments.rho_v = moments.rhoSecond.pointer
        let stored = block.storage(refreshed).pointer
        arguments.sigma = refreshed == .sigma ? stored : nil
        arguments.variance = refreshed == .variance ? stored : nil
        // The forward pass usually left σ² or σ of this ρ in place; the kernel then reuses it.
        arguments.stored_sigma_is_current = block.current.contains(refreshed) ? 1 : 0
        arguments.kl_scale = klScale
        if case .normal(let priorSigma) = block.prior {
            arguments.inverse_prior_variance = 1 / (priorSigma * priorSigma)
        }
        arguments.beta1 = beta1
        arguments.beta2 = beta2
        arguments.step_size = constants.stepSize
        arguments.epsilon_hat = constants.epsilonHat
        // The sparse moments' packed μ and σ², refreshed in the same pass rather than packed again.
        var refreshedPanel: MeanFieldNormal.Derived = []
        if refreshed == .variance, let panel = block.sparsePanelForStep {
            arguments.panel = panel.values
            arguments.panel_rows = panel.rows
            arguments.panel_columns = panel.columns
            refreshedPanel = .sparsePanel
        }
        let count = block.count
        withUnsafePointer(to: &arguments) { pointer in
            let shared = SendableArguments(pointer)
            // Whole cache lines per thread, so that the two threads never write the same line.
            Parallel.forChunks(of: (count + 15) / 16, minimumChunk: 1 << 12) { lines in
                bnn_fused_bayes_adam(shared.pointer, lines.lowerBound * 16, min(count, lines.upperBound * 16))
            }
        }
        block.stepDidUpdate(refreshed: refreshed.union(refreshedPanel))
    }
}

/// The read-only kernel arguments, shared by the threads of one fused pass.
private struct SendableArguments: @unchecked Sendable {
    let pointer: UnsafePointer<bnn_fused_adam_arguments>
    init(_ pointer: UnsafePointer<bnn_fused_adam_arguments>) { self.pointer = pointer }
}
