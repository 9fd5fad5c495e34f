import CBNNKernels
import Foundation

/// How a Bayesian layer turns its weight posterior into a stochastic forward pass during training.
public enum GradientEstimator: String, Codable, Sendable, CaseIterable {
    /// Local reparameterisation (Kingma, Salimans & Welling 2015): sample each pre-activation from
    /// N(x·μ, x²·σ²) instead of sampling weights. Independent noise per example, lower-variance gradients.
    case local
    /// One weight sample W = μ + σ ⊙ ε per minibatch, shared by every example (as the Pyro tutorial did).
    case weights
}

/// How the posterior parameters start.
public enum PosteriorInitialization: String, Codable, Sendable {
    /// μ ~ N(0, 2/inputs) (He et al. 2015) and σ = `initialSigma` everywhere.
    case he
    /// μ ~ N(0, 1) and ρ ~ N(0, 1), σ = softplus(ρ): the Pyro tutorial's initialisation.
    case standardNormal
}

/// A fully connected layer with a mean-field Normal posterior over its weights and biases.
///
/// Concretely, for input `x` of shape `[batch, inputs]`, the output is `x·W + b` with
/// `W[i, j] ~ N(μ[i, j], σ[i, j]²)`, `b[j] ~ N(μ_b[j], σ_b[j]²)`, and `σ = softplus(ρ) = log(1 + e^ρ)` so
/// that `ρ` is unconstrained. The prior is `N(0, s²)` on every weight and bias, and the KL term has the
/// closed form (per weight)
///
///     KL(N(μ, σ²) ‖ N(0, s²)) = log(s/σ) + (σ² + μ²) / (2s²) − ½.
///
/// Weights are stored `[inputs, outputs]` so that the forward pass is one plain matrix multiply.
/// References: Blundell et al. 2015 ("Weight Uncertainty in Neural Networks"); Kingma et al. 2015
/// ("Variational Dropout and the Local Reparameterization Trick").
public final class BayesianDense: BayesianLayer, MomentLayer, FusedAdamLayer {
    public let kind = "bayesian_dense"
    public let inputs: Int
    public let outputs: Int
    public var estimator: GradientEstimator
    /// The prior's standard deviation `s`.
    public let priorSigma: Float

    public let weightMu: Parameter
    public let weightRho: Parameter
    public let biasMu: Parameter
    public let biasRho: Parameter

    // σ and σ² of weights and biases, refreshed from ρ before each forward pass that needs them.
    private let weightSigma: Tensor
    private let weightVariance: Tensor
    private let biasSigma: Tensor
    private let biasVariance: Tensor
    // sigmoid(ρ) = ∂σ/∂ρ, for the chain rule of the unfused path.
    private let weightSigmoid: Tensor
    private let biasSigmoid: Tensor

    /// Which values derived from ρ are up to date. Each pass refreshes only what it reads, so that the
    /// fused training step (which writes σ² or σ itself) never pays for the others.
    private struct Derived: OptionSet {
        let rawValue: UInt8
        static let sigma = Derived(rawValue: 1)
        static let variance = Derived(rawValue: 2)
        static let sigmoid = Derived(rawValue: 4)
        static let all: Derived = [.sigma, .variance, .sigmoid]
    }
    private var current: Derived = []
    /// See `FusedAdamLayer`.
    var defersRhoGradient = false
    /// Whether the training forward pass may take the sparse moments (`prefersSparseMoments`). The
    /// trainer sets it for a first layer, which sees the images themselves: the sparse kernel and its
    /// 30% rule were measured on MNIST digits; deeper layers keep the matrix multiplies.
    var sparseInputsInTraining = false

    // Buffers kept between forward and backward (resized only when the batch size changes).
    private var savedInput: Tensor?
    private var inputSquared = Workspace()
    private var outputBuffer = Workspace()
    private var meanBuffer = Workspace()
    private var stdBuffer = Workspace()
    private var noiseBuffer = Workspace()
    private var varianceGradient = Workspace()
    private var inputGradient = Workspace()
    private let weightNoise: Tensor
    private let sampledWeight: Tensor
    private let sampledBias: Tensor

    public init(inputs: Int, outputs: Int, estimator: GradientEstimator = .local, priorSigma: Float = 1) {
        precondition(inputs > 0 && outputs > 0, "BayesianDense needs positive sizes, got \(inputs)→\(outputs)")
        self.inputs = inputs
        self.outputs = outputs
        self.estimator = estimator
        self.priorSigma = priorSigma
        weightMu = Parameter(name: "weight.mu", value: Tensor(shape: [inputs, outputs]))
        weightRho = Parameter(name: "weight.rho", value: Tensor(shape: [inputs, outputs]))
        biasMu = Parameter(name: "bias.mu", value: Tensor(shape: [outputs]))
        biasRho = Parameter(name: "bias.rho", value: Tensor(shape: [outputs]))
        weightSigma = Tensor(shape: [inputs, outputs])
        weightVariance = Tensor(shape: [inputs, outputs])
        biasSigma = Tensor(shape: [outputs])
        biasVariance = Tensor(shape: [outputs])
        weightSigmoid = Tensor(shape: [inputs, outputs])
        biasSigmoid = Tensor(shape: [outputs])
        weightNoise = Tensor(shape: [inputs, outputs])
        sampledWeight = Tensor(shape: [inputs, outputs])
        sampledBias = Tensor(shape: [outputs])
    }

    /// Initialises μ and ρ (see `PosteriorInitialization`).
    public func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator) {
        switch initialization {
        case .he:
            generator.fillNormal(weightMu.value, standardDeviation: (2 / Float(inputs)).squareRoot())
            biasMu.value.fill(0)
            let rho = inverseSoftplus(initialSigma)
            weightRho.value.fill(rho)
            biasRho.value.fill(rho)
        case .standardNormal:
            generator.fillNormal(weightMu.value)
            generator.fillNormal(weightRho.value)
            generator.fillNormal(biasMu.value)
            generator.fillNormal(biasRho.value)
        }
        parametersDidChange()
    }

    /// Call after changing μ or ρ outside `forward`/optimiser steps (e.g. after loading).
    public func parametersDidChange() { current = [] }

    public var parameters: [Parameter] { [weightMu, weightRho, biasMu, biasRho] }

    public var configuration: LayerConfiguration {
        LayerConfiguration(kind: kind, inputs: inputs, outputs: outputs, estimator: estimator.rawValue, priorSigma: priorSigma)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == inputs, "BayesianDense expects \(inputs) inputs, got shape \(inputShape)")
        return [outputs]
    }

    /// Recomputes whichever of σ = softplus(ρ), σ² and sigmoid(ρ) in `needed` is stale, for weights and
    /// biases, in one pass over ρ.
    private func refresh(_ needed: Derived) {
        let missing = needed.subtracting(current)
        if missing.isEmpty { return }
        Self.refresh(missing, rho: weightRho.value, sigma: weightSigma, variance: weightVariance, sigmoid: weightSigmoid)
        Self.refresh(missing, rho: biasRho.value, sigma: biasSigma, variance: biasVariance, sigmoid: biasSigmoid)
        current.formUnion(missing)
    }

    private static func refresh(_ missing: Derived, rho: Tensor, sigma: Tensor, variance: Tensor, sigmoid: Tensor) {
        let count = rho.count
        let rhoPointer = SendablePointer(rho.pointer)
        let sigmaPointer = SendablePointer(sigma.pointer), variancePointer = SendablePointer(variance.pointer)
        let sigmoidPointer = SendablePointer(sigmoid.pointer)
        // Whole cache lines per thread, so that the two threads never write the same line.
        Parallel.forChunks(of: (count + 15) / 16, minimumChunk: 1 << 12) { blocks in
            let first = blocks.lowerBound * 16, last = min(count, blocks.upperBound * 16)
            bnn_fused_refresh(rhoPointer.pointer + first, missing.contains(.sigma) ? sigmaPointer.pointer + first : nil,
                              missing.contains(.variance) ? variancePointer.pointer + first : nil,
                              missing.contains(.sigmoid) ? sigmoidPointer.pointer + first : nil, last - first)
        }
    }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        precondition(input.count == batch * inputs, "BayesianDense expects \(inputs) inputs per example, got \(input.shape)")
        let output = outputBuffer.matrix(rows: batch, columns: outputs)
        switch mode {
        case .mean:
            MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                                b: weightMu.value.pointer, ldb: outputs, c: output.pointer, ldc: outputs, path: mode.matrixMultiplyPath)
            Elementwise.addRow(biasMu.value.pointer, to: output.pointer, rows: batch, columns: outputs)
        case .sampleWeights:
            refresh(.sigma)
            sampleWeights(generator: &generator)
            MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                                b: sampledWeight.pointer, ldb: outputs, c: output.pointer, ldc: outputs, path: mode.matrixMultiplyPath)
            Elementwise.addRow(sampledBias.pointer, to: output.pointer, rows: batch, columns: outputs)
        case .sample:
            let mean = meanBuffer.matrix(rows: batch, columns: outputs)
            let std = stdBuffer.matrix(rows: batch, columns: outputs)
            outputMoments(input, mean: mean, standardDeviation: std)
            let noise = noiseBuffer.matrix(rows: batch, columns: outputs)
            generator.fillNormal(noise)
            Elementwise.affineNoise(mean: mean.pointer, std: std.pointer, noise: noise.pointer, into: output.pointer, count: output.count)
        case .train:
            savedInput = input
            // The unfused backward pass chains through σ and sigmoid(ρ); the fused step needs neither.
            if !defersRhoGradient { refresh(.all) }
            switch estimator {
            case .local:
                // x·μ and x²·σ² by matrix multiplies, then bias, square root and noise in one pass:
                // out = (x·μ + μ_b) + sqrt(x²·σ² + σ_b²)·ε, keeping the standard deviation for backward.
                refresh(.variance)
                let mean = meanBuffer.matrix(rows: batch, columns: outputs)
                let std = stdBuffer.matrix(rows: batch, columns: outputs)
                let squared = inputSquared.matrix(rows: batch, columns: inputs)
                Elementwise.square(input.pointer, squared.pointer, count: squared.count)
                if sparseInputsInTraining && Self.prefersSparseMoments(input.pointer, count: input.count) {
                    // Mostly-zero images (the digits): the sums over non-zero inputs only.
                    sparseMoments(input, mean: mean, variance: std, withBias: false)
                } else {
                    MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                                        b: weightMu.value.pointer, ldb: outputs, c: mean.pointer, ldc: outputs)
                    MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: squared.pointer, lda: inputs,
                                        b: weightVariance.pointer, ldb: outputs, c: std.pointer, ldc: outputs)
                }
                let noise = noiseBuffer.matrix(rows: batch, columns: outputs)
                generator.fillNormal(noise)
                bnn_fused_local_output(mean.pointer, std.pointer, biasMu.value.pointer, biasVariance.pointer, noise.pointer,
                                       output.pointer, batch, outputs)
            case .weights:
                refresh(.sigma)
                sampleWeights(generator: &generator)
                MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                                    b: sampledWeight.pointer, ldb: outputs, c: output.pointer, ldc: outputs)
                Elementwise.addRow(sampledBias.pointer, to: output.pointer, rows: batch, columns: outputs)
            }
        }
        return output
    }

    /// Draws W = μ + σ ⊙ ε and b = μ_b + σ_b ⊙ ε_b, keeping ε for the backward pass. The weight noise is
    /// drawn and used in one pass (`bnn_fused_sample_weights`), the same stream `fillNormal` would give.
    private func sampleWeights(generator: inout RandomGenerator) {
        let key = generator.next()
        let count = sampledWeight.count
        let mu = SendablePointer(weightMu.value.pointer), sigma = SendablePointer(weightSigma.pointer)
        let noise = SendablePointer(weightNoise.pointer), weight = SendablePointer(sampledWeight.pointer)
        // Whole 64-draw groups of the stream per thread, so that no group is generated twice.
        Parallel.forChunks(of: (count + 63) / 64, minimumChunk: 1 << 10) { groups in
            let first = groups.lowerBound * 64, last = min(count, groups.upperBound * 64)
            bnn_fused_sample_weights(mu.pointer, sigma.pointer, noise.pointer, weight.pointer, first, last - first, key)
        }
        // The bias noise is kept in the bias-gradient slot of ρ until backward (it is overwritten there).
        generator.fillNormal(biasRho.gradient)
        Elementwise.affineNoise(mean: biasMu.value.pointer, std: biasSigma.pointer, noise: biasRho.gradient.pointer,
                                into: sampledBias.pointer, count: outputs)
    }

    /// Mean `x·μ + μ_b` and standard deviation `sqrt(x²·σ² + σ_b²)` of each pre-activation (Kingma et al.
    /// 2015, eq. 6), for a fixed input.
    ///
    /// Each row's result depends on that row alone, bit for bit, whatever the other rows: rows that are
    /// mostly zero (MNIST digits light about a fifth of their pixels) take the sparse kernel, which only
    /// visits the non-zero inputs, and the other rows two dense matrix multiplies on the portable kernels
    /// (whose sums run in the same order for any number of rows; BLAS picks kernels by shape).
    public func outputMoments(_ input: Tensor, mean: Tensor, standardDeviation std: Tensor) {
        let batch = input.rows
        refresh(.variance)
        let sparseRows = (0..<batch).filter { Self.prefersSparseMoments(input.pointer + $0 * inputs, count: inputs) }
        if sparseRows.count == batch {
            sparseMoments(input, mean: mean, variance: std, withBias: true)
        } else if sparseRows.isEmpty {
            denseMoments(input, mean: mean, deviation: std)
        } else {
            // Each kind of row through its own path, then back to its place.
            var isSparse = [Bool](repeating: false, count: batch)
            for row in sparseRows { isSparse[row] = true }
            let denseRows = (0..<batch).filter { !isSparse[$0] }
            for (rows, sparse) in [(sparseRows, true), (denseRows, false)] {
                let part = Tensor(shape: [rows.count, inputs])
                for (i, row) in rows.enumerated() { (part.pointer + i * inputs).update(from: input.pointer + row * inputs, count: inputs) }
                let partMean = Tensor(shape: [rows.count, outputs]), partDeviation = Tensor(shape: [rows.count, outputs])
                if sparse {
                    sparseMoments(part, mean: partMean, variance: partDeviation, withBias: true)
                } else {
                    denseMoments(part, mean: partMean, deviation: partDeviation)
                }
                for (i, row) in rows.enumerated() {
                    (mean.pointer + row * outputs).update(from: partMean.pointer + i * outputs, count: outputs)
                    (std.pointer + row * outputs).update(from: partDeviation.pointer + i * outputs, count: outputs)
                }
            }
        }
    }

    /// `outputMoments` by two matrix multiplies on the portable kernels.
    private func denseMoments(_ input: Tensor, mean: Tensor, deviation: Tensor) {
        let batch = input.rows
        MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                            b: weightMu.value.pointer, ldb: outputs, c: mean.pointer, ldc: outputs, path: MatrixMultiply.rowStablePath)
        Elementwise.addRow(biasMu.value.pointer, to: mean.pointer, rows: batch, columns: outputs)
        let squared = inputSquared.matrix(rows: batch, columns: inputs)
        Elementwise.square(input.pointer, squared.pointer, count: squared.count)
        MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: squared.pointer, lda: inputs,
                            b: weightVariance.pointer, ldb: outputs, c: deviation.pointer, ldc: outputs, path: MatrixMultiply.rowStablePath)
        let s = deviation.pointer
        let bv = biasVariance.pointer
        for r in 0..<batch {
            let line = s + r * outputs
            for c in 0..<outputs { line[c] = (line[c] + bv[c]).squareRoot() }
        }
    }

    /// `bnn_sparse_moments` over the rows of `input`, split across the threads: with the bias, `mean` and
    /// `variance` receive x·μ + μ_b and sqrt(x²·σ² + σ_b²); without it, x·μ and x²·σ².
    private func sparseMoments(_ input: Tensor, mean: Tensor, variance: Tensor, withBias: Bool) {
        let x = SendablePointer(input.pointer), mu = SendablePointer(weightMu.value.pointer)
        let weightVar = SendablePointer(weightVariance.pointer)
        let biasMean = withBias ? SendablePointer(biasMu.value.pointer) : nil
        let biasVar = withBias ? SendablePointer(biasVariance.pointer) : nil
        let meanOut = SendablePointer(mean.pointer), varianceOut = SendablePointer(variance.pointer)
        let inputs = inputs, outputs = outputs
        Parallel.forChunks(of: input.rows, minimumChunk: 16) { rows in
            bnn_sparse_moments(x.pointer + rows.lowerBound * inputs, rows.count, inputs, mu.pointer, weightVar.pointer, outputs,
                               biasMean?.pointer, biasVar?.pointer, meanOut.pointer + rows.lowerBound * outputs,
                               varianceOut.pointer + rows.lowerBound * outputs)
        }
    }

    /// The largest share of non-zero inputs for which `outputMoments` takes the sparse path. Measured on
    /// the 2-core machine (784 → 1,024, 1,000 MNIST test digits, 18% of pixels lit, one core): sparse
    /// 14–18 ms, the two blocked matrix multiplies 33–37 ms. The sparse kernel's work grows with the
    /// density, so it stops paying off near 40%; 30% leaves a margin.
    static let sparseMomentsDensityLimit = 0.3

    /// Whether `count` inputs at `values` are sparse enough for the sparse moments.
    static func prefersSparseMoments(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        var nonzero = 0
        for i in 0..<count where values[i] != 0 { nonzero += 1 }
        return Double(nonzero) <= sparseMomentsDensityLimit * Double(count)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = savedInput else { preconditionFailure("BayesianDense.backward called before a training forward pass") }
        let batch = input.rows
        precondition(outputGradient.count == batch * outputs, "BayesianDense.backward: gradient shape \(outputGradient.shape)")
        let g = outputGradient.pointer
        switch estimator {
        case .local:
            // out = m + s·ε with s = sqrt(v):  ∂L/∂m = g,  ∂L/∂v = g·ε / (2s).
            let noise = noiseBuffer.matrix(rows: batch, columns: outputs)
            let std = stdBuffer.matrix(rows: batch, columns: outputs)
            let gv = varianceGradient.matrix(rows: batch, columns: outputs)
            for i in 0..<gv.count { gv.pointer[i] = g[i] * noise.pointer[i] / (2 * std.pointer[i]) }
            // ∂L/∂μ = xᵀ·g,  ∂L/∂σ² = (x²)ᵀ·∂L/∂v; then ∂L/∂ρ = ∂L/∂σ² · 2σ · sigmoid(ρ).
            MatrixMultiply.gemm(transposeA: true, m: inputs, n: outputs, k: batch, a: input.pointer, lda: inputs,
                                b: g, ldb: outputs, c: weightMu.gradient.pointer, ldc: outputs)
            Elementwise.sumRows(g, rows: batch, columns: outputs, into: biasMu.gradient.pointer)
            let squared = inputSquared.matrix(rows: batch, columns: inputs)
            MatrixMultiply.gemm(transposeA: true, m: inputs, n: outputs, k: batch, a: squared.pointer, lda: inputs,
                                b: gv.pointer, ldb: outputs, c: weightRho.gradient.pointer, ldc: outputs)
            Elementwise.sumRows(gv.pointer, rows: batch, columns: outputs, into: biasRho.gradient.pointer)
            if !defersRhoGradient {
                chainVarianceToRho(weightRho, sigma: weightSigma, sigmoid: weightSigmoid)
                chainVarianceToRho(biasRho, sigma: biasSigma, sigmoid: biasSigmoid)
            }
            guard needsInputGradient else { return nil }
            // ∂L/∂x = g·μᵀ + 2x ⊙ (∂L/∂v · (σ²)ᵀ)
            let gx = inputGradient.tensor(shape: input.shape)
            MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: gv.pointer, lda: outputs,
                                b: weightVariance.pointer, ldb: outputs, c: gx.pointer, ldc: inputs)
            let x = input.pointer
            for i in 0..<gx.count { gx.pointer[i] *= 2 * x[i] }
            MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: g, lda: outputs,
                                b: weightMu.value.pointer, ldb: outputs, beta: 1, c: gx.pointer, ldc: inputs)
            return gx
        case .weights:
            // out = x·W + b with W = μ + σ⊙ε:  ∂L/∂μ = xᵀ·g,  ∂L/∂ρ = ∂L/∂W ⊙ ε ⊙ sigmoid(ρ).
            MatrixMultiply.gemm(transposeA: true, m: inputs, n: outputs, k: batch, a: input.pointer, lda: inputs,
                                b: g, ldb: outputs, c: weightMu.gradient.pointer, ldc: outputs)
            let biasNoise = biasRho.gradient  // holds ε_b from the forward pass
            Elementwise.sumRows(g, rows: batch, columns: outputs, into: biasMu.gradient.pointer)
            // The fused step forms ∂L/∂ρ itself from ∂L/∂μ and the kept noise ε and ε_b.
            if !defersRhoGradient {
                for c in 0..<outputs { biasRho.gradient.pointer[c] = biasMu.gradient.pointer[c] * biasNoise.pointer[c] }
                for i in 0..<weightRho.gradient.count {
                    weightRho.gradient.pointer[i] = weightMu.gradient.pointer[i] * weightNoise.pointer[i]
                }
                chainSigmaToRho(weightRho, sigmoid: weightSigmoid)
                chainSigmaToRho(biasRho, sigmoid: biasSigmoid)
            }
            guard needsInputGradient else { return nil }
            let gx = inputGradient.tensor(shape: input.shape)
            MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: g, lda: outputs,
                                b: sampledWeight.pointer, ldb: outputs, c: gx.pointer, ldc: inputs)
            return gx
        }
    }

    /// Turns a gradient with respect to σ² (held in `rho.gradient`) into one with respect to ρ:
    /// ∂σ²/∂ρ = 2σ · sigmoid(ρ).
    private func chainVarianceToRho(_ rho: Parameter, sigma: Tensor, sigmoid: Tensor) {
        let gradient = rho.gradient.pointer
        let s = sigma.pointer, d = sigmoid.pointer
        for i in 0..<rho.gradient.count { gradient[i] *= 2 * s[i] * d[i] }
    }

    /// Turns a gradient with respect to σ (held in `rho.gradient`) into one with respect to ρ.
    private func chainSigmaToRho(_ rho: Parameter, sigmoid: Tensor) {
        let gradient = rho.gradient.pointer
        let d = sigmoid.pointer
        for i in 0..<rho.gradient.count { gradient[i] *= d[i] }
    }

    /// Σ KL(N(μ, σ²) ‖ N(0, s²)) = Σ [log(s/σ) + (σ² + μ²)/(2s²) − ½] over weights and biases.
    public func klDivergence() -> Double {
        refresh(.sigma)
        return GaussianKL.divergence(mu: weightMu.value, sigma: weightSigma, priorSigma: priorSigma)
            + GaussianKL.divergence(mu: biasMu.value, sigma: biasSigma, priorSigma: priorSigma)
    }

    /// Adds `scale · ∂KL/∂μ = scale · μ/s²` and `scale · ∂KL/∂ρ = scale · (σ/s² − 1/σ) · sigmoid(ρ)`.
    public func accumulateKLGradient(scale: Float) {
        refresh([.sigma, .sigmoid])
        let inversePriorVariance = 1 / (priorSigma * priorSigma)
        for (mu, rho, sigma, sigmoid) in [(weightMu, weightRho, weightSigma, weightSigmoid), (biasMu, biasRho, biasSigma, biasSigmoid)] {
            let m = mu.value.pointer, s = sigma.pointer, d = sigmoid.pointer
            let gm = mu.gradient.pointer, gr = rho.gradient.pointer
            for i in 0..<mu.value.count {
                gm[i] += scale * m[i] * inversePriorVariance
                gr[i] += scale * (s[i] * inversePriorVariance - 1 / s[i]) * d[i]
            }
        }
    }

    /// μ and σ² of the weights `[inputs, outputs]` and biases `[outputs]`, current, for prediction kernels
    /// that compute this layer's output moments themselves. Valid until the parameters change.
    func posteriorMeanAndVariance() -> (weightMean: Tensor, weightVariance: Tensor, biasMean: Tensor, biasVariance: Tensor) {
        refresh(.variance)
        return (weightMu.value, weightVariance, biasMu.value, biasVariance)
    }

    /// The fused training step (see `FusedAdamLayer` and `bnn_fused_bayes_adam`): for weights and biases,
    /// g_μ = ∂L/∂μ + κμ/s², g_ρ = ∂L/∂ρ + κ(σ/s² − 1/σ)·sigmoid(ρ) with ∂L/∂ρ formed from the raw backward
    /// result (∂L/∂σ² · 2σ·sigmoid(ρ) for `local`, ∂L/∂μ · ε · sigmoid(ρ) for `weights`), Adam on μ and ρ,
    /// then σ² (`local`) or σ (`weights`) of the new ρ for the next forward pass. Requires a preceding
    /// `backward` with `defersRhoGradient` set.
    func fusedAdamStep(klScale: Float, optimizer: Adam, constants: Adam.StepConstants) {
        let local = estimator == .local
        // `local`: ρ's gradient slot holds ∂L/∂σ²; `weights`: the kept noise ε (for biases it sits in that slot).
        fusedAdamStep(mu: weightMu, rho: weightRho, rhoSource: local ? weightRho.gradient : weightNoise,
                      refreshed: local ? weightVariance : weightSigma, klScale: klScale, optimizer: optimizer, constants: constants)
        fusedAdamStep(mu: biasMu, rho: biasRho, rhoSource: biasRho.gradient,
                      refreshed: local ? biasVariance : biasSigma, klScale: klScale, optimizer: optimizer, constants: constants)
        current = local ? .variance : .sigma
    }

    private func fusedAdamStep(mu: Parameter, rho: Parameter, rhoSource: Tensor, refreshed: Tensor, klScale: Float,
                               optimizer: Adam, constants: Adam.StepConstants) {
        guard let muMoments = optimizer.moments(of: mu), let rhoMoments = optimizer.moments(of: rho) else {
            preconditionFailure("BayesianDense.fusedAdamStep: the optimiser does not own \(mu.name) and \(rho.name)")
        }
        let local = estimator == .local
        var arguments = bnn_fused_adam_arguments()
        arguments.mu = mu.value.pointer
        arguments.rho = rho.value.pointer
        arguments.mu_gradient = UnsafePointer(mu.gradient.pointer)
        arguments.rho_source = UnsafePointer(rhoSource.pointer)
        arguments.rho_gradient_form = Int32(local ? BNN_RHO_GRADIENT_OF_VARIANCE : BNN_RHO_GRADIENT_FROM_NOISE)
        arguments.mu_m = muMoments.first.pointer
        arguments.mu_v = muMoments.second.pointer
        arguments.rho_m = rhoMoments.first.pointer
        arguments.rho_v = rhoMoments.second.pointer
        arguments.sigma = local ? nil : refreshed.pointer
        arguments.variance = local ? refreshed.pointer : nil
        // The forward pass refreshed σ² (`local`) or σ (`weights`) from this ρ; the kernel reuses it.
        arguments.stored_sigma_is_current = current.contains(local ? .variance : .sigma) ? 1 : 0
        arguments.kl_scale = klScale
        arguments.inverse_prior_variance = 1 / (priorSigma * priorSigma)
        arguments.beta1 = constants.beta1
        arguments.beta2 = constants.beta2
        arguments.step_size = constants.stepSize
        arguments.epsilon_hat = constants.epsilonHat
        let count = mu.value.count
        withUnsafePointer(to: &arguments) { pointer in
            let shared = SendableArguments(pointer)
            // Whole cache lines per thread, so that the two threads never write the same line.
            Parallel.forChunks(of: (count + 15) / 16, minimumChunk: 1 << 12) { blocks in
                bnn_fused_bayes_adam(shared.pointer, blocks.lowerBound * 16, min(count, blocks.upperBound * 16))
            }
        }
    }
}

/// The read-only kernel arguments, shared by the threads of one fused pass.
private struct SendableArguments: @unchecked Sendable {
    let pointer: UnsafePointer<bnn_fused_adam_arguments>
    init(_ pointer: UnsafePointer<bnn_fused_adam_arguments>) { self.pointer = pointer }
}

extension Workspace {
    /// `tensor(shape: [rows, columns])`, without building the shape array (a heap allocation) when the
    /// buffer already has that shape: the training step must not allocate.
    mutating func matrix(rows: Int, columns: Int) -> Tensor {
        if let tensor, tensor.shape.count == 2, tensor.shape[0] == rows, tensor.shape[1] == columns { return tensor }
        return self.tensor(shape: [rows, columns])
    }
}

/// softplus⁻¹(σ) = log(e^σ − 1), the ρ that gives standard deviation σ.
@inlinable
public func inverseSoftplus(_ sigma: Float) -> Float {
    sigma > 20 ? sigma : Foundation.log(Foundation.expm1(sigma))
}

