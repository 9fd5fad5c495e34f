/// A deterministic 2-D convolution: `y = conv(x, W) + b`, for mixed deterministic/Bayesian models.
///
/// Concretely, for input `x` of shape `[batch, channels, height, width]` (a `[batch, channels·height·width]`
/// buffer is read the same way), filters `W` of shape `[filters, channels, k, k]` and biases `b` of shape
/// `[filters]`, the output `[batch, filters, outputHeight, outputWidth]` is
///
///     y[n, f, oh, ow] = b[f] + Σ_{c, i, j} W[f, c, i, j] · x[n, c, oh·s − p + i, ow·s − p + j]
///
/// with zero padding `p` and stride `s` (cross-correlation, as in every deep-learning library). Computed
/// as im2col + one GEMM per block of examples (see `Im2Col`).
public final class Conv2D: Layer {
    public let kind = "conv2d"
    /// The input and window geometry.
    public let geometry: ConvolutionGeometry
    public let filters: Int
    public let weight: Parameter
    public let bias: Parameter

    private var savedInput: Tensor?
    private var outputBuffer = Workspace()
    private var inputGradient = Workspace()
    private var columns = Workspace()
    private var gradientColumns = Workspace()
    private var product = Workspace()

    /// - Parameters: the per-example input `[channels, height, width]`, the number of filters, the square
    ///   kernel size `k`, the stride and the zero padding on every side.
    public init(channels: Int, height: Int, width: Int, filters: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0) {
        precondition(filters > 0, "Conv2D needs a positive number of filters, got \(filters)")
        geometry = ConvolutionGeometry(channels: channels, height: height, width: width, kernelSize: kernelSize,
                                       stride: stride, padding: padding)
        self.filters = filters
        weight = Parameter(name: "weight", value: Tensor(shape: [filters, channels, kernelSize, kernelSize]))
        bias = Parameter(name: "bias", value: Tensor(shape: [filters]))
    }

    /// He initialisation: W ~ N(0, 2/fan-in) with fan-in = channels·k·k, b = 0 (He et al. 2015).
    public func initialize(generator: inout RandomGenerator) {
        generator.fillNormal(weight.value, standardDeviation: (2 / Float(geometry.patchSize)).squareRoot())
        bias.value.fill(0)
    }

    /// He initialisation whatever the posterior settings: the layer has no posterior.
    public func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator) {
        initialize(generator: &generator)
    }

    public var inputCount: Int? { geometry.inputSize }

    public var parameters: [Parameter] { [weight, bias] }

    public var configuration: LayerConfiguration {
        LayerConfiguration(kind: kind, channels: geometry.channels, filters: filters, kernelSize: geometry.kernelSize,
                           stride: geometry.stride, padding: geometry.padding, height: geometry.height, width: geometry.width)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == geometry.inputSize,
                     "Conv2D expects [\(geometry.channels), \(geometry.height), \(geometry.width)] inputs, got shape \(inputShape)")
        return [filters, geometry.outputHeight, geometry.outputWidth]
    }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        precondition(input.count == batch * geometry.inputSize, "Conv2D expects \(geometry.inputSize) values per example, got \(input.shape)")
        if mode == .train { savedInput = input }
        let output = outputBuffer.tensor(shape: [batch, filters, geometry.outputHeight, geometry.outputWidth])
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        Im2Col.convolve(input.pointer, batch: batch, geometry: geometry, weight: weight.value.pointer, bias: bias.value.pointer,
                        filters: filters, columns: columnBuffer, product: productBuffer, output: output.pointer, path: mode.matrixMultiplyPath)
        return output
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = savedInput else { preconditionFailure("Conv2D.backward called before a training forward pass") }
        let batch = input.rows
        precondition(outputGradient.count == batch * filters * geometry.positions, "Conv2D.backward: gradient shape \(outputGradient.shape)")
        let (columnBuffer, productBuffer) = scratch(batch: batch)
        let gx = needsInputGradient ? inputGradient.tensor(shape: input.shape) : nil
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        let gradientColumnBuffer = gradientColumns.tensor(shape: [geometry.patchSize, block * geometry.positions])
        Im2Col.convolveBackward(input.pointer, outputGradient: outputGradient.pointer, batch: batch, geometry: geometry,
                                weight: weight.value.pointer, filters: filters, columns: columnBuffer,
                                gradientColumns: gradientColumnBuffer, product: productBuffer,
                                weightGradient: weight.gradient.pointer, biasGradient: bias.gradient.pointer,
                                inputGradient: gx?.pointer)
        return gx
    }

    /// The im2col and GEMM-output buffers for one block of this batch size (reused between steps).
    private func scratch(batch: Int) -> (Tensor, Tensor) {
        let block = Im2Col.blockSize(batch: batch, geometry: geometry)
        return (columns.tensor(shape: [geometry.patchSize, block * geometry.positions]),
                product.tensor(shape: [filters, block * geometry.positions]))
    }
}
