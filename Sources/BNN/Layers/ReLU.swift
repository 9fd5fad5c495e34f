/// The rectified linear unit, `y = max(x, 0)`, element-wise; the output keeps the input's shape.
public final class ReLU: ActivationLayer {
    public let kind = "relu"
    public let activation = Activation.relu
    private var savedOutput: Tensor?
    private var outputBuffer = Workspace()
    private var inputGradient = Workspace()

    public init() {}

    public var configuration: LayerConfiguration { LayerConfiguration(kind: kind) }
    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let output = outputBuffer.tensor(shape: input.shape)
        Elementwise.relu(input.pointer, output.pointer, count: input.count)
        if mode == .train { savedOutput = output }
        return output
    }

    /// ∂L/∂x = ∂L/∂y where y > 0, else 0.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard let output = savedOutput else { preconditionFailure("ReLU.backward called before a training forward pass") }
        let gx = inputGradient.tensor(shape: output.shape)
        Elementwise.reluGradient(output: output.pointer, gradient: outputGradient.pointer, into: gx.pointer, count: output.count)
        return gx
    }
}
