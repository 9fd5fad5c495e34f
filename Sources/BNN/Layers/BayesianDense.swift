import CBNNKernels
import Foundation

/// How a Bayesian layer turns its weight posterior into a stochastic forward pass during training.
public enum GradientEstimator: String, Codable, Sendable, CaseIterable {
    /// Local reparameterisation (Kingma, Salimans & Welling 2015): sample each pre-activation from
    /// N(x·μ, x²·σ²) instead of sampling weights. Independent noise per example, lower-variance gradients.
    case local
    /// One weight sample W = μ + σ ⊙ ε per minibatch, shared by every example (as the Pyro tutorial did).
    case weights
    /// Flipout (Wen et al. 2018): one perturbation σ ⊙ ε per minibatch, decorrelated between examples by
    /// random sign flips of its rows and columns (`Flipout`). Exact weight samples, like `weights`, with
    /// nearly independent noise per example, like `local`; one more matrix multiply forward and backward
    /// than `weights`.
    case flipout
}

/// A fully connected layer with a mean-field Normal posterior over its weights and biases.
///
/// Concretely, for input `x` of shape `[batch, inputs]`, the output is `x·W + b` with
/// `W[i, j] ~ N(μ[i, j], σ[i, j]²)`, `b[j] ~ N(μ_b[j], σ_b[j]²)`, and `σ = softplus(ρ) = log(1 + e^ρ)` so
/// that `ρ` is unconstrained. The prior (`Prior`) is `N(0, s²)` on every weight and bias, where the KL term
/// has the closed form (per weight)
///
///     KL(N(μ, σ²) ‖ N(0, s²)) = log(s/σ) + (σ² + μ²) / (2s²) − ½,
///
/// or Blundell et al.'s scale mixture of two Normals, whose KL is estimated by Monte Carlo (`ScaleMixtureKL`).
///
/// In training (`estimator`): `local` samples each pre-activation from N(x·μ + μ_b, x²·σ² + σ_b²);
/// `weights` samples W and b once per minibatch; `flipout` computes
/// `y = x·μ + μ_b + r ⊙ ((x ⊙ s)·ΔW + Δb)` with one ΔW = σ ⊙ ε, Δb = σ_b ⊙ ε_b per minibatch and random
/// signs s `[batch, inputs]`, r `[batch, outputs]` (the bias perturbation is flipped with r as if it were
/// the weight of a constant input).
///
/// Weights are stored `[inputs, outputs]` so that the forward pass is one plain matrix multiply.
/// References: Blundell et al. 2015 ("Weight Uncertainty in Neural Networks"); Kingma et al. 2015
/// ("Variational Dropout and the Local Reparameterization Trick").
public final class BayesianDense: MomentLayer, DensePosteriorLayer, InputLayerCapable {
    public let kind = "bayesian_dense"
    public let inputs: Int
    public let outputs: Int
    public var estimator: GradientEstimator
    /// The prior on every weight and bias (the blocks hold it).
    public var prior: Prior { weight.prior }
    /// The posterior over the weights `[inputs, outputs]`.
    public let weight: MeanFieldNormal
    /// The posterior over the biases `[outputs]`.
    public let bias: MeanFieldNormal
    /// Whether the training pass may take the sparse moments: only for the network's input (images of
    /// strokes are mostly zeros), so that deeper layers, whose inputs are ReLU outputs, keep the matrix
    /// multiplies and their rounding.
    public var readsNetworkInput = false

    // Buffers kept between forward and backward (resized only when the batch size changes).
    private var savedInput: Tensor?
    /// Whether `savedInput` is the network's own mostly-zero input (`prefersSparseMoments`), decided once
    /// per training step for the forward moments and the weight gradients.
    private var savedInputIsSparse = false
    private var inputSquared = Workspace()
    private var outputBuffer = Workspace()
    private var meanBuffer = Workspace()
    private var stdBuffer = Workspace()
    private var noiseBuffer = Workspace()
    private var varianceGradient = Workspace()
    private var inputGradient = Workspace()
    // Flipout: the sign matrices s and r, and x ⊙ s.
    private var inputSigns = Workspace()
    private var outputSigns = Workspace()
    private var flippedInput = Workspace()
    /// The sampled weights (`weights`, `.sampleWeights`) or the perturbation σ ⊙ ε (`flipout`).
    private let sampledWeight: Tensor
    private let sampledBias: Tensor

    /// A layer with the prior N(0, `priorSigma`²).
    public convenience init(inputs: Int, outputs: Int, estimator: GradientEstimator = .local, priorSigma: Float = 1) {
        self.init(inputs: inputs, outputs: outputs, estimator: estimator, prior: .normal(sigma: priorSigma))
    }

    public init(inputs: Int, outputs: Int, estimator: GradientEstimator = .local, prior: Prior) {
        precondition(inputs > 0 && outputs > 0, "BayesianDense needs positive sizes, got \(inputs)→\(outputs)")
        self.inputs = inputs
        self.outputs = outputs
        self.estimator = estimator
        weight = MeanFieldNormal(name: "weight", shape: [inputs, outputs], fanIn: inputs, prior: prior)
        bias = MeanFieldNormal(name: "bias", shape: [outputs], fanIn: 0, prior: prior)
        sampledWeight = Tensor(shape: [inputs, outputs])
        sampledBias = Tensor(shape: [outputs])
    }

    public var posteriorBlocks: [MeanFieldNormal] { [weight, bias] }
    public var inputCount: Int? { inputs }

    public var configuration: LayerConfiguration {
        LayerConfiguration(kind: kind, inputs: inputs, outputs: outputs, estimator: estimator.rawValue, prior: prior)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == inputs, "BayesianDense expects \(inputs) inputs, got shape \(inputShape)")
        return [outputs]
    }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        precondition(input.count == batch * inputs, "BayesianDense expects \(inputs) inputs per example, got \(input.shape)")
        let output = outputBuffer.matrix(rows: batch, columns: outputs)
        switch mode {
        case .mean:
            MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                                b: weight.mu.value.pointer, ldb: outputs, c: output.pointer, ldc: outputs, path: mode.matrixMultiplyPath)
            Elementwise.addRow(bias.mu.value.pointer, to: output.pointer, rows: batch, columns: outputs)
        case .sampleWeights:
            weight.sample(into: sampledWeight, generator: &generator)
            bias.sample(into: sampledBias, generator: &generator)
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
            savedInputIsSparse = readsNetworkInput && Self.prefersSparseMoments(input.pointer, count: input.count)
            switch estimator {
            case .local:
                // x·μ and x²·σ² by matrix multiplies, then bias, square root and noise in one pass:
                // out = (x·μ + μ_b) + sqrt(x²·σ² + σ_b²)·ε, keeping the standard deviation for backward.
                let weightVariance = weight.variance, biasVariance = bias.variance
                let mean = meanBuffer.matrix(rows: batch, columns: outputs)
                let std = stdBuffer.matrix(rows: batch, columns: outputs)
                let squared = inputSquared.matrix(rows: batch, columns: inputs)
                Elementwise.square(input.pointer, squared.pointer, count: squared.count)
                if savedInputIsSparse {
                    // Mostly-zero images: the sums over non-zero inputs only.
                    sparseMoments(input, mean: mean, variance: std, withBias: false)
                } else {
                    MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                                        b: weight.mu.value.pointer, ldb: outputs, c: mean.pointer, ldc: outputs)
                    MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: squared.pointer, lda: inputs,
                                        b: weightVariance.pointer, ldb: outputs, c: std.pointer, ldc: outputs)
                }
                let noise = noiseBuffer.matrix(rows: batch, columns: outputs)
                generator.fillNormal(noise)
                bnn_fused_local_output(mean.pointer, std.pointer, bias.mu.value.pointer, biasVariance.pointer, noise.pointer,
                                       output.pointer, batch, outputs)
            case .weights:
                weight.sample(into: sampledWeight, generator: &generator)
                bias.sample(into: sampledBias, generator: &generator)
                MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                                    b: sampledWeight.pointer, ldb: outputs, c: output.pointer, ldc: outputs)
                Elementwise.addRow(sampledBias.pointer, to: output.pointer, rows: batch, columns: outputs)
            case .flipout:
                flipoutForward(input, output: output, generator: &generator)
            }
        }
        return output
    }

    /// `y = x·μ + μ_b + r ⊙ ((x ⊙ s)·ΔW + Δb)`, keeping ε (in the blocks), s, r and x ⊙ s for backward.
    private func flipoutForward(_ input: Tensor, output: Tensor, generator: inout RandomGenerator) {
        let batch = input.rows
        weight.samplePerturbation(into: sampledWeight, generator: &generator)
        bias.samplePerturbation(into: sampledBias, generator: &generator)
        let s = inputSigns.matrix(rows: batch, columns: inputs), r = outputSigns.matrix(rows: batch, columns: outputs)
        Flipout.fillSigns(s.pointer, count: s.count, generator: &generator)
        Flipout.fillSigns(r.pointer, count: r.count, generator: &generator)
        let flipped = flippedInput.matrix(rows: batch, columns: inputs)
        Elementwise.multiply(input.pointer, s.pointer, into: flipped.pointer, count: flipped.count)
        let perturbed = meanBuffer.matrix(rows: batch, columns: outputs)
        MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                            b: weight.mu.value.pointer, ldb: outputs, c: output.pointer, ldc: outputs)
        MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: flipped.pointer, lda: inputs,
                            b: sampledWeight.pointer, ldb: outputs, c: perturbed.pointer, ldc: outputs)
        let y = output.pointer, p = perturbed.pointer, signs = r.pointer
        let mean = bias.mu.value.pointer, shift = sampledBias.pointer
        for row in 0..<batch {
            let base = row * outputs
            for j in 0..<outputs { y[base + j] += mean[j] + signs[base + j] * (p[base + j] + shift[j]) }
        }
    }

    /// Mean `x·μ + μ_b` and standard deviation `sqrt(x²·σ² + σ_b²)` of each pre-activation (Kingma et al.
    /// 2015, eq. 6), for a fixed input.
    ///
    /// Each row's result depends on that row alone, bit for bit, whatever the other rows. In fp32, mostly-
    /// zero rows take the sparse kernel, which only visits the non-zero inputs, and the other rows two
    /// dense matrix multiplies on the portable kernels (whose sums run in the same order for any number of
    /// rows; BLAS picks kernels by shape). In bfloat16 (where the CPU has AMX; `precision.effective`) every
    /// row takes two products with μ and σ² packed once (`MeanFieldNormal.bfloat16Panels`), which skip the
    /// steps of 32 inputs that are zero in all the rows they are computed with (adding exact zeros).
    public func outputMoments(_ input: Tensor, mean: Tensor, standardDeviation std: Tensor, precision: MatrixPrecision) {
        let batch = input.rows
        if precision.effective == .bfloat16, let panels = weight.bfloat16Panels(rows: inputs, columns: outputs),
           bfloat16Moments(input, panels: panels, mean: mean, deviation: std) {
            return
        }
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
                            b: weight.mu.value.pointer, ldb: outputs, c: mean.pointer, ldc: outputs, path: MatrixMultiply.rowStablePath)
        let squared = inputSquared.matrix(rows: batch, columns: inputs)
        Elementwise.square(input.pointer, squared.pointer, count: squared.count)
        MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: squared.pointer, lda: inputs,
                            b: weight.variance.pointer, ldb: outputs, c: deviation.pointer, ldc: outputs, path: MatrixMultiply.rowStablePath)
        Self.addBiasMoments(mean: mean.pointer, deviation: deviation.pointer, rows: batch, columns: outputs,
                            biasMean: bias.mu.value.pointer, biasVariance: bias.variance.pointer)
    }

    /// Turns `rows` rows of the products x·μ and x²·σ² into x·μ + μ_b and sqrt(x²·σ² + σ_b²), in place.
    private static func addBiasMoments(mean: UnsafeMutablePointer<Float>, deviation: UnsafeMutablePointer<Float>, rows: Int,
                                       columns: Int, biasMean: UnsafePointer<Float>, biasVariance: UnsafePointer<Float>) {
        for r in 0..<rows {
            let meanRow = mean + r * columns, deviationRow = deviation + r * columns
            for c in 0..<columns {
                meanRow[c] += biasMean[c]
                deviationRow[c] = (deviationRow[c] + biasVariance[c]).squareRoot()
            }
        }
    }

    /// `outputMoments` by two bfloat16 products with packed weights, split across the threads by blocks of
    /// 32 rows (the products' row panels); false (outputs untouched) without memory for them.
    private func bfloat16Moments(_ input: Tensor, panels: BFloat16Panels, mean: Tensor, deviation: Tensor) -> Bool {
        let batch = input.rows, inputs = inputs, outputs = outputs
        let squared = inputSquared.matrix(rows: batch, columns: inputs)
        Elementwise.square(input.pointer, squared.pointer, count: squared.count)
        let x = SendablePointer(input.pointer), x2 = SendablePointer(squared.pointer)
        let meanOut = SendablePointer(mean.pointer), deviationOut = SendablePointer(deviation.pointer)
        let biasMean = SendablePointer(bias.mu.value.pointer), biasVariance = SendablePointer(bias.variance.pointer)
        let blockCount = (batch + 31) / 32
        let computed = SendablePointer(UnsafeMutablePointer<Bool>.allocate(capacity: blockCount))
        defer { computed.pointer.deallocate() }
        Parallel.forChunks(of: blockCount, minimumChunk: 1) { blocks in
            let first = blocks.lowerBound * 32, rows = min(batch, blocks.upperBound * 32) - first
            let m = meanOut.pointer + first * outputs, v = deviationOut.pointer + first * outputs
            guard bnn_sgemm_bf16_packed(rows, outputs, inputs, x.pointer + first * inputs, inputs, panels.mu, m, outputs) != 0,
                  bnn_sgemm_bf16_packed(rows, outputs, inputs, x2.pointer + first * inputs, inputs, panels.variance, v, outputs) != 0
            else {
                for block in blocks { computed.pointer[block] = false }
                return
            }
            for block in blocks { computed.pointer[block] = true }
            Self.addBiasMoments(mean: m, deviation: v, rows: rows, columns: outputs, biasMean: biasMean.pointer,
                                biasVariance: biasVariance.pointer)
        }
        return (0..<blockCount).allSatisfy { computed.pointer[$0] }
    }

    /// `bnn_sparse_moments` over the rows of `input`, split across the threads: with the bias, `mean` and
    /// `variance` receive x·μ + μ_b and sqrt(x²·σ² + σ_b²); without it, x·μ and x²·σ².
    private func sparseMoments(_ input: Tensor, mean: Tensor, variance: Tensor, withBias: Bool) {
        let x = SendablePointer(input.pointer), mu = SendablePointer(weight.mu.value.pointer)
        let weightVar = SendablePointer(weight.variance.pointer)
        let panel = weight.sparsePanel(rows: inputs, columns: outputs).map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        let biasMean = withBias ? SendablePointer(bias.mu.value.pointer) : nil
        let biasVar = withBias ? SendablePointer(bias.variance.pointer) : nil
        let meanOut = SendablePointer(mean.pointer), varianceOut = SendablePointer(variance.pointer)
        let inputs = inputs, outputs = outputs
        Parallel.forChunks(of: input.rows, minimumChunk: 16) { rows in
            bnn_sparse_moments(x.pointer + rows.lowerBound * inputs, rows.count, inputs, mu.pointer, weightVar.pointer,
                               panel?.pointer, outputs,
                               biasMean?.pointer, biasVar?.pointer, meanOut.pointer + rows.lowerBound * outputs,
                               varianceOut.pointer + rows.lowerBound * outputs)
        }
    }

    /// The largest share of non-zero inputs for which the moments take the sparse kernel: its work grows
    /// with the density, and it stops paying off near 40% (docs/performance.md); 30% leaves a margin.
    static let sparseMomentsDensityLimit = 0.3

    /// Whether `count` inputs at `values` are sparse enough for the sparse moments.
    static func prefersSparseMoments(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        var nonzero = 0
        for i in 0..<count where values[i] != 0 { nonzero += 1 }
        return Double(nonzero) <= sparseMomentsDensityLimit * Double(count)
    }

    /// Whether the weight gradients of this batch take `bnn_sparse_transposed_product`: a mostly-zero
    /// network input, as for the sparse moments, of at most the portable matrix multiply's depth block of
    /// rows, where its sums are that multiply's to the bit (so training gives the same weights either way).
    private func prefersSparseGradients(_ input: Tensor) -> Bool {
        savedInputIsSparse && input.rows <= bnn_sgemm_depth_block()
    }

    /// `c = aᵀ·g` for a [rows, inputs] and g [rows, outputs]: the weight gradient, over the non-zero
    /// entries of `a` only when `sparse`, split over the threads by blocks of columns. With `squared`,
    /// also `squared.c = squared.aᵀ·squared.g` where `squared.a` is `a ⊙ a` (the sparse kernel squares the
    /// listed entries of `a` itself, so the two products share one list of non-zero inputs).
    private func transposedProduct(_ a: UnsafePointer<Float>, _ g: UnsafePointer<Float>, rows: Int, sparse: Bool,
                                   into c: UnsafeMutablePointer<Float>,
                                   squared: (a: UnsafePointer<Float>, g: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>)? = nil) {
        guard sparse else {
            MatrixMultiply.gemm(transposeA: true, m: inputs, n: outputs, k: rows, a: a, lda: inputs, b: g, ldb: outputs,
                                c: c, ldc: outputs)
            if let squared {
                MatrixMultiply.gemm(transposeA: true, m: inputs, n: outputs, k: rows, a: squared.a, lda: inputs, b: squared.g,
                                    ldb: outputs, c: squared.c, ldc: outputs)
            }
            return
        }
        let (x, gradient, product) = (SendablePointer(UnsafeMutablePointer(mutating: a)),
                                      SendablePointer(UnsafeMutablePointer(mutating: g)), SendablePointer(c))
        let squaredGradient = squared.map { SendablePointer(UnsafeMutablePointer(mutating: $0.g)) }
        let squaredProduct = squared.map { SendablePointer($0.c) }
        let (inputs, outputs) = (inputs, outputs), block = 64
        Parallel.forChunks(of: (outputs + block - 1) / block) { blocks in
            bnn_sparse_transposed_product(x.pointer, rows, inputs, gradient.pointer, product.pointer, squaredGradient?.pointer,
                                          squaredProduct?.pointer, outputs, blocks.lowerBound * block,
                                          min(outputs, blocks.upperBound * block))
        }
    }

    /// Writes ∂L/∂μ of weights and biases and ρ's data gradient in its cheapest form: ∂L/∂σ² for `local`,
    /// nothing for `weights` (the kept noise gives it), ∂L/∂σ for `flipout` (see `MeanFieldNormal.RhoGradient`).
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
            // ∂L/∂μ = xᵀ·g,  ∂L/∂σ² = (x²)ᵀ·∂L/∂v.
            let squared = inputSquared.matrix(rows: batch, columns: inputs)
            transposedProduct(input.pointer, g, rows: batch, sparse: prefersSparseGradients(input), into: weight.mu.gradient.pointer,
                              squared: (UnsafePointer(squared.pointer), UnsafePointer(gv.pointer), weight.rho.gradient.pointer))
            Elementwise.sumRows(g, rows: batch, columns: outputs, into: bias.mu.gradient.pointer)
            Elementwise.sumRows(gv.pointer, rows: batch, columns: outputs, into: bias.rho.gradient.pointer)
            weight.rhoGradient = .variance
            bias.rhoGradient = .variance
            guard needsInputGradient else { return nil }
            // ∂L/∂x = g·μᵀ + 2x ⊙ (∂L/∂v · (σ²)ᵀ)
            let gx = inputGradient.tensor(shape: input.shape)
            MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: gv.pointer, lda: outputs,
                                b: weight.variance.pointer, ldb: outputs, c: gx.pointer, ldc: inputs)
            let x = input.pointer
            for i in 0..<gx.count { gx.pointer[i] *= 2 * x[i] }
            MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: g, lda: outputs,
                                b: weight.mu.value.pointer, ldb: outputs, beta: 1, c: gx.pointer, ldc: inputs)
            return gx
        case .weights:
            // out = x·W + b with W = μ + σ⊙ε:  ∂L/∂μ = ∂L/∂W = xᵀ·g.
            transposedProduct(input.pointer, g, rows: batch, sparse: prefersSparseGradients(input),
                              into: weight.mu.gradient.pointer)
            Elementwise.sumRows(g, rows: batch, columns: outputs, into: bias.mu.gradient.pointer)
            weight.rhoGradient = .noise
            bias.rhoGradient = .noise
            guard needsInputGradient else { return nil }
            let gx = inputGradient.tensor(shape: input.shape)
            MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: g, lda: outputs,
                                b: sampledWeight.pointer, ldb: outputs, c: gx.pointer, ldc: inputs)
            return gx
        case .flipout:
            return flipoutBackward(input, g, needsInputGradient: needsInputGradient)
        }
    }

    /// The backward pass of `flipoutForward`, with g_p = g ⊙ r the gradient of the perturbed product:
    /// `∂L/∂μ = xᵀ·g`, `∂L/∂μ_b = Σ g`, `∂L/∂σ = ((x ⊙ s)ᵀ·g_p) ⊙ ε`, `∂L/∂σ_b = (Σ g_p) ⊙ ε_b`
    /// (ρ's gradient in the `.sigma` form), and `∂L/∂x = g·μᵀ + s ⊙ (g_p·ΔWᵀ)`.
    private func flipoutBackward(_ input: Tensor, _ g: UnsafeMutablePointer<Float>, needsInputGradient: Bool) -> Tensor? {
        let batch = input.rows
        let s = inputSigns.matrix(rows: batch, columns: inputs), r = outputSigns.matrix(rows: batch, columns: outputs)
        let flipped = flippedInput.matrix(rows: batch, columns: inputs)
        let gp = varianceGradient.matrix(rows: batch, columns: outputs)
        Elementwise.multiply(g, r.pointer, into: gp.pointer, count: gp.count)
        // x ⊙ s has the zeros of x.
        let sparse = prefersSparseGradients(input)
        transposedProduct(input.pointer, g, rows: batch, sparse: sparse, into: weight.mu.gradient.pointer)
        Elementwise.sumRows(g, rows: batch, columns: outputs, into: bias.mu.gradient.pointer)
        transposedProduct(flipped.pointer, gp.pointer, rows: batch, sparse: sparse, into: weight.rho.gradient.pointer)
        Elementwise.sumRows(gp.pointer, rows: batch, columns: outputs, into: bias.rho.gradient.pointer)
        Elementwise.scale(weight.rho.gradient.pointer, by: weight.noise.pointer, count: weight.count)
        Elementwise.scale(bias.rho.gradient.pointer, by: bias.noise.pointer, count: bias.count)
        weight.rhoGradient = .sigma
        bias.rhoGradient = .sigma
        guard needsInputGradient else { return nil }
        let gx = inputGradient.tensor(shape: input.shape)
        MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: gp.pointer, lda: outputs,
                            b: sampledWeight.pointer, ldb: outputs, c: gx.pointer, ldc: inputs)
        Elementwise.scale(gx.pointer, by: s.pointer, count: gx.count)
        MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: g, lda: outputs,
                            b: weight.mu.value.pointer, ldb: outputs, beta: 1, c: gx.pointer, ldc: inputs)
        return gx
    }

    public func posteriorMeanAndVariance() -> (weightMean: Tensor, weightVariance: Tensor, biasMean: Tensor, biasVariance: Tensor) {
        (weight.mu.value, weight.variance, bias.mu.value, bias.variance)
    }
}

extension Workspace {
    /// `tensor(shape: [rows, columns])`, without building the shape array (a heap allocation) when the
    /// buffer already has that shape: the training step must not allocate.
    mutating func matrix(rows: Int, columns: Int) -> Tensor {
        if let tensor, tensor.shape.count == 2, tensor.shape[0] == rows, tensor.shape[1] == columns { return tensor }
        return self.tensor(shape: [rows, columns])
    }
}
