import Foundation
import Testing
@testable import BNN

/// Flipout (Wen et al. 2018) beyond its gradients (checked in LayerGradientTests and ConvolutionTests):
/// each example's output has exactly the posterior's marginal (the local-reparameterisation moments),
/// and two copies of one example in a batch get uncorrelated noise, where a shared weight sample gives
/// them the same.
@Suite struct FlipoutTests {
    @Test func signsAreExactAndBalanced() {
        var generator = RandomGenerator(seed: 4)
        let count = 10_001
        let signs = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { signs.deallocate() }
        Flipout.fillSigns(signs, count: count, generator: &generator)
        let values = UnsafeBufferPointer(start: signs, count: count)
        #expect(values.allSatisfy { $0 == 1 || $0 == -1 })
        let sum = values.reduce(0, +)
        #expect(abs(sum) < 4 * Float(count).squareRoot(), "sum of signs \(sum)")  // 4 standard deviations
    }

    /// The layers under test, each with random μ, ρ (and biases) and an input of two examples that are
    /// the same image.
    func layers() -> [(Layer & MomentLayer, Tensor)] {
        let dense = BayesianDense(inputs: 6, outputs: 4, estimator: .flipout)
        let convolution = BayesianConv2D(channels: 2, height: 4, width: 4, filters: 3, kernelSize: 3, padding: 1, estimator: .flipout)
        var result: [(Layer & MomentLayer, Tensor)] = []
        for (index, layer) in [dense as Layer & MomentLayer, convolution].enumerated() {
            var generator = RandomGenerator(seed: UInt64(10 + index))
            for block in layer.posteriorBlocks {
                generator.fillNormal(block.mu.value, standardDeviation: 0.5)
                generator.fillNormal(block.rho.value, mean: -1, standardDeviation: 0.5)
            }
            layer.parametersDidChange()
            let size = layer.inputCount!
            let input = Tensor(shape: [2, size])
            generator.fillNormal(input.pointer, count: size)
            (input.pointer + size).update(from: input.pointer, count: size)
            result.append((layer, input))
        }
        return result
    }

    @Test func marginalsAreThePosteriorsAndCopiesAreUncorrelated() {
        for (layer, input) in layers() {
            let mean = Tensor(shape: [2, layer.outputShape(for: [layer.inputCount!]).reduce(1, *)])
            let deviation = Tensor(shape: mean.shape)
            layer.outputMoments(input, mean: mean, standardDeviation: deviation)
            let units = mean.columns, draws = 20_000
            var sums = [Double](repeating: 0, count: 2 * units), squares = sums, products = [Double](repeating: 0, count: units)
            var generator = RandomGenerator(seed: 3)
            for _ in 0..<draws {
                let output = layer.forward(input, mode: .train, generator: &generator)
                for i in 0..<2 * units {
                    let z = Double((output.pointer[i] - mean.pointer[i]) / deviation.pointer[i])
                    sums[i] += z
                    squares[i] += z * z
                }
                for i in 0..<units {
                    products[i] += Double((output.pointer[i] - mean.pointer[i]) / deviation.pointer[i])
                        * Double((output.pointer[units + i] - mean.pointer[units + i]) / deviation.pointer[units + i])
                }
            }
            let n = Double(draws)
            // Standardised by the exact moments: mean 0 (standard error 1/√n), variance 1 (standard error
            // about √(2/n) for a Normal), correlation of the two copies 0 (standard error 1/√n).
            for i in 0..<2 * units {
                #expect(abs(sums[i] / n) < 5 / n.squareRoot(), "\(layer.kind) unit \(i): mean \(sums[i] / n)")
                #expect(abs(squares[i] / n - 1) < 5 * (2 / n).squareRoot(), "\(layer.kind) unit \(i): variance \(squares[i] / n)")
            }
            for i in 0..<units {
                #expect(abs(products[i] / n) < 5 / n.squareRoot(), "\(layer.kind) unit \(i): correlation \(products[i] / n)")
            }
        }
    }

    /// The contrast that makes the previous test meaningful: with one shared weight sample the two copies
    /// get the same output.
    @Test func sharedWeightSampleGivesCopiesTheSameNoise() {
        for (layer, input) in layers() {
            if let dense = layer as? BayesianDense { dense.estimator = .weights }
            if let convolution = layer as? BayesianConv2D { convolution.estimator = .weights }
            var generator = RandomGenerator(seed: 3)
            let output = layer.forward(input, mode: .train, generator: &generator)
            let units = output.count / 2
            #expect((0..<units).allSatisfy { output.pointer[$0] == output.pointer[units + $0] })
        }
    }
}
