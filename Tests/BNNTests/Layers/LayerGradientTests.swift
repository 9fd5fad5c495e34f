import Foundation
import Testing
@testable import BNN

/// Every backward pass against finite differences (the loss sees the same noise in every evaluation).
@Suite struct LayerGradientTests {
    @Test(arguments: [GradientEstimator.local, .weights, .flipout])
    func bayesianDense(estimator: GradientEstimator) {
        let layer = BayesianDense(inputs: 7, outputs: 5, estimator: estimator, priorSigma: 1)
        var generator = RandomGenerator(seed: 1)
        layer.initialize(.he, initialSigma: 0.3, generator: &generator)
        // Give ρ some spread so every chain-rule factor matters.
        generator.fillNormal(layer.weight.rho.value, mean: -1, standardDeviation: 0.5)
        generator.fillNormal(layer.bias.mu.value, standardDeviation: 0.5)
        layer.parametersDidChange()
        let input = randomTensor([4, 7], seed: 3)
        let (error, worst) = maximumGradientError(layer: layer, input: input, step: 1e-2)
        #expect(error < 2e-2, "worst: \(worst)")
    }

    @Test func dense() {
        let layer = Dense(inputs: 6, outputs: 3)
        var generator = RandomGenerator(seed: 1)
        layer.initialize(generator: &generator)
        generator.fillNormal(layer.bias.value)
        let (error, worst) = maximumGradientError(layer: layer, input: randomTensor([5, 6], seed: 4))
        #expect(error < 1e-2, "worst: \(worst)")
    }

    @Test func relu() {
        // Keep inputs away from the kink at 0, where finite differences are meaningless.
        let input = randomTensor([3, 8], seed: 2)
        for i in 0..<input.count where abs(input.pointer[i]) < 0.1 { input.pointer[i] = 0.5 }
        let (error, worst) = maximumGradientError(layer: ReLU(), input: input, step: 1e-3)
        #expect(error < 1e-2, "worst: \(worst)")
    }

    /// The KL gradient against finite differences of `klDivergence()`.
    @Test func klGradient() {
        let layer = BayesianDense(inputs: 4, outputs: 3, priorSigma: 0.7)
        var generator = RandomGenerator(seed: 11)
        generator.fillNormal(layer.weight.mu.value)
        generator.fillNormal(layer.weight.rho.value, mean: -0.5, standardDeviation: 0.8)
        generator.fillNormal(layer.bias.mu.value)
        generator.fillNormal(layer.bias.rho.value)
        layer.parametersDidChange()
        for parameter in layer.parameters { parameter.gradient.fill(0) }
        for block in layer.posteriorBlocks { block.accumulateKLGradient(scale: 1) }
        let step: Float = 1e-2
        for parameter in layer.parameters {
            for index in 0..<parameter.value.count {
                let original = parameter.value.pointer[index]
                parameter.value.pointer[index] = original + step; layer.parametersDidChange()
                let plus = layer.klDivergence()
                parameter.value.pointer[index] = original - step; layer.parametersDidChange()
                let minus = layer.klDivergence()
                parameter.value.pointer[index] = original; layer.parametersDidChange()
                let numeric = Float((plus - minus) / Double(2 * step))
                let exact = parameter.gradient.pointer[index]
                #expect(abs(exact - numeric) <= 2e-3 * max(1, abs(numeric)), "\(parameter.name)[\(index)]: \(exact) vs \(numeric)")
            }
        }
    }

    /// KL against a hand computation: μ = 0, σ = s gives 0; μ = 1, σ = s = 1 gives ½ per weight.
    @Test func klClosedForm() {
        let layer = BayesianDense(inputs: 2, outputs: 3, priorSigma: 1)
        layer.weight.rho.value.fill(inverseSoftplus(1))
        layer.bias.rho.value.fill(inverseSoftplus(1))
        layer.parametersDidChange()
        #expect(abs(layer.klDivergence()) < 1e-5)
        layer.weight.mu.value.fill(1)
        layer.parametersDidChange()
        #expect(abs(layer.klDivergence() - 3.0) < 1e-4)  // 6 weights × ½
        // σ = 0.5, μ = 0, s = 1: log 2 + 0.125 − 0.5 per parameter, 9 parameters.
        layer.weight.mu.value.fill(0)
        layer.weight.rho.value.fill(inverseSoftplus(0.5))
        layer.bias.rho.value.fill(inverseSoftplus(0.5))
        layer.parametersDidChange()
        #expect(abs(layer.klDivergence() - 9 * (log(2.0) + 0.125 - 0.5)) < 1e-4)
    }

    /// Softmax cross-entropy gradient against finite differences, and the loss against a hand value.
    @Test func softmaxCrossEntropy() {
        let logits = Tensor(shape: [1, 3], values: [0, 0, 0])
        let gradient = Tensor(shape: [1, 3])
        let labels = [2]
        let (loss, _) = labels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: $0.baseAddress!, scale: 1, gradient: gradient)
        }
        #expect(abs(loss - log(3.0)) < 1e-6)
        #expect(abs(gradient[2] - (1.0 / 3 - 1)) < 1e-6 && abs(gradient[0] - 1.0 / 3) < 1e-6)

        let random = randomTensor([4, 5], seed: 8, scale: 2)
        let randomLabels = [0, 4, 2, 2]
        let randomGradient = Tensor(shape: [4, 5])
        func value() -> Double {
            randomLabels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.lossAndGradient(logits: random, labels: $0.baseAddress!, scale: 0.25, gradient: Tensor(shape: [4, 5])).loss
            }
        }
        _ = randomLabels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(logits: random, labels: $0.baseAddress!, scale: 0.25, gradient: randomGradient)
        }
        for index in 0..<random.count {
            let numeric = centralDifference(value, in: random, at: index) * 0.25
            #expect(abs(randomGradient.pointer[index] - numeric) < 2e-3, "logit \(index)")
        }
    }
}
