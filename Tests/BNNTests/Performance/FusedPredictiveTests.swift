import CBNNKernels
import Foundation
import Testing
@testable import BNN

extension PerformanceTests {
    /// The fused per-sample kernel of `Predictive` (noise, ReLU, second layer's moments and noise, softmax in
    /// one pass) against the layer-by-layer computation it replaces, drawing the same Normal streams.
    @Suite struct FusedPredictiveTests {
        /// The layer-by-layer path, written out: moments of the first layer once, then per sample
        /// hidden noise (the sample's vector, rotated per row) → affine → ReLU → second layer (`.sample`) →
        /// softmax.
        func layerByLayer(_ network: Sequential, _ images: Tensor, samples: Int, generator: inout RandomGenerator) -> Tensor {
            let first = network.layers[0] as! BayesianDense
            let count = images.rows, classes = network.classes
            let mean = Tensor(shape: [count, first.outputs]), std = Tensor(shape: [count, first.outputs])
            first.outputMoments(images, mean: mean, standardDeviation: std)
            let result = Tensor(shape: [samples, count, classes])
            let activation = Tensor(shape: [count, first.outputs])
            let hidden = first.outputs
            for sample in 0..<samples {
                // One noise vector per sample; row r reads it rotated by its offset o_r.
                let key = generator.next()
                let noise = Tensor(shape: [hidden])
                NormalSampler.fill(noise.pointer, count: hidden, key: key)
                for row in 0..<count {
                    let offset = bnn_noise_offset(key, row, hidden)
                    for j in 0..<hidden {
                        activation[row, j] = mean[row, j] + std[row, j] * noise[(j + offset) % hidden]
                    }
                }
                let hidden = network.layers[1].forward(activation, mode: .sample, generator: &generator)
                let logits = network.layers[2].forward(hidden, mode: .sample, generator: &generator)
                let log = Tensor(shape: [count, classes])
                SoftmaxCrossEntropy.logSoftmax(logits.pointer, into: log.pointer, rows: count, classes: classes)
                for i in 0..<log.count { result.pointer[sample * count * classes + i] = Foundation.exp(log.pointer[i]) }
            }
            return result
        }

        @Test(arguments: [(13, 37, 10, 7), (20, 1100, 3, 9), (9, 64, 16, 1), (784, 1024, 10, 33)])
        func fusedSamplesMatchLayerByLayer(shape: (inputs: Int, hidden: Int, classes: Int, count: Int)) {
            var generator = RandomGenerator(seed: 21)
            let network = NetworkBuilder.mlp(inputs: shape.inputs, hidden: shape.hidden, classes: shape.classes,
                                             estimator: .local, priorSigma: 1)
            for case let layer as BayesianDense in network.layers {
                layer.initialize(.he, initialSigma: 0.2, generator: &generator)
                generator.fillNormal(layer.biasMu.value, standardDeviation: 0.3)
                layer.parametersDidChange()
            }
            let images = randomTensor([shape.count, shape.inputs], seed: 8)
            let samples = 5
            var fusedGenerator = RandomGenerator(seed: 77), referenceGenerator = RandomGenerator(seed: 77)
            let fused = Predictive(network: network, chunkSize: 4).sampleProbabilities(images, samples: samples, generator: &fusedGenerator)
            // The reference runs chunk by chunk as Predictive does (chunks of 4 rows).
            let expected = Tensor(shape: [samples, shape.count, shape.classes])
            var start = 0
            while start < shape.count {
                let size = min(4, shape.count - start)
                let chunk = Tensor(shape: [size, shape.inputs])
                chunk.pointer.update(from: images.pointer + start * shape.inputs, count: size * shape.inputs)
                let part = layerByLayer(network, chunk, samples: samples, generator: &referenceGenerator)
                for sample in 0..<samples {
                    (expected.pointer + (sample * shape.count + start) * shape.classes)
                        .update(from: part.pointer + sample * size * shape.classes, count: size * shape.classes)
                }
                start += size
            }
            var worst: Float = 0
            for i in 0..<expected.count { worst = max(worst, abs(fused.pointer[i] - expected.pointer[i])) }
            #expect(worst < 2e-5, "largest probability difference \(worst)")
            // Rows are probability vectors.
            for row in 0..<(samples * shape.count) {
                var total: Float = 0
                for c in 0..<shape.classes { total += fused.pointer[row * shape.classes + c] }
                #expect(abs(total - 1) < 1e-5)
            }
        }

        /// A 10-class MLP with He-initialised means and initial σ 0.3.
        func initializedMLP(inputs: Int, hidden: Int, seed: UInt64) -> Sequential {
            var generator = RandomGenerator(seed: seed)
            let network = NetworkBuilder.mlp(inputs: inputs, hidden: hidden, classes: 10, estimator: .local, priorSigma: 1)
            for case let layer as BayesianDense in network.layers {
                layer.initialize(.he, initialSigma: 0.3, generator: &generator)
                layer.parametersDidChange()
            }
            return network
        }

        /// With the fused kernel off, `Predictive` takes the layer-by-layer path with the same draws.
        @Test func unfusedPathMatchesTheFusedKernel() {
            let network = initializedMLP(inputs: 30, hidden: 200, seed: 5)
            let images = randomTensor([19, 30], seed: 3)
            var first = RandomGenerator(seed: 6), second = RandomGenerator(seed: 6)
            var unfused = Predictive(network: network, chunkSize: 7)
            unfused.fusedKernel = false
            let a = Predictive(network: network, chunkSize: 7).sampleProbabilities(images, samples: 4, generator: &first)
            let b = unfused.sampleProbabilities(images, samples: 4, generator: &second)
            var worst: Float = 0
            for i in 0..<a.count { worst = max(worst, abs(a.pointer[i] - b.pointer[i])) }
            #expect(worst < 2e-5, "largest probability difference \(worst)")
            #expect(first.next() == second.next())
        }

        /// The samples do not depend on the number of threads (each row's draws depend on its key and
        /// index only).
        @Test func samplesDoNotDependOnThreads() {
            let network = initializedMLP(inputs: 40, hidden: 64, seed: 2)
            let images = randomTensor([300, 40], seed: 9)
            let saved = ComputeSettings.threads
            defer { ComputeSettings.threads = saved }
            var results: [[Float]] = []
            for threads in [1, 2] {
                ComputeSettings.threads = threads
                var sampleGenerator = RandomGenerator(seed: 4)
                results.append(Predictive(network: network).sampleProbabilities(images, samples: 3, generator: &sampleGenerator).array)
            }
            #expect(results[0] == results[1])
        }

        /// Offsets are in range, deterministic and uniform (χ² over 64 bins for 64,000 rows, 63 degrees of
        /// freedom: the 99.99% point is about 120), and differ between keys.
        @Test func noiseOffsetsAreUniform() {
            #expect(bnn_noise_offset(3, 0, 1) == 0)
            var counts = [Int](repeating: 0, count: 64)
            for row in 0..<64_000 {
                let offset = bnn_noise_offset(42, row, 64)
                #expect(offset >= 0 && offset < 64)
                counts[offset] += 1
            }
            let chiSquare = counts.reduce(0.0) { $0 + pow(Double($1) - 1000, 2) / 1000 }
            #expect(chiSquare < 120, "χ² \(chiSquare)")
            #expect(bnn_noise_offset(42, 17, 1_000_003) == bnn_noise_offset(42, 17, 1_000_003))
            let same = (0..<1000).filter { bnn_noise_offset(1, $0, 1 << 20) == bnn_noise_offset(2, $0, 1 << 20) }.count
            #expect(same < 3)
        }

        /// The rotated noise of a row, over many samples, is standard normal at every unit, and two rows'
        /// noise at the same unit is uncorrelated (what independent draws would give; the shared vector
        /// without rotation gives correlation 1).
        @Test func rotatedNoiseIsStandardNormalAndUncorrelatedAcrossRows() {
            let rows = 3, n = 200, samples = 20_000
            let mean = Tensor(shape: [rows, n]), std = Tensor(shape: [rows, n]), activation = Tensor(shape: [rows, n])
            std.fill(1)
            let noise = Tensor(shape: [n])
            var generator = RandomGenerator(seed: 8)
            var sum = [Double](repeating: 0, count: rows * n), sumSquares = sum, cross = [Double](repeating: 0, count: n)
            for _ in 0..<samples {
                let key = generator.next()
                NormalSampler.fill(noise.pointer, count: n, key: key)
                Predictive.rotatedNoise(mean: mean, std: std, noise: noise.pointer, key: key, into: activation)
                for i in 0..<(rows * n) {
                    sum[i] += Double(activation.pointer[i])
                    sumSquares[i] += Double(activation.pointer[i] * activation.pointer[i])
                }
                for j in 0..<n { cross[j] += Double(activation[0, j] * activation[1, j]) }
            }
            // 4.5 standard errors: 0.032 for the mean, 0.045 for the variance, 0.032 for the correlation.
            for i in 0..<(rows * n) {
                let m = sum[i] / Double(samples)
                #expect(abs(m) < 0.032, "unit \(i): mean \(m)")
                #expect(abs(sumSquares[i] / Double(samples) - m * m - 1) < 0.045, "unit \(i)")
            }
            for j in 0..<n { #expect(abs(cross[j] / Double(samples)) < 0.032, "unit \(j): correlation \(cross[j] / Double(samples))") }
        }
    }
}
