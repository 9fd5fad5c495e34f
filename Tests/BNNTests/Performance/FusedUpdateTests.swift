import CBNNKernels
import Foundation
import Testing
@testable import BNN

extension PerformanceTests {
    /// Adam's fused step of posterior blocks (chain rule to ρ, KL gradient, Adam and σ refresh in one C
    /// pass) against the unfused reference sequence `backward` → `completeRhoGradient` →
    /// `accumulateKLGradient` → Adam's plain update → `parametersDidChange`, on random data with awkward
    /// sizes (tails shorter than a vector).
    @Suite struct FusedUpdateTests {
        /// The largest |a − b| over the largest |b|, so that values near 0 do not dominate.
        func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
            var scale: Float = 0, error: Float = 0
            for i in 0..<b.count {
                scale = max(scale, abs(b.pointer[i]))
                error = max(error, abs(a.pointer[i] - b.pointer[i]))
            }
            return error / max(scale, 1e-30)
        }

        func makeLayer(_ estimator: GradientEstimator, inputs: Int, outputs: Int, prior: Prior = .normal(sigma: 0.7)) -> BayesianDense {
            let layer = BayesianDense(inputs: inputs, outputs: outputs, estimator: estimator, prior: prior)
            var generator = RandomGenerator(seed: 11)
            layer.initialize(.he, initialSigma: 0.1, generator: &generator)
            // Spread ρ over both tails of softplus and sigmoid.
            generator.fillNormal(layer.weight.rho.value, mean: -2, standardDeviation: 2)
            generator.fillNormal(layer.bias.rho.value, mean: -2, standardDeviation: 2)
            generator.fillNormal(layer.bias.mu.value, standardDeviation: 0.3)
            layer.parametersDidChange()
            return layer
        }

        /// Every estimator with the Normal prior, and the scale mixture (whose KL gradient `Adam` takes from the
        /// block before the fused pass) with each estimator's form of ρ's data gradient.
        @Test(arguments: [(GradientEstimator.local, Prior.normal(sigma: 0.7)), (.weights, .normal(sigma: 0.7)),
                          (.flipout, .normal(sigma: 0.7)), (.local, .scaleMixture(pi: 0.3, sigma1: 0.8, sigma2: 0.05)),
                          (.weights, .scaleMixture(pi: 0.3, sigma1: 0.8, sigma2: 0.05)),
                          (.flipout, .scaleMixture(pi: 0.3, sigma1: 0.8, sigma2: 0.05))])
        func fusedStepMatchesUnfusedSequence(estimator: GradientEstimator, prior: Prior) {
            let inputs = 37, outputs = 21, batch = 6, steps = 4
            let reference = makeLayer(estimator, inputs: inputs, outputs: outputs, prior: prior)
            let fused = makeLayer(estimator, inputs: inputs, outputs: outputs, prior: prior)
            let referenceOptimizer = Adam(parameters: reference.parameters, learningRate: 0.01)
            let fusedOptimizer = Adam(parameters: [], blocks: fused.posteriorBlocks, learningRate: 0.01)
            var referenceGenerator = RandomGenerator(seed: 5), fusedGenerator = RandomGenerator(seed: 5)
            let klScale: Float = 0.37
            for step in 0..<steps {
                let input = randomTensor([batch, inputs], seed: UInt64(100 + step))
                let outputGradient = randomTensor([batch, outputs], seed: UInt64(200 + step), scale: 0.1)
                let referenceOutput = reference.forward(input, mode: .train, generator: &referenceGenerator).copy()
                let fusedOutput = fused.forward(input, mode: .train, generator: &fusedGenerator).copy()
                #expect(relativeError(fusedOutput, referenceOutput) < 1e-6, "forward, step \(step)")
                _ = reference.backward(outputGradient, needsInputGradient: true)
                _ = fused.backward(outputGradient, needsInputGradient: true)
                for block in reference.posteriorBlocks { block.drawKLNoise(generator: &referenceGenerator) }
                for block in fused.posteriorBlocks { block.drawKLNoise(generator: &fusedGenerator) }

                for block in reference.posteriorBlocks {
                    block.completeRhoGradient()
                    block.accumulateKLGradient(scale: klScale)
                }
                referenceOptimizer.step(klScale: 0)
                reference.parametersDidChange()
                fusedOptimizer.step(klScale: klScale)

                for (a, b) in zip(fused.parameters, reference.parameters) {
                    #expect(relativeError(a.value, b.value) < 1e-6, "\(a.name) after step \(step): \(relativeError(a.value, b.value))")
                    let (fm, fv) = fusedOptimizer.moments(of: a)!, (rm, rv) = referenceOptimizer.moments(of: b)!
                    #expect(relativeError(fm, rm) < 1e-5, "m of \(a.name) after step \(step): \(relativeError(fm, rm))")
                    #expect(relativeError(fv, rv) < 1e-5, "v of \(a.name) after step \(step): \(relativeError(fv, rv))")
                }
            }
            // The refreshed σ (weights) or σ² (local) feeds the next forward pass, and the KL agrees.
            let input = randomTensor([batch, inputs], seed: 999)
            let referenceOutput = reference.forward(input, mode: .train, generator: &referenceGenerator).copy()
            let fusedOutput = fused.forward(input, mode: .train, generator: &fusedGenerator).copy()
            #expect(relativeError(fusedOutput, referenceOutput) < 1e-5)
            #expect(abs(fused.klDivergence() - reference.klDivergence()) <= 1e-5 * abs(reference.klDivergence()))
        }

        /// The fused step takes subnormal gradients and moments as zero (a prior-only weight's gradients sink
        /// there): its result equals the step with those values zeroed, and the calling thread's arithmetic
        /// keeps its subnormals afterwards (the flush mode is restored).
        @Test func subnormalValuesActAsZeroAndTheModeIsRestored() {
            let layers = [makeLayer(.local, inputs: 19, outputs: 7), makeLayer(.local, inputs: 19, outputs: 7)]
            let optimizers = layers.map { Adam(parameters: [], blocks: $0.posteriorBlocks, learningRate: 0.01) }
            let tiny = Float.leastNormalMagnitude / 8
            for (index, layer) in layers.enumerated() {
                for block in layer.posteriorBlocks {
                    block.mu.gradient.fill(index == 0 ? tiny : 0)
                    block.rho.gradient.fill(index == 0 ? -tiny : 0)
                    block.rhoGradient = .rho
                }
                optimizers[index].step(klScale: 0)
            }
            for (a, b) in zip(layers[0].parameters, layers[1].parameters) {
                #expect(a.value.array == b.value.array, "\(a.name)")
            }
            // Computed at run time (not folded by the compiler): still a subnormal, not zero.
            let half = Tensor(shape: [1], values: [Float.leastNormalMagnitude])
            half.pointer[0] *= 0.5
            #expect(half.pointer[0] > 0 && half.pointer[0] < Float.leastNormalMagnitude)
        }

        @Test func fusedRefreshMatchesVectorMath() {
            for count in [1, 15, 16, 17, 100, 1000] {
                let rho = randomTensor([count], seed: UInt64(count), scale: 6)
                let sigma = Tensor(shape: [count]), variance = Tensor(shape: [count]), sigmoid = Tensor(shape: [count])
                bnn_fused_refresh(rho.pointer, sigma.pointer, variance.pointer, sigmoid.pointer, count)
                let expectedSigma = Tensor(shape: [count]), expectedSigmoid = Tensor(shape: [count])
                VectorMath.softplus(rho.pointer, expectedSigma.pointer, count: count)
                VectorMath.sigmoid(rho.pointer, expectedSigmoid.pointer, count: count)
                let expectedVariance = Tensor(shape: [count])
                Elementwise.square(expectedSigma.pointer, expectedVariance.pointer, count: count)
                #expect(sigma.array == expectedSigma.array)
                #expect(sigmoid.array == expectedSigmoid.array)
                #expect(relativeError(variance, expectedVariance) < 1e-7)
            }
        }

        /// A full epoch-like run through `Trainer` (Adam's fused step for every posterior block) against the
        /// same steps taken by hand with the unfused sequence, for the MLP and for the convolutional network
        /// (where the dense layers also pass gradients back to their input).
        @Test(arguments: [Architecture.mlp, .cnn], [GradientEstimator.local, .weights, .flipout])
        func trainerMatchesUnfusedTraining(architecture: Architecture, estimator: GradientEstimator) throws {
            try trainerMatchesUnfusedTraining(architecture: architecture, estimator: estimator, prior: nil)
        }

        /// The same with the scale-mixture prior (its KL draws made by the trainer after backward).
        @Test(arguments: [Architecture.mlp, .cnn])
        func trainerMatchesUnfusedTrainingWithScaleMixture(architecture: Architecture) throws {
            try trainerMatchesUnfusedTraining(architecture: architecture, estimator: .local, prior: .defaultScaleMixture)
        }

        func trainerMatchesUnfusedTraining(architecture: Architecture, estimator: GradientEstimator, prior: Prior?) throws {
            var configuration = architecture == .cnn ? TrainingConfiguration.defaultCNN : TrainingConfiguration.default
            configuration.hidden = 24
            configuration.epochs = 1
            configuration.outlierWeight = nil  // checked on its own in OutlierExposureTests
            configuration.batchSize = 16
            configuration.estimator = estimator
            configuration.prior = prior
            let inputShape = architecture == .cnn ? [1, 8, 8] : [12]
            let features = inputShape.reduce(1, *), count = 50
            let images = randomTensor([count, features], seed: 4)
            let labels = (0..<count).map { $0 % 3 }
            let data = LabeledImages(images: images, labels: labels, rows: 1, columns: features)
            var generator = RandomGenerator(seed: 1)
            let network = try ClassifierTraining.makeNetwork(configuration, inputShape: inputShape, classes: 3, generator: &generator)
            generator = RandomGenerator(seed: 1)
            let twin = try ClassifierTraining.makeNetwork(configuration, inputShape: inputShape, classes: 3, generator: &generator)
            let trainer = Trainer(network: network, configuration: configuration, generator: RandomGenerator(seed: 9))
            trainer.train(on: data, validation: nil)

            // The same epoch by hand, unfused: same shuffling, batches, noise, learning rates.
            trainOneEpochByHand(twin, configuration: configuration, images: images, labels: labels, classes: 3, seed: 9)
            for ((name, a), (_, b)) in zip(network.namedParameters, twin.namedParameters) {
                #expect(relativeError(a.value, b.value) < 1e-5, "\(name): \(relativeError(a.value, b.value))")
            }
        }

        /// One fused pass of weight sampling equals a Normal fill of the same key followed by μ + σ·ε, bit for
        /// bit, for any split of the range into 64-aligned pieces.
        @Test func fusedWeightSamplingMatchesFillAndAffine() {
            let count = 5000
            let mu = randomTensor([count], seed: 1), sigma = randomTensor([count], seed: 2, scale: 0.1)
            let expectedNoise = Tensor(shape: [count]), expectedWeight = Tensor(shape: [count])
            NormalSampler.fill(expectedNoise.pointer, count: count, key: 0xDEAD_BEEF)
            Elementwise.affineNoise(mean: mu.pointer, std: sigma.pointer, noise: expectedNoise.pointer,
                                    into: expectedWeight.pointer, count: count)
            for pieces in [[0, count], [0, 64, 1088, count], [0, 2048, count]] {
                let noise = Tensor(shape: [count]), weight = Tensor(shape: [count])
                for (start, end) in zip(pieces, pieces.dropFirst()) {
                    bnn_fused_sample_weights(mu.pointer, sigma.pointer, noise.pointer, weight.pointer, start, end - start, 0xDEAD_BEEF)
                }
                #expect(noise.array == expectedNoise.array)
                #expect(weight.array == expectedWeight.array)
            }
        }
    }
}
