import Foundation

/// A 2-D convolution with a mean-field Normal posterior over its filters and biases.
///
/// Concretely, for input `x` of shape `[batch, channels, height, width]` (a `[batch, channels·height·width]`
/// buffer, such as a batch of flattened MNIST images, is read the same way), the output
/// `[batch, filters, outputHeight, outputWidth]` is `conv(x, W) + b` (see `Conv2D`) with
/// `W[f, c, i, j] ~ N(μ, σ²)`, `b[f] ~ N(μ_b, σ_b²)` and `σ = softplus(ρ)`. The prior is `N(0, s²)` on
/// every filter weight and bias, with the closed-form KL of `BayesianDense`.
///
/// Estimators, as for `BayesianDense`:
/// - `local`: local reparameterisation on the convolution outputs (Kingma, Salimans & Welling 2015):
///   every output unit is drawn from `N(conv(x, μ) + μ_b, conv(x², σ²) + σ_b²)` with its own noise. This
///   is the exact marginal of each unit under the weight posterior; it ignores the correlation between
///   the units that share a filter (the same approximation the paper makes for convolutions).
/// - `weights`: one filter sample `W = μ + σ ⊙ ε` per minibatch, shared by every example.
///
/// Computed with im2col + GEMM on blocks of examples (`Im2Col`); `local` needs two GEMMs forward (means
/// and variances) and four backward.
public final class BayesianConv2D: BayesianLayer, MomentLayer {
    public let kind = "bayesian_conv2d"
    public let geometry: ConvolutionGeometry
    public let filters: Int
    public var estimator: GradientEstimator
    /// The prior's standard deviation `s`.
    public let priorSigma: Float

    /// Filter means `[filters, channels, k, k]`.
    public let weightMu: Parameter
    public let weightRho: Parameter
    public let biasMu: Parameter
    public let biasRho: Parameter

    // σ, σ² and sigmoid(ρ) = ∂σ/∂ρ, refreshed from ρ when the parameters change.
    private let weightSigma: Tensor
    private let weightVariance: Tensor
    private let weightSigmoid: Tensor
    private let biasSigma: Tensor
    private let biasVariance: Tensor
    private let biasSigmoid: Tensor
    private var sigmaIsCurrent = false

    // Weight sampling (`weights` estimator and `.sampleWeights`).
    private let weightNoise: Tensor
    private let biasNoise: Tensor
    private let sampledWeight: Tensor
    private let sampledBias: Tensor

    // Buffers reused from step to step (reallocated only when the batch size changes).
    private var savedInput: Tensor?
    private var outputBuffer = Workspace()
    private var meanBuffer = Workspace()
    private var stdBuffer = Workspace()
    private var noiseBuffer = Workspace()
    private var inputGradient = Workspace()
    private var columns = Workspace()
    private var squaredColumns = Workspace()
    private var gradientColumns = Workspace()
    private var product = Workspace()
    private var varianceProduct = Workspace()

    /// - Parameters: the per-example input `[channels, height, width]`, the number of filters, the square
    ///   kernel size `k`, stride, zero padding on every side, the gradient estimator and the prior's `s`.
    public init(channels: Int, height: Int, width: Int, filters: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                estimator: GradientEstimator = .local, priorSigma: Float = 1) {
        precondition(filters > 0, "BayesianConv2D needs a positive number of filters, got \(filters)")
        precondition(priorSigma > 0, "BayesianConv2D needs a positive prior σ, got \(priorSigma)")
        geometry = ConvolutionGeometry(channels: channels, height: height, width: width, kernelSize: kernelSize,
                                       stride: stride, padding: padding)
        self.filters = filters
        self.estimator = estimator
        self.priorSigma = priorSigma
        let shape = [filters, channels, kernelSize, kernelSize]
        weightMu = Parameter(name: "weight.mu", value: Tensor(shape: shape))
        weightRho = Parameter(name: "weight.rho", value: Tensor(shape: shape))
        biasMu = Parameter(name: "bias.mu", value: Tensor(shape: [filters]))
        biasRho = Parameter(name: "bias.rho", value: Tensor(shape: [filters]))
        weightSigma = Tensor(shape: shape)
        weightVariance = Tensor(shape: shape)
        weightSigmoid = Tensor(shape: shape)
        biasSigma = Tensor(shape: [filters])
        biasVariance = Tensor(shape: [filters])
        biasSigmoid = Tensor(shape: [filters])
        weightNoise = Tensor(shape: shape)
        biasNoise = Tensor(shape: [filters])
        sampledWeight = Tensor(shape: shape)
        sampledBias = Tensor(shape: [filters])
    }

    /// Initialises μ and ρ (see `PosteriorInitialization`); `he` uses fan-in = channels·k·k.
    public func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator) {
        switch initialization {
        case .he:
            generator.fillNormal(weightMu.value, standardDeviation: (2 / Float(geometry.patchSize)).squareRoot())
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

    public func parametersDidChange() { sigmaIsCurrent = false }

    public var parameters: [Parameter] { [weightMu, weightRho, biasMu, biasRho] }

    public var configuration: LayerConfiguration {
        LayerConfiguration(kind: kind, estimator: estimator.rawValue, priorSigma: priorSigma, channels: geometry.channels,
                           filters: filters, kernelSize: geometry.kernelSize, stride: geometry.stride,
                           padding: geometry.padding, height: geometry.height, width: geometry.width)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == geometry.inputSize,
                     "BayesianConv2D expects [\(geometry.channels), \(geometry.height), \(geometry.width)] inputs, got shape \(inputShape)")
        return [filters, geometry.outputHeight, geometry.outputWidth]
    }

    private func refreshSigma() {
        if sigmaIsCurrent { return }
        let count = weightSigma.count
        VectorMath.softplus(weightRho.value.pointer, weightSigma.pointer, count: count)
        Elementwise.square(weightSigma.pointer, weightVariance.pointer, count: count)
        VectorMath.sigmoid(weightRho.value.pointer, weightSigmoid.pointer, count: count)
        VectorMath.softplus(biasRho.value.pointer, biasSigma.pointer, count: filters)
        Elementwise.square(biasSigma.pointer, biasVariance.pointer, count: filters)
        VectorMath.sigmoid(biasRho.value.pointer, biasSigmoid.pointer, count: filters)
        sigmaIsCurrent = true
    }

    private var outputPerExample: Int { filters * geometry.positions }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        precondition(input.count == batch * geometry.inputSize,
                      "BayesianConv2D expects \(geometry.inputSize) values per example, got \(input.shape)")
        refreshSigma()
        let shape = [batch, filters, geometry.outputHeight, geometry.outputWidth]
        let output = outputBuffer.tensor(shape: shape)
        if mode == .train { savedInput = input }
        let useLocal = mode == .sample || (mode == .train && estimator == .local)
        if useLocal {
            let mean = meanBuffer.tensor(shape: shape), std = stdBuffer.tensor(shape: shape)
            moments(input, mean: mean, standardDeviation: std, path: mode.matrixMultiplyPath)
            let noise = noiseBuffer.tensor(shape: shape)
            generator.fillNormal(noise)
            Elementwise.affineNoise(mean: mean.pointer, std: std.pointer, noise: noise.pointer, into: output.pointer, count: output.count)
            return output
        }
        let weight: UnsafePointer<Float>, bias: UnsafePointer<Float>
        if mode == .mean {
            weight = UnsafePointer(weightMu.value.pointer)
            bias = UnsafePointer(biasMu.value.pointer)
        } else {  // .sampleWeights, or .train with the `weights` estimator
            sampleWeights(generator: &generator)
            weight = UnsafePointer(sampledWeight.pointer)
            bias = UnsafePointer(sampledBias.pointer)
        }
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        Im2Col.convolve(input.pointer, batch: batch, geometry: geometry, weight: weight, bias: bias, filters: filters,
                        columns: columnBuffer, product: productBuffer, output: output.pointer, path: mode.matrixMultiplyPath)
        return output
    }

    /// Draws W = μ + σ ⊙ ε and b = μ_b + σ_b ⊙ ε_b, keeping ε for the backward pass.
    private func sampleWeights(generator: inout RandomGenerator) {
        generator.fillNormal(weightNoise)
        Elementwise.affineNoise(mean: weightMu.value.pointer, std: weightSigma.pointer, noise: weightNoise.pointer,
                                into: sampledWeight.pointer, count: sampledWeight.count)
        generator.fillNormal(biasNoise)
        Elementwise.affineNoise(mean: biasMu.value.pointer, std: biasSigma.pointer, noise: biasNoise.pointer,
                                into: sampledBias.pointer, count: filters)
    }

    /// Mean `conv(x, μ) + μ_b` and standard deviation `sqrt(conv(x², σ²) + σ_b²)` of every output unit
    /// (Kingma et al. 2015, eq. 6, applied per output position), for a fixed input; `mean` and
    /// `standardDeviation` hold `[batch, filters, outputHeight, outputWidth]` values.
    public func outputMoments(_ input: Tensor, mean: Tensor, standardDeviation std: Tensor) {
        moments(input, mean: mean, standardDeviation: std, path: MatrixMultiply.rowStablePath)
    }

    /// `outputMoments` with the matrix multiplies on `path` (nil: the automatic choice, for training).
    private func moments(_ input: Tensor, mean: Tensor, standardDeviation std: Tensor, path: MatrixMultiply.Path?) {
        let batch = input.rows
        precondition(input.count == batch * geometry.inputSize && mean.count == batch * outputPerExample
                        && std.count == mean.count,
                     "BayesianConv2D.outputMoments: input \(input.shape), mean \(mean.shape), std \(std.shape)")
        refreshSigma()
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        let variances = varianceProduct.tensor(shape: productBuffer.shape)
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        let positions = geometry.positions, patch = geometry.patchSize
        var start = 0
        while start < batch {
            let n = min(block, batch - start)
            let width = n * positions
            Im2Col.columns(input.pointer + start * geometry.inputSize, examples: n, geometry: geometry, into: columnBuffer.pointer)
            MatrixMultiply.gemm(m: filters, n: width, k: patch, a: weightMu.value.pointer, lda: patch,
                                b: columnBuffer.pointer, ldb: width, c: productBuffer.pointer, ldc: width, path: path)
            // The columns of x² are the squares of the columns of x (padding stays zero).
            Elementwise.square(columnBuffer.pointer, columnBuffer.pointer, count: patch * width)
            MatrixMultiply.gemm(m: filters, n: width, k: patch, a: weightVariance.pointer, lda: patch,
                                b: columnBuffer.pointer, ldb: width, c: variances.pointer, ldc: width, path: path)
            Im2Col.scatter(productBuffer.pointer, bias: biasMu.value.pointer, examples: n, filters: filters,
                           positions: positions, into: mean.pointer + start * outputPerExample)
            Im2Col.scatterStandardDeviation(variances.pointer, biasVariance: biasVariance.pointer, examples: n, filters: filters,
                                            positions: positions, into: std.pointer + start * outputPerExample)
            start += n
        }
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = savedInput else { preconditionFailure("BayesianConv2D.backward called before a training forward pass") }
        let batch = input.rows
        precondition(outputGradient.count == batch * outputPerExample, "BayesianConv2D.backward: gradient shape \(outputGradient.shape)")
        let gx = needsInputGradient ? inputGradient.tensor(shape: input.shape) : nil
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        let gradientColumnBuffer = gradientColumns.tensor(shape: columnBuffer.shape)
        switch estimator {
        case .weights:
            // y = conv(x, W) + b with W = μ + σ⊙ε:  ∂L/∂μ = ∂L/∂W,  ∂L/∂ρ = ∂L/∂W ⊙ ε ⊙ sigmoid(ρ).
            Im2Col.convolveBackward(input.pointer, outputGradient: outputGradient.pointer, batch: batch, geometry: geometry,
                                    weight: sampledWeight.pointer, filters: filters, columns: columnBuffer,
                                    gradientColumns: gradientColumnBuffer, product: productBuffer,
                                    weightGradient: weightMu.gradient.pointer, biasGradient: biasMu.gradient.pointer,
                                    inputGradient: gx?.pointer)
            multiply(weightMu.gradient, weightNoise, weightSigmoid, into: weightRho.gradient)
            multiply(biasMu.gradient, biasNoise, biasSigmoid, into: biasRho.gradient)
        case .local:
            localBackward(input, outputGradient, columns: columnBuffer, gradientColumns: gradientColumnBuffer,
                          product: productBuffer, inputGradient: gx)
        }
        return gx
    }

    /// The backward pass of `y = m + s·ε`, `m = conv(x, μ) + μ_b`, `s² = v = conv(x², σ²) + σ_b²`:
    /// `∂L/∂m = g`, `∂L/∂v = g·ε / (2s)`; then `∂L/∂μ = Σ G·Xᵀ`, `∂L/∂σ² = Σ G_v·(X²)ᵀ`, and
    /// `∂L/∂x = col2im(μᵀ·G + 2X ⊙ (σ²)ᵀ·G_v)` (X the im2col matrix, so X ⊙ X are the columns of x²).
    private func localBackward(_ input: Tensor, _ outputGradient: Tensor, columns: Tensor, gradientColumns: Tensor,
                               product: Tensor, inputGradient gx: Tensor?) {
        let batch = input.rows
        let shape = [batch, filters, geometry.outputHeight, geometry.outputWidth]
        let noise = noiseBuffer.tensor(shape: shape), std = stdBuffer.tensor(shape: shape)
        // ∂L/∂v in the mean buffer: the means are not needed after the forward pass.
        let varianceGradient = meanBuffer.tensor(shape: shape)
        let g = outputGradient.pointer, e = noise.pointer, s = std.pointer, gv = varianceGradient.pointer
        for i in 0..<varianceGradient.count { gv[i] = g[i] * e[i] / (2 * s[i]) }

        let squared = squaredColumns.tensor(shape: columns.shape)
        let varianceProductBuffer = varianceProduct.tensor(shape: product.shape)
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        let positions = geometry.positions, patch = geometry.patchSize
        biasMu.gradient.fill(0)
        biasRho.gradient.fill(0)
        var start = 0
        while start < batch {
            let n = min(block, batch - start)
            let width = n * positions
            let first: Float = start == 0 ? 0 : 1
            Im2Col.gather(g + start * outputPerExample, examples: n, filters: filters, positions: positions,
                          into: product.pointer, biasGradient: biasMu.gradient.pointer)
            Im2Col.gather(gv + start * outputPerExample, examples: n, filters: filters, positions: positions,
                          into: varianceProductBuffer.pointer, biasGradient: biasRho.gradient.pointer)
            Im2Col.columns(input.pointer + start * geometry.inputSize, examples: n, geometry: geometry, into: columns.pointer)
            Elementwise.square(columns.pointer, squared.pointer, count: patch * width)
            MatrixMultiply.gemm(transposeB: true, m: filters, n: patch, k: width, a: product.pointer, lda: width,
                                b: columns.pointer, ldb: width, beta: first, c: weightMu.gradient.pointer, ldc: patch)
            MatrixMultiply.gemm(transposeB: true, m: filters, n: patch, k: width, a: varianceProductBuffer.pointer, lda: width,
                                b: squared.pointer, ldb: width, beta: first, c: weightRho.gradient.pointer, ldc: patch)
            if let gx {
                let d = gradientColumns.pointer, x = columns.pointer
                MatrixMultiply.gemm(transposeA: true, m: patch, n: width, k: filters, a: weightVariance.pointer, lda: patch,
                                    b: varianceProductBuffer.pointer, ldb: width, c: d, ldc: width)
                for i in 0..<patch * width { d[i] *= 2 * x[i] }
                MatrixMultiply.gemm(transposeA: true, m: patch, n: width, k: filters, a: weightMu.value.pointer, lda: patch,
                                    b: product.pointer, ldb: width, beta: 1, c: d, ldc: width)
                Im2Col.images(d, examples: n, geometry: geometry, into: gx.pointer + start * geometry.inputSize)
            }
            start += n
        }
        // ∂σ²/∂ρ = 2σ · sigmoid(ρ).
        chainVarianceToRho(weightRho.gradient, sigma: weightSigma, sigmoid: weightSigmoid)
        chainVarianceToRho(biasRho.gradient, sigma: biasSigma, sigmoid: biasSigmoid)
    }

    private func chainVarianceToRho(_ gradient: Tensor, sigma: Tensor, sigmoid: Tensor) {
        let d = gradient.pointer, s = sigma.pointer, t = sigmoid.pointer
        for i in 0..<gradient.count { d[i] *= 2 * s[i] * t[i] }
    }

    /// `result = a ⊙ b ⊙ c`.
    private func multiply(_ a: Tensor, _ b: Tensor, _ c: Tensor, into result: Tensor) {
        let x = a.pointer, y = b.pointer, z = c.pointer, r = result.pointer
        for i in 0..<result.count { r[i] = x[i] * y[i] * z[i] }
    }

    /// The im2col and GEMM-output buffers for one block of this batch size (reused between steps).
    private func scratch(batch: Int) -> (Tensor, Tensor) {
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        return (columns.tensor(shape: [geometry.patchSize, block * geometry.positions]),
                product.tensor(shape: [filters, block * geometry.positions]))
    }

    /// Σ KL(N(μ, σ²) ‖ N(0, s²)) over filter weights and biases (`GaussianKL`).
    public func klDivergence() -> Double {
        refreshSigma()
        return GaussianKL.divergence(mu: weightMu.value, sigma: weightSigma, priorSigma: priorSigma)
            + GaussianKL.divergence(mu: biasMu.value, sigma: biasSigma, priorSigma: priorSigma)
    }

    /// Adds `scale · ∂KL/∂θ` to the gradients of μ and ρ (`GaussianKL`).
    public func accumulateKLGradient(scale: Float) {
        refreshSigma()
        GaussianKL.accumulateGradient(mu: weightMu, rho: weightRho, sigma: weightSigma, sigmoid: weightSigmoid, priorSigma: priorSigma, scale: scale)
        GaussianKL.accumulateGradient(mu: biasMu, rho: biasRho, sigma: biasSigma, sigmoid: biasSigmoid, priorSigma: priorSigma, scale: scale)
    }
}
