import CBNNKernels
import Foundation
import Testing
@testable import BNN

extension PerformanceTests {
    /// The sparse moments kernel (`bnn_sparse_moments`, taken by `BayesianDense.outputMoments` for
    /// mostly-zero inputs) against the moments computed in Double straight from their definition.
    @Suite struct SparseMomentsTests {
        /// `rows × inputs` values of which about `density` are non-zero (the rest exactly 0).
        func sparseInputs(rows: Int, inputs: Int, density: Double, seed: UInt64) -> Tensor {
            var generator = RandomGenerator(seed: seed)
            let x = Tensor(shape: [rows, inputs])
            for i in 0..<x.count where Double(generator.uniform()) < density { x.pointer[i] = generator.uniform() + 0.01 }
            return x
        }

        /// mean = x·μ + μ_b and std = sqrt(x²·σ² + σ_b²) in Double.
        func reference(_ layer: BayesianDense, _ x: Tensor) -> (mean: [Double], std: [Double]) {
            let posterior = layer.posteriorMeanAndVariance()
            let rows = x.rows, k = layer.inputs, n = layer.outputs
            var mean = [Double](repeating: 0, count: rows * n), std = mean
            for r in 0..<rows {
                for c in 0..<n {
                    var m = Double(posterior.biasMean.pointer[c]), v = Double(posterior.biasVariance.pointer[c])
                    for p in 0..<k {
                        let value = Double(x.pointer[r * k + p])
                        m += value * Double(posterior.weightMean.pointer[p * n + c])
                        v += value * value * Double(posterior.weightVariance.pointer[p * n + c])
                    }
                    mean[r * n + c] = m
                    std[r * n + c] = v.squareRoot()
                }
            }
            return (mean, std)
        }

        func layer(inputs: Int, outputs: Int) -> BayesianDense {
            var generator = RandomGenerator(seed: 5)
            let layer = BayesianDense(inputs: inputs, outputs: outputs, estimator: .local, priorSigma: 1)
            layer.initialize(.he, initialSigma: 0.1, generator: &generator)
            generator.fillNormal(layer.bias.mu.value, standardDeviation: 0.3)
            generator.fillNormal(layer.bias.rho.value, mean: -2, standardDeviation: 0.5)
            generator.fillNormal(layer.weight.rho.value, mean: -3, standardDeviation: 0.5)
            layer.parametersDidChange()
            return layer
        }

        /// Shapes with whole column blocks, partial ones (outputs not a multiple of 64 or of 16), fewer and
        /// more rows than one row block (256), and very sparse to half-dense inputs.
        @Test(arguments: [(784, 1024, 24, 0.19), (13, 37, 5, 0.3), (20, 130, 40, 0.05), (50, 64, 257, 0.5), (7, 3, 2, 1.0)])
        func kernelMatchesDefinition(shape: (inputs: Int, outputs: Int, rows: Int, density: Double)) {
            let layer = layer(inputs: shape.inputs, outputs: shape.outputs)
            let x = sparseInputs(rows: shape.rows, inputs: shape.inputs, density: shape.density, seed: 3)
            // An all-zero row gives the bias moments.
            for p in 0..<shape.inputs { x.pointer[p] = 0 }
            let posterior = layer.posteriorMeanAndVariance()
            let mean = Tensor(shape: [shape.rows, shape.outputs]), std = Tensor(shape: [shape.rows, shape.outputs])
            bnn_sparse_moments(x.pointer, shape.rows, shape.inputs, posterior.weightMean.pointer, posterior.weightVariance.pointer,
                               nil, shape.outputs, posterior.biasMean.pointer, posterior.biasVariance.pointer, mean.pointer, std.pointer)
            // From a packed panel, for the whole batch and for each row alone (which reads μ and σ² in place
            // without a panel): the same sums, to the bit.
            let length = bnn_sparse_panel_length(shape.inputs, shape.outputs)
            let panel = Tensor(shape: [max(1, length)], repeating: .nan)
            bnn_sparse_pack_panel(posterior.weightMean.pointer, posterior.weightVariance.pointer, shape.inputs, shape.outputs,
                                  panel.pointer, 0, shape.outputs / Int(BNN_SPARSE_PANEL_COLUMNS))
            let (packedMean, packedStd) = (Tensor(shape: mean.shape), Tensor(shape: std.shape))
            bnn_sparse_moments(x.pointer, shape.rows, shape.inputs, posterior.weightMean.pointer, posterior.weightVariance.pointer,
                               panel.pointer, shape.outputs, posterior.biasMean.pointer, posterior.biasVariance.pointer,
                               packedMean.pointer, packedStd.pointer)
            let (rowMean, rowStd) = (Tensor(shape: mean.shape), Tensor(shape: std.shape))
            for r in 0..<shape.rows {
                bnn_sparse_moments(x.pointer + r * shape.inputs, 1, shape.inputs, posterior.weightMean.pointer,
                                   posterior.weightVariance.pointer, panel.pointer, shape.outputs, posterior.biasMean.pointer,
                                   posterior.biasVariance.pointer, rowMean.pointer + r * shape.outputs, rowStd.pointer + r * shape.outputs)
            }
            for (name, result) in [("packed", (packedMean, packedStd)), ("row by row", (rowMean, rowStd))] {
                let differing = (0..<mean.count).filter {
                    result.0[$0].bitPattern != mean[$0].bitPattern || result.1[$0].bitPattern != std[$0].bitPattern
                }.count
                #expect(differing == 0, "\(name): \(differing) outputs differ, \(shape)")
            }
            let expected = reference(layer, x)
            var worst = 0.0
            for i in 0..<mean.count {
                worst = max(worst, abs(Double(mean.pointer[i]) - expected.mean[i]) / (1 + abs(expected.mean[i])))
                worst = max(worst, abs(Double(std.pointer[i]) - expected.std[i]) / (1 + expected.std[i]))
            }
            #expect(worst < 1e-5, "largest relative error \(worst)")
            for c in 0..<shape.outputs {
                #expect(mean.pointer[c] == posterior.biasMean.pointer[c])
                #expect(abs(std.pointer[c] - posterior.biasVariance.pointer[c].squareRoot()) <= 1e-6 * std.pointer[c])
            }
        }

        /// `outputMoments` takes the sparse path below the density limit and the matrix multiplies above
        /// it; both agree with the definition.
        @Test(arguments: [0.1, 0.9])
        func layerMomentsMatchDefinition(density: Double) {
            let layer = layer(inputs: 100, outputs: 96)
            let x = sparseInputs(rows: 70, inputs: 100, density: density, seed: 11)
            #expect(BayesianDense.prefersSparseMoments(x.pointer, count: x.count) == (density < BayesianDense.sparseMomentsDensityLimit))
            let mean = Tensor(shape: [70, 96]), std = Tensor(shape: [70, 96])
            layer.outputMoments(x, mean: mean, standardDeviation: std)
            let expected = reference(layer, x)
            for i in 0..<mean.count {
                #expect(abs(Double(mean.pointer[i]) - expected.mean[i]) <= 1e-5 * (1 + abs(expected.mean[i])))
                #expect(abs(Double(std.pointer[i]) - expected.std[i]) <= 1e-5 * (1 + expected.std[i]))
            }
        }

        /// The layer's sparse moments read μ and σ² from a panel packed once per change of the weights
        /// (`MeanFieldNormal.sparsePanel`) and refreshed by Adam's fused step: before and after two Adam
        /// steps, and after a direct write followed by `parametersDidChange`, they equal the kernel's sums from
        /// the current weights without a panel. 96 outputs take the step's whole-vector panel writes, 70 its
        /// lane-by-lane ones (rows that are not whole vectors) and a tail of columns outside the panel.
        @Test(arguments: [96, 70])
        func sparsePanelFollowsTheWeights(outputs: Int) {
            let layer = layer(inputs: 100, outputs: outputs)
            let x = sparseInputs(rows: 40, inputs: 100, density: 0.15, seed: 12)
            func differing() -> Int {
                let mean = Tensor(shape: [40, outputs]), std = Tensor(shape: [40, outputs])
                layer.outputMoments(x, mean: mean, standardDeviation: std)
                let posterior = layer.posteriorMeanAndVariance()
                let expectedMean = Tensor(shape: [40, outputs]), expectedStd = Tensor(shape: [40, outputs])
                bnn_sparse_moments(x.pointer, 40, 100, posterior.weightMean.pointer, posterior.weightVariance.pointer, nil, outputs,
                                   posterior.biasMean.pointer, posterior.biasVariance.pointer, expectedMean.pointer, expectedStd.pointer)
                return (0..<mean.count).filter {
                    mean[$0].bitPattern != expectedMean[$0].bitPattern || std[$0].bitPattern != expectedStd[$0].bitPattern
                }.count
            }
            #expect(differing() == 0, "initial weights")
            var generator = RandomGenerator(seed: 8)
            let optimizer = Adam(parameters: [], blocks: [layer.weight], learningRate: 0.05)
            for step in 1...2 {
                generator.fillNormal(layer.weight.mu.gradient)
                generator.fillNormal(layer.weight.rho.gradient)
                layer.weight.rhoGradient = .variance
                optimizer.step(klScale: 0.5)
                #expect(layer.weight.current.contains(.sparsePanel), "the step refreshes the panel")
                #expect(differing() == 0, "after Adam step \(step)")
            }
            layer.weight.mu.value.pointer[5 * outputs + 3] += 10
            layer.weight.parametersDidChange()
            #expect(differing() == 0, "after a direct write")
        }

        /// A training forward pass (local reparameterisation) on a mostly-zero batch takes
        /// the sparse sums too: out = (x·μ + μ_b) + sqrt(x²·σ² + σ_b²)·ε with ε the layer's Normal draws.
        @Test func trainingForwardOnSparseInputs() {
            let layer = layer(inputs: 100, outputs: 96)
            let x = sparseInputs(rows: 30, inputs: 100, density: 0.15, seed: 2)
            #expect(BayesianDense.prefersSparseMoments(x.pointer, count: x.count))
            layer.readsNetworkInput = true
            var generator = RandomGenerator(seed: 44)
            var noiseGenerator = generator
            let output = layer.forward(x, mode: .train, generator: &generator)
            let noise = Tensor(shape: [30, 96])
            noiseGenerator.fillNormal(noise)
            let expected = reference(layer, x)
            for i in 0..<output.count {
                let value = expected.mean[i] + expected.std[i] * Double(noise.pointer[i])
                #expect(abs(Double(output.pointer[i]) - value) <= 1e-5 * (1 + abs(value)), "output \(i)")
            }
        }

        /// The weight gradient over the non-zero inputs only (`bnn_sparse_transposed_product`) equals the
        /// portable matrix multiply xᵀ·g to the bit, and so does its second product (x ⊙ x)ᵀ·g₂ from the same
        /// list: whole column blocks and a tail, inputs zero in every row, one row, the most rows it takes (the
        /// multiply's depth block), and a range of columns alone.
        @Test(arguments: [(128, 784, 1024, 0.19), (1, 9, 70, 0.5), (Int(bnn_sgemm_depth_block()), 40, 130, 0.1), (33, 20, 5, 0.3)])
        func sparseWeightGradientEqualsTheMatrixMultiply(shape: (Int, Int, Int, Double)) {
            let (rows, k, n, density) = shape
            let x = sparseInputs(rows: rows, inputs: k, density: density, seed: 8)
            for b in 0..<rows { x.pointer[b * k + k / 2] = 0 }  // an input no row uses
            let squares = Tensor(shape: [rows, k])
            Elementwise.square(x.pointer, squares.pointer, count: x.count)
            var generator = RandomGenerator(seed: 9)
            let (g, g2) = (Tensor(shape: [rows, n]), Tensor(shape: [rows, n]))
            for i in 0..<g.count { (g.pointer[i], g2.pointer[i]) = (generator.uniform() - 0.5, generator.uniform() - 0.5) }
            let (expected, expectedSquared) = (Tensor(shape: [k, n]), Tensor(shape: [k, n]))
            for (a, b, c) in [(x, g, expected), (squares, g2, expectedSquared)] {
                MatrixMultiply.gemm(transposeA: true, m: k, n: n, k: rows, a: a.pointer, lda: k, b: b.pointer, ldb: n,
                                    c: c.pointer, ldc: n, path: .portable)
            }
            func differing(_ product: Tensor, _ expected: Tensor) -> Int {
                (0..<product.count).filter { product[$0].bitPattern != expected[$0].bitPattern }.count
            }
            let product = Tensor(shape: [k, n], repeating: .nan)
            bnn_sparse_transposed_product(x.pointer, rows, k, g.pointer, product.pointer, nil, nil, n, 0, n)
            #expect(differing(product, expected) == 0, "\(differing(product, expected)) entries differ, \(shape)")
            let (both, bothSquared) = (Tensor(shape: [k, n], repeating: .nan), Tensor(shape: [k, n], repeating: .nan))
            bnn_sparse_transposed_product(x.pointer, rows, k, g.pointer, both.pointer, g2.pointer, bothSquared.pointer, n, 0, n)
            #expect(differing(both, expected) == 0, "with squares: \(differing(both, expected)) entries differ, \(shape)")
            #expect(differing(bothSquared, expectedSquared) == 0,
                    "\(differing(bothSquared, expectedSquared)) entries of the squares' product differ, \(shape)")
            // Columns 3 ..< n − 2 alone (a thread's share): the rest is left as it was.
            let (part, partSquared) = (Tensor(shape: [k, n], repeating: .nan), Tensor(shape: [k, n], repeating: .nan))
            bnn_sparse_transposed_product(x.pointer, rows, k, g.pointer, part.pointer, g2.pointer, partSquared.pointer, n,
                                          min(3, n), max(min(3, n), n - 2))
            var wrong = 0
            for p in 0..<k {
                for j in 0..<n {
                    let inside = j >= min(3, n) && j < max(min(3, n), n - 2)
                    for (result, reference) in [(part, expected), (partSquared, expectedSquared)] {
                        if inside ? result[p * n + j] != reference[p * n + j] : !result[p * n + j].isNaN { wrong += 1 }
                    }
                }
            }
            #expect(wrong == 0, "\(wrong) entries wrong with a column range, \(shape)")
        }

        /// A training step's weight gradients on a mostly-zero batch take the sparse product and equal the
        /// dense ones to the bit (the same layer, as a hidden layer, multiplies densely).
        @Test(arguments: [GradientEstimator.local, .weights, .flipout])
        func sparseGradientsInTraining(estimator: GradientEstimator) {
            let x = sparseInputs(rows: 64, inputs: 100, density: 0.15, seed: 3)
            var gradients: [[Float]] = []
            for readsNetworkInput in [true, false] {
                var generator = RandomGenerator(seed: 5)
                let layer = BayesianDense(inputs: 100, outputs: 70, estimator: estimator, priorSigma: 1)
                layer.initialize(.he, initialSigma: 0.1, generator: &generator)
                layer.readsNetworkInput = readsNetworkInput
                var noise = RandomGenerator(seed: 6)
                let output = layer.forward(x, mode: .train, generator: &noise)
                let g = Tensor(shape: output.shape)
                for i in 0..<g.count { g.pointer[i] = Float(i % 7) - 3 }
                _ = layer.backward(g, needsInputGradient: false)
                gradients.append(layer.weight.mu.gradient.array + layer.weight.rho.gradient.array)
            }
            let differing = zip(gradients[0], gradients[1]).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(differing) gradients differ, \(estimator)")
        }

        @Test func densityRule() {
            let values: [Float] = [0, 0, 1, 0, 0, 0, 0, 0, 0, 2]
            #expect(BayesianDense.prefersSparseMoments(values, count: values.count))
            let dense = [Float](repeating: 0.5, count: 10)
            #expect(!BayesianDense.prefersSparseMoments(dense, count: dense.count))
        }
    }
}
