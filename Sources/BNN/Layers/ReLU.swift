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
        // A convolution's output is millions of values: split over the threads (small ones stay on this one).
        let (x, y) = (SendablePointer(input.pointer), SendablePointer(output.pointer))
        Parallel.forElements(input.count) { range in
            Elementwise.relu(x.pointer + range.lowerBound, y.pointer + range.lowerBound, count: range.count)
        }
        if mode == .train { savedOutput = output }
        return output
    }

    /// ∂L/∂x = ∂L/∂y where y > 0, else 0.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard let output = savedOutput else { preconditionFailure("ReLU.backward called before a training forward pass") }
        let gx = inputGradient.tensor(shape: output.shape)
        let (y, g, d) = (SendablePointer(output.pointer), SendablePointer(outputGradient.pointer), SendablePointer(gx.pointer))
        Parallel.forElements(output.count) { range in
            let start = range.lowerBound
            Elementwise.reluGradient(output: y.pointer + start, gradient: g.pointer + start, into: d.pointer + start, count: range.count)
        }
        return gx
    }
}
