/// Reshapes `[batch, d₁, d₂, …]` to `[batch, d₁·d₂·…]` (row-major order is unchanged, so the values are
/// copied as they are), between convolutional and dense layers.
///
/// Dense layers already read any `[batch, …]` buffer by its element count; `Flatten` makes the shape
/// explicit in the architecture and in the tensors that flow through the network.
public final class Flatten: Layer {
    public let kind = "flatten"
    private var savedShape: [Int]?
    private var outputBuffer = Workspace()
    private var inputGradient = Workspace()

    public init() {}

    public var configuration: LayerConfiguration { LayerConfiguration(kind: kind) }

    public func outputShape(for inputShape: [Int]) -> [Int] { [inputShape.reduce(1, *)] }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        if mode == .train { savedShape = input.shape }
        let output = outputBuffer.tensor(shape: [input.rows, input.columns])
        output.pointer.update(from: input.pointer, count: input.count)
        return output
    }

    /// ∂L/∂x is ∂L/∂y in the input's shape.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard let shape = savedShape else { preconditionFailure("Flatten.backward called before a training forward pass") }
        let gx = inputGradient.tensor(shape: shape)
        precondition(outputGradient.count == gx.count, "Flatten.backward: gradient shape \(outputGradient.shape) for input \(shape)")
        gx.pointer.update(from: outputGradient.pointer, count: gx.count)
        return gx
    }
}
