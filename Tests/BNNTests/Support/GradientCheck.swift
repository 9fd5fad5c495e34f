@testable import BNN

/// Checks a layer's backward pass against central finite differences of a scalar loss
/// `L = Σ output ⊙ R` (R fixed and random), with the same random draws in every forward pass.
///
/// Returns the largest relative error `|analytic − numeric| / max(1e-2, |analytic| + |numeric|)` over the
/// checked entries of every parameter and of the input.
func maximumGradientError(layer: Layer, input: Tensor, seed: UInt64 = 7, step: Float = 1e-2, entriesPerTensor: Int = 12) -> (error: Float, worst: String) {
    var setup = RandomGenerator(seed: 99)
    var probe: RandomGenerator = RandomGenerator(seed: seed)
    let firstOutput = layer.forward(input, mode: .train, generator: &probe)
    let weights = Tensor(shape: firstOutput.shape)
    setup.fillNormal(weights)

    func loss() -> Double {
        var generator = RandomGenerator(seed: seed)
        let output = layer.forward(input, mode: .train, generator: &generator)
        var total = 0.0
        for i in 0..<output.count { total += Double(output.pointer[i]) * Double(weights.pointer[i]) }
        return total
    }
    _ = loss()
    let inputGradient = layer.backward(weights, needsInputGradient: true)?.copy()
    for block in layer.posteriorBlocks { block.completeRhoGradient() }
    let analytic = layer.parameters.map { $0.gradient.copy() }

    var worst: Float = 0
    var worstName = ""
    func check(_ tensor: Tensor, _ gradient: Tensor, _ name: String) {
        var picker = RandomGenerator(seed: 5)
        for _ in 0..<min(entriesPerTensor, tensor.count) {
            let index = picker.integer(below: tensor.count)
            let original = tensor.pointer[index]
            tensor.pointer[index] = original + step
            layer.parametersDidChange()
            let plus = loss()
            tensor.pointer[index] = original - step
            layer.parametersDidChange()
            let minus = loss()
            tensor.pointer[index] = original
            layer.parametersDidChange()
            let numeric = Float((plus - minus) / Double(2 * step))
            let exact = gradient.pointer[index]
            let error = abs(exact - numeric) / max(1e-2, abs(exact) + abs(numeric))
            if error > worst { worst = error; worstName = "\(name)[\(index)]: analytic \(exact), numeric \(numeric)" }
        }
    }
    for (parameter, gradient) in zip(layer.parameters, analytic) { check(parameter.value, gradient, parameter.name) }
    if let inputGradient { check(input, inputGradient, "input") }
    return (worst, worstName)
}

/// A tensor of the given shape with Normal(0, scale²) entries from `seed`.
/// The central difference (f(x + h) − f(x − h)) / 2h of `value` in entry `index` of `tensor`, which is
/// restored afterwards.
func centralDifference(_ value: () -> Double, in tensor: Tensor, at index: Int, step: Float = 1e-2) -> Float {
    let original = tensor.pointer[index]
    tensor.pointer[index] = original + step
    let plus = value()
    tensor.pointer[index] = original - step
    let minus = value()
    tensor.pointer[index] = original
    return Float((plus - minus) / Double(2 * step))
}

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    let tensor = Tensor(shape: shape)
    generator.fillNormal(tensor, standardDeviation: scale)
    return tensor
}
