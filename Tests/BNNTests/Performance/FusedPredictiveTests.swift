import CBNNKernels
import Foundation
import Testing
@testable import BNN

extension PerformanceTests {
    /// The fused per-sample kernel of `Predictive` (noise, ReLU, second layer's moments and noise, softmax in
    /// one pass) against the plain-Swift reference of the same computation (`fusedKernel = false`), and the
    /// rule that an input's samples depend on nothing but the input, the model, the sample index and the seed.
    @Suite struct FusedPredictiveTests {
        /// An MLP with He-initialised means, initial σ 0.2 and spread-out biases.
        func initializedMLP(inputs: Int, hidden: Int, classes: Int = 10, seed: UInt64) -> Sequential {
            var generator = RandomGenerator(seed: seed)
            let network = NetworkBuilder.mlp(inputs: inputs, hidden: hidden, classes: classes, estimator: .local, priorSigma: 1)
            for case let layer as BayesianDense in network.layers {
                layer.initialize(.he, initialSigma: 0.2, generator: &generator)
                generator.fillNormal(layer.bias.mu.value, standardDeviation: 0.3)
                layer.parametersDidChange()
            }
            return network
        }

        func largestDifference(_ a: Tensor, _ b: Tensor) -> Float {
            precondition(a.shape == b.shape)
            var worst: Float = 0
            for i in 0..<a.count { worst = max(worst, abs(a.pointer[i] - b.pointer[i])) }
            return worst
        }

        @Test(arguments: [(13, 37, 10, 7), (20, 1100, 3, 9), (9, 64, 16, 1), (784, 1024, 10, 33)])
        func fusedSamplesMatchTheReference(shape: (inputs: Int, hidden: Int, classes: Int, count: Int)) {
            let network = initializedMLP(inputs: shape.inputs, hidden: shape.hidden, classes: shape.classes, seed: 21)
            let images = randomTensor([shape.count, shape.inputs], seed: 8)
            var reference = Predictive(network: network, chunkSize: 5)
            reference.fusedKernel = false
            let fused = Predictive(network: network, chunkSize: 4).sampleProbabilities(images, samples: 0..<5, seed: 77)
            let expected = reference.sampleProbabilities(images, samples: 0..<5, seed: 77)
            #expect(largestDifference(fused, expected) < 2e-5, "largest probability difference \(largestDifference(fused, expected))")
            // Rows are probability vectors.
            for row in 0..<(5 * shape.count) {
                var total: Float = 0
                for c in 0..<shape.classes { total += fused.pointer[row * shape.classes + c] }
                #expect(abs(total - 1) < 1e-5)
            }
        }

        /// The bf16 kernel on AMX (`precision = .bfloat16`, `bnn_fused_sample_mlp_bf16`) against the reference
        /// that rounds the same factors to bf16: equal within fp32 summation error (a wrong tile layout,
        /// pairing, sample row or output slice is far outside it), and within bf16's error of the fp32
        /// samples. Samples not a multiple of 16, hidden sizes not a multiple of 32, up to 16 classes. On a
        /// machine without AMX it is the fp32 kernel, bit for bit.
        @Test(arguments: [(13, 37, 10, 7, 5), (20, 1100, 3, 9, 17), (9, 64, 16, 1, 40), (784, 1024, 10, 33, 100)])
        func bfloat16SamplesMatchTheRoundedReference(shape: (inputs: Int, hidden: Int, classes: Int, count: Int, samples: Int)) {
            let network = initializedMLP(inputs: shape.inputs, hidden: shape.hidden, classes: shape.classes, seed: 21)
            let images = randomTensor([shape.count, shape.inputs], seed: 8)
            var fused = Predictive(network: network, chunkSize: 4), reference = Predictive(network: network, chunkSize: 5)
            fused.precision = .bfloat16
            reference.precision = .bfloat16
            reference.fusedKernel = false
            var single = fused
            single.precision = .float32
            let samples = 0..<shape.samples
            let bf16 = fused.sampleProbabilities(images, samples: samples, seed: 77)
            let fp32 = single.sampleProbabilities(images, samples: samples, seed: 77)
            guard MatrixPrecision.bfloat16IsAvailable else {
                #expect(bf16.array == fp32.array)
                return
            }
            let expected = reference.sampleProbabilities(images, samples: samples, seed: 77)
            #expect(largestDifference(bf16, expected) < 5e-5, "largest difference from the rounded reference \(largestDifference(bf16, expected))")
            #expect(largestDifference(bf16, fp32) < 3e-2, "largest difference from fp32 \(largestDifference(bf16, fp32))")
            #expect(bf16.array != fp32.array, "the bf16 kernel ran in fp32")
        }

        /// The kept noise vectors (`NoiseVectorCache`) give what fresh draws give: a call repeated after
        /// more other seeds than the cache holds, and again while its vectors are kept, answers the same,
        /// and a sub-range of samples is the same slice of the whole.
        @Test func keptNoiseVectorsGiveTheSameSamples() {
            let network = initializedMLP(inputs: 30, hidden: 200, seed: 5)
            let images = randomTensor([12, 30], seed: 3)
            let predictive = Predictive(network: network)
            let first = predictive.sampleProbabilities(images, samples: 0..<6, seed: 41)
            for seed in 100..<106 { _ = predictive.sampleProbabilities(images, samples: 0..<6, seed: UInt64(seed)) }
            let fresh = predictive.sampleProbabilities(images, samples: 0..<6, seed: 41)
            let kept = predictive.sampleProbabilities(images, samples: 0..<6, seed: 41)
            #expect(fresh.array == first.array)
            #expect(kept.array == first.array)
            let part = predictive.sampleProbabilities(images, samples: 2..<4, seed: 41)
            #expect(part.array == Array(first.array[(2 * 12 * 10)..<(4 * 12 * 10)]))
            let other = predictive.sampleProbabilities(images, samples: 0..<6, seed: 42)
            #expect(other.array != first.array)
        }

        /// A summary drawn chunk by chunk equals the summary of the whole `[S, N, C]` tensor, on the fast
        /// path and on the whole-network path (a small CNN), with a last chunk shorter than the others.
        @Test func chunkedSummaryEqualsTheWholeOne() {
            for (name, predictive, shape) in predictives() {
                let images = mixedInputs(23, features: shape.reduce(1, *), seed: 4)
                let whole = PredictiveSummary(probabilities: predictive.sampleProbabilities(images, samples: 0..<7, seed: 9))
                let chunked = PredictiveSummary(predictive: predictive, images: images, samples: 0..<7, seed: 9, chunk: 5)
                let pairs: [(Tensor, Tensor)] = [
                    (whole.meanProbabilities, chunked.meanProbabilities), (whole.medianProbabilities, chunked.medianProbabilities),
                    (whole.lowerPercentileProbabilities, chunked.lowerPercentileProbabilities),
                    (whole.percentile5, chunked.percentile5), (whole.percentile95, chunked.percentile95),
                    (whole.entropy, chunked.entropy), (whole.expectedEntropy, chunked.expectedEntropy),
                    (whole.mutualInformation, chunked.mutualInformation)]
                for (a, b) in pairs { #expect(a.array == b.array, "\(name)") }
                #expect(chunked.count == 23 && chunked.samples == 7)
            }
        }

        /// The seed of `sampleProbabilities(_:samples:generator:)` is one draw of the generator.
        @Test func generatorGivesTheSeed() {
            let network = initializedMLP(inputs: 30, hidden: 200, seed: 5)
            let images = randomTensor([19, 30], seed: 3)
            var generator = RandomGenerator(seed: 6), copy = RandomGenerator(seed: 6)
            let a = Predictive(network: network).sampleProbabilities(images, samples: 4, generator: &generator)
            let b = Predictive(network: network).sampleProbabilities(images, samples: 0..<4, seed: copy.next())
            #expect(a.array == b.array)
            #expect(generator.next() == copy.next())
        }

        /// The networks every path serves: the fused MLP, its reference, an MLP with more classes than the
        /// kernel takes (whole networks), and a small CNN (whole networks).
        func predictives() -> [(String, Predictive, [Int])] {
            var reference = Predictive(network: initializedMLP(inputs: 64, hidden: 96, seed: 2), chunkSize: 7)
            reference.fusedKernel = false
            var bfloat16 = Predictive(network: initializedMLP(inputs: 64, hidden: 96, seed: 2), chunkSize: 7)
            bfloat16.precision = .bfloat16
            var configuration = TrainingConfiguration.defaultCNN
            configuration.hidden = 16
            let cnn = NetworkBuilder.cnnNetwork(configuration: configuration, classes: 10, inputShape: [1, 8, 8])
            var generator = RandomGenerator(seed: 4)
            NetworkBuilder.initialize(cnn, configuration: configuration, generator: &generator)
            // The baselines (`TrainingMethod`): point weights, Monte Carlo dropout (MLP and CNN), ensembles.
            func baseline(_ method: TrainingMethod, architecture: Architecture = .mlp, members: Int? = nil,
                          memberMethod: TrainingMethod? = nil, shape: [Int]) -> Sequential {
                var settings = TrainingConfiguration.default
                settings.hidden = 24
                settings.architecture = architecture
                var generator = RandomGenerator(seed: 5)
                return try! ClassifierTraining.makeNetwork(settings.with(method: method, members: members, memberMethod: memberMethod),
                                                           inputShape: shape, classes: 10, generator: &generator)
            }
            return [
                ("deterministic MLP", Predictive(network: baseline(.deterministic, shape: [64]), chunkSize: 7), [64]),
                ("MC-dropout MLP", Predictive(network: baseline(.mcDropout, shape: [64]), chunkSize: 7), [64]),
                ("MC-dropout CNN", Predictive(network: baseline(.mcDropout, architecture: .cnn, shape: [1, 8, 8]), chunkSize: 7), [1, 8, 8]),
                ("deterministic ensemble", Predictive(network: baseline(.ensemble, members: 3, shape: [64]), chunkSize: 7), [64]),
                ("Bayesian ensemble", Predictive(network: baseline(.ensemble, members: 2, memberMethod: .bayes, shape: [64]), chunkSize: 7), [64]),
                ("fused MLP", Predictive(network: initializedMLP(inputs: 64, hidden: 96, seed: 2), chunkSize: 7), [64]),
                ("fused MLP in bf16", bfloat16, [64]),
                ("reference MLP", reference, [64]),
                ("MLP with 20 classes", Predictive(network: initializedMLP(inputs: 64, hidden: 48, classes: 20, seed: 3), chunkSize: 7), [64]),
                ("CNN", Predictive(network: cnn, chunkSize: 7), [1, 8, 8]),
            ]
        }

        /// 101 inputs: half mostly zero (the sparse moments), half dense (the matrix multiplies).
        func mixedInputs(_ count: Int, features: Int, seed: UInt64) -> Tensor {
            let images = randomTensor([count, features], seed: seed)
            for row in stride(from: 0, to: count, by: 2) {
                for j in 0..<features where j % 5 != 0 { images.pointer[row * features + j] = 0 }
            }
            return images
        }

        /// One input's probabilities, `[samples, classes]`, from a `[samples, count, classes]` result.
        func samplesOf(_ probabilities: Tensor, input: Int) -> [Float] {
            let samples = probabilities.shape[0], count = probabilities.shape[1], classes = probabilities.shape[2]
            return (0..<samples).flatMap { s in (0..<classes).map { probabilities.pointer[(s * count + input) * classes + $0] } }
        }

        /// The same input alone, first, last and among 100 others (in two orders) gets identical samples, bit
        /// for bit, on every path and for every training method; and sample s is the same whether 3 or 8
        /// samples are drawn.
        @Test func anInputsSamplesDoNotDependOnTheOtherInputs() {
            for (name, predictive, shape) in predictives() {
                let features = shape.reduce(1, *)
                let others = mixedInputs(100, features: features, seed: 9)
                for probe in [0, 1] {
                    let input = Array(UnsafeBufferPointer(start: others.pointer + probe * features, count: features))
                    func batch(_ rows: [[Float]]) -> Tensor { Tensor(shape: [rows.count] + shape, values: rows.flatMap { $0 }) }
                    let rest = (2..<100).map { Array(UnsafeBufferPointer(start: others.pointer + $0 * features, count: features)) }
                    let alone = predictive.sampleProbabilities(batch([input]), samples: 0..<3, seed: 11)
                    let expected = samplesOf(alone, input: 0)
                    let first = predictive.sampleProbabilities(batch([input] + rest), samples: 0..<3, seed: 11)
                    let last = predictive.sampleProbabilities(batch(rest + [input]), samples: 0..<3, seed: 11)
                    let middle = predictive.sampleProbabilities(batch(Array(rest.reversed().prefix(50)) + [input] + rest.suffix(48)),
                                                                samples: 0..<3, seed: 11)
                    #expect(samplesOf(first, input: 0) == expected, "\(name), input \(probe) first")
                    #expect(samplesOf(last, input: rest.count) == expected, "\(name), input \(probe) last")
                    #expect(samplesOf(middle, input: 50) == expected, "\(name), input \(probe) among others")
                    let more = predictive.sampleProbabilities(batch([input]), samples: 0..<8, seed: 11)
                    #expect(Array(samplesOf(more, input: 0).prefix(expected.count)) == expected, "\(name): sample s depends on the range")
                    let later = predictive.sampleProbabilities(batch([input]), samples: 2..<4, seed: 11)
                    #expect(Array(samplesOf(later, input: 0).prefix(alone.shape[2])) == Array(expected.suffix(alone.shape[2])),
                            "\(name): samples 2..<4 start with sample 2")
                    let otherSeed = predictive.sampleProbabilities(batch([input]), samples: 0..<3, seed: 12)
                    // (A network with finitely many distinct samples, such as a deterministic one, ignores the seed.)
                    if predictive.distinctSampleCount == nil {
                        #expect(samplesOf(otherSeed, input: 0) != expected, "\(name): the seed changes the samples")
                    }
                }
            }
        }

        /// A dense layer's moments of a row do not depend on the other rows (sparse and dense rows mixed, any
        /// batch size), in fp32 and in bf16 (where zero steps of 32 inputs are skipped per panel of 32 rows).
        @Test(arguments: MatrixPrecision.allCases)
        func momentsOfARowDoNotDependOnTheBatch(precision: MatrixPrecision) {
            let layer = initializedMLP(inputs: 300, hidden: 130, seed: 4).layers[0] as! BayesianDense
            let batch = mixedInputs(70, features: 300, seed: 5)
            // Blank steps of 32 inputs: in every row of the first panel of 32 rows, and in row 33 alone.
            for row in 0..<32 { for j in 32..<96 { batch.pointer[row * 300 + j] = 0 } }
            for j in 0..<160 { batch.pointer[33 * 300 + j] = 0 }
            let mean = Tensor(shape: [70, 130]), deviation = Tensor(shape: [70, 130])
            layer.outputMoments(batch, mean: mean, standardDeviation: deviation, precision: precision)
            for row in [0, 1, 33, 69] {
                let one = Tensor(shape: [1, 300], values: Array(UnsafeBufferPointer(start: batch.pointer + row * 300, count: 300)))
                let m = Tensor(shape: [1, 130]), d = Tensor(shape: [1, 130])
                layer.outputMoments(one, mean: m, standardDeviation: d, precision: precision)
                #expect(m.array == Array(UnsafeBufferPointer(start: mean.pointer + row * 130, count: 130)), "row \(row) mean")
                #expect(d.array == Array(UnsafeBufferPointer(start: deviation.pointer + row * 130, count: 130)), "row \(row) deviation")
            }
        }

        /// The bf16 moments against the model of their arithmetic (x, x², μ and σ² rounded to bf16, Double
        /// sums), before and after the weights change: an Adam step and a direct write followed by
        /// `parametersDidChange` both make the layer pack its weights again. Without AMX they are fp32's.
        @Test func bfloat16MomentsFollowTheWeights() {
            let network = initializedMLP(inputs: 100, hidden: 70, seed: 6)
            let layer = network.layers[0] as! BayesianDense
            let x = mixedInputs(40, features: 100, seed: 7)
            func worstError() -> Double {
                let mean = Tensor(shape: [40, 70]), deviation = Tensor(shape: [40, 70])
                layer.outputMoments(x, mean: mean, standardDeviation: deviation, precision: .bfloat16)
                let rounds = MatrixPrecision.bfloat16IsAvailable
                func r(_ x: Float) -> Float { rounds ? MatrixPrecision.roundedToBFloat16(x) : x }
                let mu = layer.weight.mu.value, variance = layer.weight.variance
                let biasMean = layer.bias.mu.value, biasVariance = layer.bias.variance
                var worst = 0.0
                for i in 0..<40 {
                    for j in 0..<70 {
                        var m = 0.0, v = 0.0, magnitude = 0.0
                        for p in 0..<100 {
                            let value: Float = x.pointer[i * 100 + p], square: Float = value * value
                            let weightMean: Float = mu.pointer[p * 70 + j], weightVariance: Float = variance.pointer[p * 70 + j]
                            m += Double(r(value)) * Double(r(weightMean))
                            v += Double(r(square)) * Double(r(weightVariance))
                            magnitude += Double(abs(value * weightMean)) + Double(square * weightVariance)
                        }
                        m += Double(biasMean.pointer[j])
                        let s = (v + Double(biasVariance.pointer[j])).squareRoot()
                        let tolerance = 1e-5 * (magnitude + 1)
                        worst = max(worst, abs(Double(mean.pointer[i * 70 + j]) - m) / tolerance,
                                    abs(Double(deviation.pointer[i * 70 + j]) - s) / tolerance)
                    }
                }
                return worst
            }
            #expect(worstError() <= 1, "initial weights")
            // One Adam step on a made-up gradient moves μ and ρ (and writes σ² itself).
            var generator = RandomGenerator(seed: 8)
            generator.fillNormal(layer.weight.mu.gradient)
            generator.fillNormal(layer.weight.rho.gradient)
            let optimizer = Adam(parameters: [], blocks: [layer.weight], learningRate: 0.05)
            optimizer.step(klScale: 0)
            #expect(worstError() <= 1, "after an Adam step")
            layer.weight.mu.value.pointer[5 * 70 + 3] += 10
            layer.weight.parametersDidChange()
            #expect(worstError() <= 1, "after parametersDidChange")
        }

        /// The samples do not depend on the number of threads.
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

        /// Identities: equal inputs, equal identities; one changed value or a different length changes it.
        @Test func inputIdentities() {
            var values: [Float] = (0..<50).map { Float($0) / 7 }
            let a = InputIdentity.identity(of: values, count: 50)
            #expect(InputIdentity.identity(of: values, count: 50) == a)
            #expect(InputIdentity.identity(of: values, count: 49) != a)
            values[17] = values[17].nextUp
            #expect(InputIdentity.identity(of: values, count: 50) != a)
            // The low bits (which pick a whole-network group) are spread over the groups.
            var groups = Set<UInt64>()
            for i in 0..<200 {
                let row: [Float] = [Float(i), 0, 0]
                groups.insert(InputIdentity.identity(of: row, count: 3) % Predictive.networkGroups)
            }
            #expect(groups.count == Int(Predictive.networkGroups))
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

        /// The rotated noise of an input, over many samples, is standard normal at every unit, and two rows'
        /// noise at the same unit is uncorrelated (what independent draws would give; the shared vector
        /// without rotation gives correlation 1).
        @Test func rotatedNoiseIsStandardNormalAndUncorrelatedAcrossRows() {
            let rows = 3, n = 200, samples = 20_000
            let mean = Tensor(shape: [rows, n]), std = Tensor(shape: [rows, n]), activation = Tensor(shape: [rows, n])
            std.fill(1)
            let noise = Tensor(shape: [2 * n])
            let identities: [UInt64] = [3, 99, 1 << 40]
            var generator = RandomGenerator(seed: 8)
            var sum = [Double](repeating: 0, count: rows * n), sumSquares = sum, cross = [Double](repeating: 0, count: n)
            for _ in 0..<samples {
                let key = generator.next()
                NormalSampler.fill(noise.pointer, count: n, key: key)
                (noise.pointer + n).update(from: noise.pointer, count: n)
                Predictive.rotatedNoise(mean: mean, std: std, noise: noise.pointer, key: key, identities: identities, into: activation)
                for i in 0..<(rows * n) {
                    sum[i] += Double(activation.pointer[i])
                    sumSquares[i] += Double(activation.pointer[i] * activation.pointer[i])
                }
                for j in 0..<n { cross[j] += Double(activation[0, j] * activation[1, j]) }
            }
            // 5 standard errors (0.035 for the mean, 0.05 for the variance, 0.035 for the correlation): over
            // the 800 statistics, a false alarm about once in 2,000 runs (4.5 gave one in 200).
            for i in 0..<(rows * n) {
                let m = sum[i] / Double(samples)
                #expect(abs(m) < 0.035, "unit \(i): mean \(m)")
                #expect(abs(sumSquares[i] / Double(samples) - m * m - 1) < 0.05, "unit \(i)")
            }
            for j in 0..<n { #expect(abs(cross[j] / Double(samples)) < 0.035, "unit \(j): correlation \(cross[j] / Double(samples))") }
        }
    }
}
