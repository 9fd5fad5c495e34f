/// A deterministic fully connected layer: `y = x·W + b`, `W` stored `[inputs, outputs]`.
public final class Dense: Layer {
    public let kind = "dense"
    public let inputs: Int
    public let outputs: Int
    public let weight: Parameter
    public let bias: Parameter

    private var savedInput: Tensor?
    private var outputBuffer = Workspace()
    private var inputGradient = Workspace()

    public init(inputs: Int, outputs: Int) {
        precondition(inputs > 0 && outputs > 0, "Dense needs positive sizes, got \(inputs)→\(outputs)")
        self.inputs = inputs
        self.outputs = outputs
        weight = Parameter(name: "weight", value: Tensor(shape: [inputs, outputs]))
        bias = Parameter(name: "bias", value: Tensor(shape: [outputs]))
    }

    /// He initialisation: W ~ N(0, 2/inputs), b = 0 (He et al. 2015).
    public func initialize(generator: inout RandomGenerator) {
        generator.fillNormal(weight.value, standardDeviation: (2 / Float(inputs)).squareRoot())
        bias.value.fill(0)
    }

    /// He initialisation whatever the posterior settings: the layer has no posterior.
    public func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator) {
        initialize(generator: &generator)
    }

    public var inputCount: Int? { inputs }

    public var parameters: [Parameter] { [weight, bias] }
    public var configuration: LayerConfiguration { LayerConfiguration(kind: kind, inputs: inputs, outputs: outputs) }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == inputs, "Dense expects \(inputs) inputs, got shape \(inputShape)")
        return [outputs]
    }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        precondition(input.count == batch * inputs, "Dense expects \(inputs) inputs per example, got \(input.shape)")
        if mode == .train { savedInput = input }
        let output = outputBuffer.tensor(shape: [batch, outputs])
        MatrixMultiply.gemm(m: batch, n: outputs, k: inputs, a: input.pointer, lda: inputs,
                            b: weight.value.pointer, ldb: outputs, c: output.pointer, ldc: outputs, path: mode.matrixMultiplyPath)
        Elementwise.addRow(bias.value.pointer, to: output.pointer, rows: batch, columns: outputs)
        return output
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = savedInput else { preconditionFailure("Dense.backward called before a training forward pass") }
        let batch = input.rows
        MatrixMultiply.gemm(transposeA: true, m: inputs, n: outputs, k: batch, a: input.pointer, lda: inputs,
                            b: outputGradient.pointer, ldb: outputs, c: weight.gradient.pointer, ldc: outputs)
        Elementwise.sumRows(outputGradient.pointer, rows: batch, columns: outputs, into: bias.gradient.pointer)
        guard needsInputGradient else { return nil }
        let gx = inputGradient.tensor(shape: input.shape)
        MatrixMultiply.gemm(transposeB: true, m: batch, n: inputs, k: outputs, a: outputGradient.pointer, lda: outputs,
                            b: weight.value.pointer, ldb: outputs, c: gx.pointer, ldc: inputs)
        return gx
    }
}
