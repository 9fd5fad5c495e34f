import Foundation

/// A 2-D convolution with a mean-field Normal posterior over its filters and biases.
///
/// Concretely, for input `x` of shape `[batch, channels, height, width]` (a `[batch, channels·height·width]`
/// buffer, such as a batch of flattened MNIST images, is read the same way), the output
/// `[batch, filters, outputHeight, outputWidth]` is `conv(x, W) + b` (see `Conv2D`) with
/// `W[f, c, i, j] ~ N(μ, σ²)`, `b[f] ~ N(μ_b, σ_b²)` and `σ = softplus(ρ)`. The prior (`Prior`: `N(0, s²)`
/// or a scale mixture) is the same on every filter weight and bias; each posterior is a `MeanFieldNormal` block.
///
/// Estimators, as for `BayesianDense`:
/// - `local`: local reparameterisation on the convolution outputs (Kingma, Salimans & Welling 2015):
///   every output unit is drawn from `N(conv(x, μ) + μ_b, conv(x², σ²) + σ_b²)` with its own noise. This
///   is the exact marginal of each unit under the weight posterior; it ignores the correlation between
///   the units that share a filter (the same approximation the paper makes for convolutions).
/// - `weights`: one filter sample `W = μ + σ ⊙ ε` per minibatch, shared by every example.
/// - `flipout` (Wen et al. 2018, §3.2 for convolutions): one perturbation ΔW = σ ⊙ ε, Δb = σ_b ⊙ ε_b per
///   minibatch, and random signs per example and channel, s `[batch, channels]` on the input and
///   r `[batch, filters]` on the output (each constant over the image):
///   `y = conv(x, μ) + μ_b + r ⊙ (conv(x ⊙ s, ΔW) + Δb)`. Exact filter samples, nearly independent
///   between examples (`Flipout`).
///
/// Computed with im2col + GEMM on blocks of examples (`Im2Col`); `local` and `flipout` need two GEMMs
/// forward and four backward.
public final class BayesianConv2D: MomentLayer {
    public let kind = "bayesian_conv2d"
    public let geometry: ConvolutionGeometry
    public let filters: Int
    public var estimator: GradientEstimator
    /// The prior on every filter weight and bias (the blocks hold it).
    public var prior: Prior { weight.prior }
    /// The posterior over the filters `[filters, channels, k, k]`.
    public let weight: MeanFieldNormal
    /// The posterior over the biases `[filters]`.
    public let bias: MeanFieldNormal

    // Weight sampling (`weights` estimator and `.sampleWeights`), or the perturbation σ ⊙ ε (`flipout`).
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
    // Flipout: the signs s `[batch, channels]` and r `[batch, filters]`, x ⊙ s, and ∂L/∂(x ⊙ s).
    private var inputSigns = Workspace()
    private var outputSigns = Workspace()
    private var flippedInput = Workspace()
    private var flippedInputGradient = Workspace()

    /// - Parameters: the per-example input `[channels, height, width]`, the number of filters, the square
    ///   kernel size `k`, stride, zero padding on every side, the gradient estimator and the prior's `s`.
    public convenience init(channels: Int, height: Int, width: Int, filters: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            estimator: GradientEstimator = .local, priorSigma: Float = 1) {
        precondition(priorSigma > 0, "BayesianConv2D needs a positive prior σ, got \(priorSigma)")
        self.init(channels: channels, height: height, width: width, filters: filters, kernelSize: kernelSize, stride: stride,
                  padding: padding, estimator: estimator, prior: .normal(sigma: priorSigma))
    }

    /// The same with any `prior` on the filter weights and biases.
    public init(channels: Int, height: Int, width: Int, filters: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                estimator: GradientEstimator = .local, prior: Prior) {
        precondition(filters > 0, "BayesianConv2D needs a positive number of filters, got \(filters)")
        geometry = ConvolutionGeometry(channels: channels, height: height, width: width, kernelSize: kernelSize,
                                       stride: stride, padding: padding)
        self.filters = filters
        self.estimator = estimator
        let shape = [filters, channels, kernelSize, kernelSize]
        weight = MeanFieldNormal(name: "weight", shape: shape, fanIn: geometry.patchSize, prior: prior)
        bias = MeanFieldNormal(name: "bias", shape: [filters], fanIn: 0, prior: prior)
        sampledWeight = Tensor(shape: shape)
        sampledBias = Tensor(shape: [filters])
    }

    public var posteriorBlocks: [MeanFieldNormal] { [weight, bias] }
    public var inputCount: Int? { geometry.inputSize }
    /// Local reparameterisation is exact per unit only for dense layers (each output has its own weights);
    /// a convolution's outputs share their filter, so prediction samples filters instead.
    public var samplesWeightsInPrediction: Bool { true }

    public var configuration: LayerConfiguration {
        LayerConfiguration(kind: kind, estimator: estimator.rawValue, channels: geometry.channels,
                           filters: filters, kernelSize: geometry.kernelSize, stride: geometry.stride,
                           padding: geometry.padding, height: geometry.height, width: geometry.width, prior: prior)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == geometry.inputSize,
                     "BayesianConv2D expects [\(geometry.channels), \(geometry.height), \(geometry.width)] inputs, got shape \(inputShape)")
        return [filters, geometry.outputHeight, geometry.outputWidth]
    }

    private var outputPerExample: Int { filters * geometry.positions }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        precondition(input.count == batch * geometry.inputSize,
                      "BayesianConv2D expects \(geometry.inputSize) values per example, got \(input.shape)")
        let shape = [batch, filters, geometry.outputHeight, geometry.outputWidth]
        let output = outputBuffer.tensor(shape: shape)
        if mode == .train { savedInput = input }
        let useLocal = mode == .sample || (mode == .train && estimator == .local)
        if useLocal {
            let mean = meanBuffer.tensor(shape: shape), std = stdBuffer.tensor(shape: shape)
            moments(input, mean: mean, standardDeviation: std, path: mode.matrixMultiplyPath)
            let noise = noiseBuffer.tensor(shape: shape)
            generator.fillNormal(noise)
            let (m, s, e, y) = (SendablePointer(mean.pointer), SendablePointer(std.pointer), SendablePointer(noise.pointer),
                                SendablePointer(output.pointer))
            Parallel.forElements(output.count) { range in
                Elementwise.affineNoise(mean: m.pointer + range.lowerBound, std: s.pointer + range.lowerBound, noise: e.pointer + range.lowerBound,
                                        into: y.pointer + range.lowerBound, count: range.count)
            }
            return output
        }
        if mode == .train && estimator == .flipout {
            flipoutForward(input, output: output, generator: &generator)
            return output
        }
        let filterValues: UnsafePointer<Float>, biasValues: UnsafePointer<Float>
        if mode == .mean {
            filterValues = UnsafePointer(self.weight.mu.value.pointer)
            biasValues = UnsafePointer(self.bias.mu.value.pointer)
        } else {  // .sampleWeights, or .train with the `weights` estimator
            self.weight.sample(into: sampledWeight, generator: &generator)
            self.bias.sample(into: sampledBias, generator: &generator)
            filterValues = UnsafePointer(sampledWeight.pointer)
            biasValues = UnsafePointer(sampledBias.pointer)
        }
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        Im2Col.convolve(input.pointer, batch: batch, geometry: geometry, weight: filterValues, bias: biasValues, filters: filters,
                        columns: columnBuffer, product: productBuffer, output: output.pointer, path: mode.matrixMultiplyPath)
        return output
    }

    /// `y = conv(x, μ) + μ_b + r ⊙ (conv(x ⊙ s, ΔW) + Δb)`, keeping ε (in the blocks), s, r and x ⊙ s for backward.
    private func flipoutForward(_ input: Tensor, output: Tensor, generator: inout RandomGenerator) {
        let batch = input.rows, channels = geometry.channels, plane = geometry.height * geometry.width
        weight.samplePerturbation(into: sampledWeight, generator: &generator)
        bias.samplePerturbation(into: sampledBias, generator: &generator)
        let s = inputSigns.matrix(rows: batch, columns: channels), r = outputSigns.matrix(rows: batch, columns: filters)
        Flipout.fillSigns(s.pointer, count: s.count, generator: &generator)
        Flipout.fillSigns(r.pointer, count: r.count, generator: &generator)
        let flipped = flippedInput.matrix(rows: batch, columns: geometry.inputSize)
        flipChannels(input.pointer, signs: s.pointer, planes: batch * channels, plane: plane, into: flipped.pointer)
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        Im2Col.convolve(input.pointer, batch: batch, geometry: geometry, weight: weight.mu.value.pointer, bias: bias.mu.value.pointer,
                        filters: filters, columns: columnBuffer, product: productBuffer, output: output.pointer)
        let perturbed = meanBuffer.tensor(shape: output.shape)
        Im2Col.convolve(flipped.pointer, batch: batch, geometry: geometry, weight: sampledWeight.pointer, bias: sampledBias.pointer,
                        filters: filters, columns: columnBuffer, product: productBuffer, output: perturbed.pointer)
        // y += r ⊙ perturbed, r constant over each output plane.
        let positions = geometry.positions, y = output.pointer, p = perturbed.pointer
        for index in 0..<batch * filters {
            let sign = r.pointer[index], base = index * positions
            for i in 0..<positions { y[base + i] += sign * p[base + i] }
        }
    }

    /// `destination[k, :] = signs[k] · source[k, :]` for `planes` planes of `plane` values (one sign per
    /// example and channel).
    private func flipChannels(_ source: UnsafePointer<Float>, signs: UnsafePointer<Float>, planes: Int, plane: Int,
                              into destination: UnsafeMutablePointer<Float>) {
        for k in 0..<planes {
            let sign = signs[k], from = source + k * plane, to = destination + k * plane
            for i in 0..<plane { to[i] = sign * from[i] }
        }
    }

    /// Mean `conv(x, μ) + μ_b` and standard deviation `sqrt(conv(x², σ²) + σ_b²)` of every output unit
    /// (Kingma et al. 2015, eq. 6, applied per output position), for a fixed input; `mean` and
    /// `standardDeviation` hold `[batch, filters, outputHeight, outputWidth]` values. Its products follow
    /// `ComputeSettings.matrixPrecision`, whatever `precision` says.
    public func outputMoments(_ input: Tensor, mean: Tensor, standardDeviation std: Tensor, precision: MatrixPrecision) {
        moments(input, mean: mean, standardDeviation: std, path: MatrixMultiply.rowStablePath)
    }

    /// `outputMoments` with the matrix multiplies on `path` (nil: the automatic choice, for training).
    private func moments(_ input: Tensor, mean: Tensor, standardDeviation std: Tensor, path: MatrixMultiply.Path?) {
        let batch = input.rows
        precondition(input.count == batch * geometry.inputSize && mean.count == batch * outputPerExample
                        && std.count == mean.count,
                     "BayesianConv2D.outputMoments: input \(input.shape), mean \(mean.shape), std \(std.shape)")
        let weightVariance = weight.variance, biasVariance = bias.variance
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        let variances = varianceProduct.tensor(shape: productBuffer.shape)
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        let positions = geometry.positions
        var start = 0
        while start < batch {
            let n = min(block, batch - start)
            Im2Col.products(input.pointer + start * geometry.inputSize, examples: n, geometry: geometry, filters: filters,
                            weight: weight.mu.value.pointer, into: productBuffer.pointer,
                            variance: (UnsafePointer(weightVariance.pointer), variances.pointer), columns: columnBuffer.pointer, path: path)
            Im2Col.scatter(productBuffer.pointer, bias: bias.mu.value.pointer, examples: n, filters: filters,
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
            // y = conv(x, W) + b with W = μ + σ⊙ε:  ∂L/∂μ = ∂L/∂W; ρ's gradient follows from the kept noise.
            Im2Col.convolveBackward(input.pointer, outputGradient: outputGradient.pointer, batch: batch, geometry: geometry,
                                    weight: sampledWeight.pointer, filters: filters, columns: columnBuffer,
                                    gradientColumns: gradientColumnBuffer, product: productBuffer,
                                    weightGradient: weight.mu.gradient.pointer, biasGradient: bias.mu.gradient.pointer,
                                    inputGradient: gx?.pointer)
            weight.rhoGradient = .noise
            bias.rhoGradient = .noise
        case .local:
            localBackward(input, outputGradient, columns: columnBuffer, gradientColumns: gradientColumnBuffer,
                          product: productBuffer, inputGradient: gx)
        case .flipout:
            flipoutBackward(input, outputGradient, columns: columnBuffer, gradientColumns: gradientColumnBuffer,
                            product: productBuffer, inputGradient: gx)
        }
        return gx
    }

    /// The backward pass of `flipoutForward`, with g_p = g ⊙ r: `∂L/∂μ`, `∂L/∂μ_b` and g·μ's part of ∂L/∂x
    /// from the convolution of x with μ; `∂L/∂ΔW`, `∂L/∂Δb` and ∂L/∂(x ⊙ s) from that of x ⊙ s with ΔW;
    /// then `∂L/∂σ = ∂L/∂ΔW ⊙ ε` (ρ's gradient in the `.sigma` form) and `∂L/∂x += s ⊙ ∂L/∂(x ⊙ s)`.
    private func flipoutBackward(_ input: Tensor, _ outputGradient: Tensor, columns: Tensor, gradientColumns: Tensor,
                                 product: Tensor, inputGradient gx: Tensor?) {
        let batch = input.rows, channels = geometry.channels, plane = geometry.height * geometry.width
        let positions = geometry.positions
        let s = inputSigns.matrix(rows: batch, columns: channels), r = outputSigns.matrix(rows: batch, columns: filters)
        let flipped = flippedInput.matrix(rows: batch, columns: geometry.inputSize)
        let gp = meanBuffer.tensor(shape: outputGradient.shape)
        let g = outputGradient.pointer
        for index in 0..<batch * filters {
            let sign = r.pointer[index], base = index * positions
            for i in 0..<positions { gp.pointer[base + i] = sign * g[base + i] }
        }
        Im2Col.convolveBackward(input.pointer, outputGradient: g, batch: batch, geometry: geometry,
                                weight: weight.mu.value.pointer, filters: filters, columns: columns,
                                gradientColumns: gradientColumns, product: product,
                                weightGradient: weight.mu.gradient.pointer, biasGradient: bias.mu.gradient.pointer,
                                inputGradient: gx?.pointer)
        let flippedGradient = gx.map { _ in flippedInputGradient.matrix(rows: batch, columns: geometry.inputSize) }
        Im2Col.convolveBackward(flipped.pointer, outputGradient: gp.pointer, batch: batch, geometry: geometry,
                                weight: sampledWeight.pointer, filters: filters, columns: columns,
                                gradientColumns: gradientColumns, product: product,
                                weightGradient: weight.rho.gradient.pointer, biasGradient: bias.rho.gradient.pointer,
                                inputGradient: flippedGradient?.pointer)
        Elementwise.scale(weight.rho.gradient.pointer, by: weight.noise.pointer, count: weight.count)
        Elementwise.scale(bias.rho.gradient.pointer, by: bias.noise.pointer, count: bias.count)
        weight.rhoGradient = .sigma
        bias.rhoGradient = .sigma
        if let gx, let flippedGradient {
            let d = gx.pointer, f = flippedGradient.pointer
            for k in 0..<batch * channels {
                let sign = s.pointer[k], base = k * plane
                for i in 0..<plane { d[base + i] += sign * f[base + i] }
            }
        }
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
        let g = outputGradient.pointer, gv = varianceGradient.pointer
        let (gs, es, ss, gvs) = (SendablePointer(g), SendablePointer(noise.pointer), SendablePointer(std.pointer), SendablePointer(gv))
        Parallel.forElements(varianceGradient.count) { range in
            let (g, e, s, gv) = (gs.pointer, es.pointer, ss.pointer, gvs.pointer)
            for i in range { gv[i] = g[i] * e[i] / (2 * s[i]) }
        }

        let squared = squaredColumns.tensor(shape: columns.shape)
        let varianceProductBuffer = varianceProduct.tensor(shape: product.shape)
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        let positions = geometry.positions, patch = geometry.patchSize
        let weightVariance = weight.variance
        bias.mu.gradient.fill(0)
        bias.rho.gradient.fill(0)
        var start = 0
        while start < batch {
            let n = min(block, batch - start)
            let width = n * positions
            let first: Float = start == 0 ? 0 : 1
            Im2Col.gather(g + start * outputPerExample, examples: n, filters: filters, positions: positions,
                          into: product.pointer, biasGradient: bias.mu.gradient.pointer)
            Im2Col.gather(gv + start * outputPerExample, examples: n, filters: filters, positions: positions,
                          into: varianceProductBuffer.pointer, biasGradient: bias.rho.gradient.pointer)
            Im2Col.columns(input.pointer + start * geometry.inputSize, examples: n, geometry: geometry, into: columns.pointer)
            Im2Col.square(columns.pointer, into: squared.pointer, count: patch * width)
            MatrixMultiply.gemm(transposeB: true, m: filters, n: patch, k: width, a: product.pointer, lda: width,
                                b: columns.pointer, ldb: width, beta: first, c: weight.mu.gradient.pointer, ldc: patch)
            MatrixMultiply.gemm(transposeB: true, m: filters, n: patch, k: width, a: varianceProductBuffer.pointer, lda: width,
                                b: squared.pointer, ldb: width, beta: first, c: weight.rho.gradient.pointer, ldc: patch)
            if let gx {
                let d = gradientColumns.pointer, x = columns.pointer
                MatrixMultiply.gemm(transposeA: true, m: patch, n: width, k: filters, a: weightVariance.pointer, lda: patch,
                                    b: varianceProductBuffer.pointer, ldb: width, c: d, ldc: width)
                let (ds, xs) = (SendablePointer(d), SendablePointer(x))
                Parallel.forElements(patch * width) { range in
                    let (d, x) = (ds.pointer, xs.pointer)
                    for i in range { d[i] *= 2 * x[i] }
                }
                MatrixMultiply.gemm(transposeA: true, m: patch, n: width, k: filters, a: weight.mu.value.pointer, lda: patch,
                                    b: product.pointer, ldb: width, beta: 1, c: d, ldc: width)
                Im2Col.images(d, examples: n, geometry: geometry, into: gx.pointer + start * geometry.inputSize)
            }
            start += n
        }
        weight.rhoGradient = .variance
        bias.rhoGradient = .variance
    }

    /// The im2col and GEMM-output buffers for one block of this batch size (reused between steps).
    private func scratch(batch: Int) -> (Tensor, Tensor) {
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        return (columns.tensor(shape: [geometry.patchSize, block * geometry.positions]),
                product.tensor(shape: [filters, block * geometry.positions]))
    }
}
