import Foundation
import Testing
@testable import BNN

extension PerformanceTests {
    /// The fused per-sample kernel of `Predictive` (noise, ReLU, second layer's moments and noise, softmax in
    /// one pass) against the layer-by-layer computation it replaces, drawing the same Normal streams.
    @Suite struct FusedPredictiveTests {
        /// The layer-by-layer path, written out: moments of the first layer once, then per sample
        /// hidden noise → affine → ReLU → second layer (`.sample`) → softmax.
        func layerByLayer(_ network: Sequential, _ images: Tensor, samples: Int, generator: inout RandomGenerator) -> Tensor {
            let first = network.layers[0] as! BayesianDense
            let count = images.rows, classes = network.classes
            let mean = Tensor(shape: [count, first.outputs]), std = Tensor(shape: [count, first.outputs])
            first.outputMoments(images, mean: mean, standardDeviation: std)
            let result = Tensor(shape: [samples, count, classes])
            let activation = Tensor(shape: [count, first.outputs])
            for sample in 0..<samples {
                generator.fillNormal(activation)
                Elementwise.affineNoise(mean: mean.pointer, std: std.pointer, noise: activation.pointer, into: activation.pointer,
                                        count: activation.count)
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
    }
}
