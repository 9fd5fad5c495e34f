/// Inverted dropout (Srivastava et al. 2014), kept on in prediction for Monte Carlo dropout (Gal &
/// Ghahramani 2016, "Dropout as a Bayesian Approximation").
///
/// Concretely, for input `x` of any shape, `y = x ⊙ m` with a mask `m[i] = 1/(1 − p)` with probability
/// 1 − p and 0 with probability p, so that E[y] = x and the layer is the identity in expectation. The
/// output keeps the input's shape.
///
/// Modes:
/// - `.train` and `.sample`: an independent mask per example.
/// - `.sampleWeights`: one mask of one example's size, shared by every row of the batch. Dropping a unit
///   for every input is drawing a thinned network, so this is the "whole network" sample that `Predictive`
///   shares within a group of inputs; an input's mask then depends only on the generator's seed, never on
///   the other rows.
/// - `.mean`: the identity (the network of expected activations, "weight scaling" in Srivastava et al.).
///
/// The drop decisions take 32 random bits each: a unit is dropped when its bits are below
/// ⌊p · 2³²⌋, so the rate is p to within 2⁻³², and 1/(1 − p) uses that same quantised rate.
public final class Dropout: Layer {
    public let kind = "dropout"
    /// p, the probability of dropping a unit, in (0, 1).
    public let rate: Float
    /// Units are dropped when their 32 random bits are below this.
    private let dropBelow: UInt32
    /// 1/(1 − p) for the quantised p.
    private let keptScale: Float

    private var savedMask = Workspace()
    private var outputBuffer = Workspace()
    private var inputGradient = Workspace()
    private var hasMask = false

    /// - Parameter rate: p in (0, 1).
    public init(rate: Float) {
        precondition(rate > 0 && rate < 1, "Dropout needs a rate in (0, 1), got \(rate)")
        self.rate = rate
        let threshold = min(Double(rate) * 4_294_967_296, 4_294_967_295).rounded(.down)
        dropBelow = UInt32(threshold)
        keptScale = Float(1 / (1 - threshold / 4_294_967_296))
    }

    public var configuration: LayerConfiguration { LayerConfiguration(kind: kind, rate: rate) }
    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }
    public var isStochasticInPrediction: Bool { true }

    /// Writes a mask of `count` values, each 0 or 1/(1 − p), from `generator` (two decisions per 64 bits).
    public func fillMask(_ mask: UnsafeMutablePointer<Float>, count: Int, generator: inout RandomGenerator) {
        let threshold = dropBelow, scale = keptScale
        var i = 0
        while i + 2 <= count {
            let bits = generator.next()
            mask[i] = UInt32(truncatingIfNeeded: bits) < threshold ? 0 : scale
            mask[i + 1] = UInt32(truncatingIfNeeded: bits >> 32) < threshold ? 0 : scale
            i += 2
        }
        if i < count { mask[i] = UInt32(truncatingIfNeeded: generator.next()) < threshold ? 0 : scale }
    }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let output = outputBuffer.tensor(shape: input.shape)
        let rows = input.rows, perExample = input.count / max(rows, 1)
        switch mode {
        case .mean:
            output.pointer.update(from: input.pointer, count: input.count)
        case .sampleWeights:
            let mask = savedMask.tensor(shape: [perExample])
            fillMask(mask.pointer, count: perExample, generator: &generator)
            for row in 0..<rows {
                Elementwise.multiply(input.pointer + row * perExample, mask.pointer, into: output.pointer + row * perExample, count: perExample)
            }
        case .train, .sample:
            let mask = savedMask.tensor(shape: input.shape)
            fillMask(mask.pointer, count: input.count, generator: &generator)
            Elementwise.multiply(input.pointer, mask.pointer, into: output.pointer, count: input.count)
        }
        hasMask = mode == .train
        return output
    }

    /// ∂L/∂x = ∂L/∂y ⊙ m, with the mask of the last training forward pass.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard hasMask, let mask = savedMask.tensor, mask.count == outputGradient.count else {
            preconditionFailure("Dropout.backward called before a training forward pass of the same shape")
        }
        let gx = inputGradient.tensor(shape: outputGradient.shape)
        Elementwise.multiply(outputGradient.pointer, mask.pointer, into: gx.pointer, count: gx.count)
        return gx
    }
}
