import Testing
@testable import BNN

/// `Dropout`: its masks in every mode, and its backward pass against finite differences.
@Suite struct DropoutTests {
    /// Backward with the mask held fixed (every loss evaluation replays the same seed, so the same mask).
    @Test func gradient() {
        let layer = Dropout(rate: 0.4)
        let input = randomTensor([4, 9], seed: 3)
        let (error, worst) = maximumGradientError(layer: layer, input: input)
        #expect(error < 1e-2, "worst: \(worst)")
        // The check covers dropped units: the gradient is 0 there and 1/(1 − p) elsewhere.
        var generator = RandomGenerator(seed: 7)
        let output = layer.forward(input, mode: .train, generator: &generator).copy()
        let gradient = layer.backward(Tensor(shape: input.shape, values: [Float](repeating: 1, count: 36)), needsInputGradient: true)!
        let dropped = (0..<36).filter { output.pointer[$0] == 0 }
        #expect(!dropped.isEmpty && dropped.count < 36)
        for i in 0..<36 { #expect(gradient.pointer[i] == (dropped.contains(i) ? 0 : 1 / (1 - Float(0.4))), "unit \(i)") }
    }

    /// Training drops a share p of units (within 4 binomial standard errors), keeps the rest scaled by
    /// 1/(1 − p), and draws each example's mask on its own; `.sampleWeights` shares one mask across rows;
    /// `.mean` is the identity.
    @Test func masks() {
        let rate: Float = 0.3, rows = 100, columns = 100
        let layer = Dropout(rate: rate)
        let ones = Tensor(shape: [rows, columns], values: [Float](repeating: 1, count: rows * columns))
        var generator = RandomGenerator(seed: 1)
        let trained = layer.forward(ones, mode: .train, generator: &generator).array
        let zeros = trained.filter { $0 == 0 }.count
        #expect(trained.allSatisfy { $0 == 0 || $0 == 1 / (1 - rate) })
        let error = (Double(rate * (1 - rate)) / Double(rows * columns)).squareRoot()
        #expect(abs(Double(zeros) / Double(rows * columns) - Double(rate)) < 4 * error, "dropped \(zeros)")
        #expect(Array(trained[0..<columns]) != Array(trained[columns..<(2 * columns)]), "rows share a training mask")

        let shared = layer.forward(ones, mode: .sampleWeights, generator: &generator).array
        for row in 1..<rows { #expect(Array(shared[(row * columns)..<((row + 1) * columns)]) == Array(shared[0..<columns])) }
        #expect(shared.contains(0))
        let input = randomTensor([3, 5], seed: 2)
        #expect(layer.forward(input, mode: .mean, generator: &generator).array == input.array)
        #expect(layer.isStochasticInPrediction && !Dense(inputs: 2, outputs: 2).isStochasticInPrediction)
    }
}
