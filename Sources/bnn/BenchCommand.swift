import ArgumentParser
import BNN
import BNNData
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure matrix-multiply throughput, training epochs, the uncertainty pass and sampling speed.",
        discussion: """
            Every kernel's result is checked against the reference before it is timed. Figures are medians of \
            several runs on this machine; ratios compare achieved FLOP/s with the best matrix multiply measured \
            in the same run. Uses MNIST when found, else synthetic data of the same shape. On a shared machine, \
            compare the CPU seconds and the load average printed beside the wall-clock figures.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var compute: ComputeOptions
    @Option(help: "Runs per measurement (the median is reported).")
    var repeats: Int = 3
    @Flag(help: "Print one JSON object.")
    var json = false
    @Option(name: .customLong("cnn-images"), help: "Training images the CNN epoch is timed on (then scaled to a full epoch).")
    var cnnSliceImages: Int = 6_400
    @Option(name: .customLong("cnn-evaluate-images"),
            help: "Images the CNN's 30-sample evaluation is timed on (then scaled to 21,000: MNIST test, noise, notMNIST).")
    var cnnEvaluateImages: Int = 2_100
    @Option(help: ArgumentHelp("Measure only these parts, comma-separated: epochs, cnn, evaluate, cnn-evaluate, normals (the default), or gradient-variance (the CNN's gradient variance per estimator, not in the default). The matrix multiplies always run (the other figures are ratios to them).",
                               valueName: "parts"),
            transform: BenchPart.list)
    var only: Set<BenchPart> = BenchPart.defaultParts
    @Option(name: .customLong("gradient-draws"), help: "Noise draws per estimator for --only gradient-variance.")
    var gradientDraws: Int = 50

    func validate() throws {
        try requireRange(repeats, 1...100, option: "--repeats")
        try requireRange(cnnSliceImages, 128...55_000, option: "--cnn-images")
        try requireRange(cnnEvaluateImages, 21...21_000, option: "--cnn-evaluate-images")
        try requireRange(gradientDraws, 2...10_000, option: "--gradient-draws")
    }

    func run() throws {
        try runReportingErrors {
            compute.apply()
            var report = BenchReport()
            report.machine = .init(cores: ProcessInfo.processInfo.activeProcessorCount, threads: ComputeSettings.threads,
                                   blas: MatrixMultiply.blasDescription ?? "none", cpu: cpuName())
            let log: (String) -> Void = json ? { _ in } : { Console.info($0) }
            report.loadAverage = [loadAverage()]
            log("Machine: \(report.machine.cpu), \(report.machine.cores) cores, \(report.machine.threads) threads; BLAS: \(report.machine.blas); "
                + String(format: "load average %.2f", report.loadAverage[0]))

            // Epochs run in training's default precision and evaluations in prediction's, as `bnn train` and
            // `bnn evaluate` would (--precision sets both); the portable multiply is also timed in bf16 where
            // the machine has it.
            let trainingPrecision = compute.resolvedPrecision(default: .float32).effective
            let predictionPrecision = compute.resolvedPrecision(default: .bfloat16).effective
            report.trainingPrecision = trainingPrecision.rawValue
            report.predictionPrecision = predictionPrecision.rawValue
            log("Matrix multiplies: \(MatrixMultiply.engineDescription); epochs in \(trainingPrecision.rawValue), evaluations in \(predictionPrecision.rawValue)")
            var gemmVariants = MatrixMultiply.availablePaths.map { ($0, MatrixPrecision.float32) }
            if MatrixPrecision.bfloat16IsAvailable { gemmVariants.append((.portable, .bfloat16)) }

            // (a) Matrix multiply at the training shapes and 1024³, every path, checked first.
            let shapes: [(String, Bool, Bool, Int, Int, Int)] = [
                ("X·W (128×784·784×1024)", false, false, 128, 1024, 784),
                ("Xᵀ·G (784×128·128×1024)", true, false, 784, 1024, 128),
                ("H·W2 (128×1024·1024×10)", false, false, 128, 10, 1024),
                ("G·W2ᵀ (128×10·10×1024)", false, true, 128, 1024, 10),
                ("square 1024³", false, false, 1024, 1024, 1024),
            ]
            for (label, ta, tb, m, n, k) in shapes {
                let a = randomTensor(ta ? [k, m] : [m, k], seed: 1)
                let b = randomTensor(tb ? [n, k] : [k, n], seed: 2)
                let expected = Tensor(shape: [m, n])
                MatrixMultiply.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.pointer, lda: ta ? m : k,
                                    b: b.pointer, ldb: tb ? k : n, c: expected.pointer, ldc: n, path: .reference)
                for (path, precision) in gemmVariants {
                    if path == .reference && m * n * k > 200_000_000 { continue }
                    let name = precision == .bfloat16 ? "\(path.rawValue)-bf16" : path.rawValue
                    let c = Tensor(shape: [m, n])
                    ComputeSettings.matrixPrecision = precision
                    let call = {
                        MatrixMultiply.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.pointer, lda: ta ? m : k,
                                            b: b.pointer, ldb: tb ? k : n, c: c.pointer, ldc: n, path: path)
                    }
                    call()
                    let error = maximumRelativeError(c, expected)
                    // bfloat16 rounds each factor by up to 2⁻⁸ (MatrixPrecision); fp32 sums alone stay far below 10⁻⁴.
                    guard error < (precision == .bfloat16 ? 1e-2 : 1e-4) else {
                        throw BenchError(description: "\(name) matrix multiply is wrong at \(label): relative error \(error)")
                    }
                    let flops = 2.0 * Double(m * n * k)
                    let inner = max(1, Int(2e9 / flops / (path == .reference ? 50 : 1)))
                    let seconds = median((0..<(path == .reference ? 1 : repeats)).map { _ in
                        time { for _ in 0..<min(inner, path == .reference ? 1 : 200) { call() } } / Double(min(inner, path == .reference ? 1 : 200))
                    })
                    let entry = BenchReport.GEMM(path: name, label: label, m: m, k: k, n: n, transposeA: ta, transposeB: tb,
                                                 gflops: flops / seconds / 1e9)
                    report.gemm.append(entry)
                    log(String(format: "  gemm %-14@ %-26@ %8.1f GFLOP/s", name, label, entry.gflops))
                }
            }
            // A figure's limit is the best multiply at the MLP's training shape in the precision it runs in.
            func limit(_ precision: MatrixPrecision) -> Double {
                report.gemm.filter { $0.m == 128 && $0.k == 784 && $0.path.hasSuffix("-bf16") == (precision == .bfloat16) }
                    .map(\.gflops).max() ?? 1
            }
            report.gemmLimitGflops = limit(.float32)
            if MatrixPrecision.bfloat16IsAvailable { report.gemmLimitGflopsBFloat16 = limit(.bfloat16) }
            let trainingLimit = limit(trainingPrecision)
            ComputeSettings.matrixPrecision = trainingPrecision

            // (b) One training epoch per estimator.
            let mnist = try? MNIST.load(dataDirectory: data.dataDirectory, download: false)
            let training = mnist?.train ?? syntheticDigits(count: 55_000)
            let test = mnist?.test ?? syntheticDigits(count: 10_000)
            report.data = mnist == nil ? "synthetic" : "mnist"
            for estimator in [GradientEstimator.local, .weights] where only.contains(.epochs) {
                var configuration = TrainingConfiguration.default
                configuration.estimator = estimator
                configuration.epochs = 1
                var seconds: [Double] = [], cpuSeconds: [Double] = [], flopsPerExample = 0.0
                for run in 0..<repeats {
                    var generator = RandomGenerator(seed: UInt64(run))
                    let network = try ClassifierTraining.makeNetwork(configuration, inputShape: MNIST.imageShape, classes: MNIST.classCount,
                                                                   generator: &generator)
                    flopsPerExample = trainingStepFlopsPerExample(network, estimator: estimator)
                    let trainer = Trainer(network: network, configuration: configuration, generator: generator)
                    let cpuStart = processCPUSeconds()
                    seconds.append(time { trainer.train(on: training, validation: nil) })
                    cpuSeconds.append(processCPUSeconds() - cpuStart)
                    // A fast epoch that does not learn is a failure, not a record.
                    guard let record = trainer.history.last, record.loss.isFinite,
                          mnist == nil || record.trainAccuracy > 0.8 else {
                        throw BenchError(description: "the \(estimator.rawValue) epoch did not train: \(String(describing: trainer.history.last))")
                    }
                }
                let epoch = median(seconds)
                report.epochSeconds[estimator.rawValue] = epoch
                report.epochCPUSeconds[estimator.rawValue] = median(cpuSeconds)
                let flops = Double(training.count) * flopsPerExample
                report.epochGemmFraction[estimator.rawValue] = flops / epoch / 1e9 / trainingLimit
                log(String(format: "  epoch (%@): %.2f s, %.2f CPU s  (%.0f%% of the best %@ GEMM's rate)", estimator.rawValue, epoch,
                           median(cpuSeconds), 100 * flops / epoch / 1e9 / trainingLimit, trainingPrecision.rawValue))
            }

            // (b′) The convolutional network (`--arch cnn`, default-cnn recipe): a full epoch is about 40×
            // the MLP's, so one run over a slice of the training set is timed and scaled to 55,000 images.
            if only.contains(.cnn) {
                let slice = training.subset(0..<min(training.count, cnnSliceImages))
                // On a CPU with AMX, training in bf16 (`bnn train --precision bf16`) is timed too: key "cnn-bf16".
                var precisions = [trainingPrecision]
                if trainingPrecision == .float32 && MatrixPrecision.bfloat16IsAvailable { precisions.append(.bfloat16) }
                for precision in precisions {
                    ComputeSettings.matrixPrecision = precision
                    var configuration = TrainingConfiguration.defaultCNN
                    configuration.epochs = 1
                    var generator = RandomGenerator(seed: 0)
                    let network = try ClassifierTraining.makeNetwork(configuration, inputShape: MNIST.imageShape, classes: MNIST.classCount,
                                                                       generator: &generator)
                    let trainer = Trainer(network: network, configuration: configuration, generator: generator)
                    let cpuStart = processCPUSeconds()
                    let seconds = time { trainer.train(on: slice, validation: nil) }
                    let cpuSeconds = processCPUSeconds() - cpuStart
                    // A slice of 50 minibatches learns something; smaller ones (where the KL term, scaled by the slice size, dominates) only have to stay finite.
                    guard let record = trainer.history.last, record.loss.isFinite,
                          mnist == nil || slice.count < 6400 || record.trainAccuracy > 0.5 else {
                        throw BenchError(description: "the cnn epoch did not train: \(String(describing: trainer.history.last))")
                    }
                    let scale = Double(training.count) / Double(slice.count)
                    let flops = Double(training.count) * trainingStepFlopsPerExample(network)
                    let key = precision == trainingPrecision ? "cnn" : "cnn-bf16"
                    let gflops = flops / (seconds * scale) / 1e9
                    report.epochSeconds[key] = seconds * scale
                    report.epochCPUSeconds[key] = cpuSeconds * scale
                    report.epochGemmFraction[key] = gflops / limit(precision)
                    report.cnnEpochImagesTimed = slice.count
                    if key == "cnn" { report.cnnEpochGflops = gflops }
                    log(String(format: "  epoch (%@, local): %.1f s, %.1f CPU s  (timed on %d images and scaled; %.0f GFLOP/s of matrix multiply, %.0f%% of the best %@ GEMM's rate)",
                               key, seconds * scale, cpuSeconds * scale, slice.count, gflops, 100 * gflops / limit(precision), precision.rawValue))
                }
                ComputeSettings.matrixPrecision = trainingPrecision
            }

            // (b″) The variance of the CNN's gradient over noise draws, per estimator.
            if only.contains(.gradientVariance) {
                report.gradientVariance = try gradientVariance(training: training, draws: gradientDraws, log: log)
            }

            // (c) The 100-sample uncertainty pass over the test images.
            var generator = RandomGenerator(seed: 7)
            ComputeSettings.matrixPrecision = predictionPrecision
            let predictionLimit = limit(predictionPrecision)
            if only.contains(.evaluate) {
                let network = try ClassifierTraining.makeNetwork(.default, inputShape: MNIST.imageShape, classes: MNIST.classCount,
                                                               generator: &generator)
                let predictive = Predictive(network: network)
                // Checked first: the fused kernel against its plain-Swift reference on 500 images (the same draws).
                let checked = test.subset(0..<min(test.count, 500)).images
                var unfused = predictive
                unfused.fusedKernel = false
                var checkGenerator = generator
                let expected = unfused.sampleProbabilities(checked, samples: 3, generator: &checkGenerator)
                let check = predictive.sampleProbabilities(checked, samples: 3, generator: &generator)
                let error = zip(check.array, expected.array).map { abs($0 - $1) }.max() ?? 0
                guard error < 1e-4 else {
                    throw BenchError(description: "the uncertainty pass is wrong: its probabilities differ from the plain-Swift reference by \(error)")
                }
                var evaluateCPU: [Double] = []
                report.evaluateSeconds = median((0..<repeats).map { _ in
                    let cpuStart = processCPUSeconds()
                    let seconds = time {
                        let probabilities = predictive.sampleProbabilities(test.images, samples: 100, generator: &generator)
                        _ = PredictiveSummary(probabilities: probabilities)
                    }
                    evaluateCPU.append(processCPUSeconds() - cpuStart)
                    return seconds
                })
                report.evaluateCPUSeconds = median(evaluateCPU)
                // Matrix-multiply FLOPs of the pass: the first layer's two moment products once, the second
                // layer's two per sample.
                let evaluateFlops = Double(test.count) * (2 * 2 * 784 * 1024 + 100 * 2 * 2 * 1024 * 10)
                report.evaluateGemmFraction = evaluateFlops / report.evaluateSeconds / 1e9 / predictionLimit
                log(String(format: "  uncertainty pass (100 samples × %d images): %.2f s, %.2f CPU s  (%.0f%% of the best %@ GEMM's rate)",
                           test.count, report.evaluateSeconds, report.evaluateCPUSeconds, 100 * report.evaluateGemmFraction,
                           predictionPrecision.rawValue))
            }

            // (c′) The CNN's 30-sample evaluation of MNIST's test set, 1,000 noise images and notMNIST
            // (21,000 images, what `bnn evaluate --arch cnn` classifies): a slice in the same proportions
            // is timed and scaled. The cost does not depend on the weights, so the network is untrained.
            if only.contains(.cnnEvaluate) {
                let network = try ClassifierTraining.makeNetwork(.defaultCNN, inputShape: MNIST.imageShape, classes: MNIST.classCount,
                                                               generator: &generator)
                let letters = try? NotMNIST.loadImages(dataDirectory: data.dataDirectory)
                let images = cnnEvaluationSlice(count: cnnEvaluateImages, test: test, letters: letters, seed: 11)
                let samples = TrainingConfiguration.defaultCNN.calibrationSamples
                let predictive = Predictive(network: network)
                var cpu: [Double] = []
                let seconds = median((0..<repeats).map { _ in
                    let cpuStart = processCPUSeconds()
                    let seconds = time {
                        _ = PredictiveSummary(probabilities: predictive.sampleProbabilities(images, samples: samples, generator: &generator))
                    }
                    cpu.append(processCPUSeconds() - cpuStart)
                    return seconds
                })
                let scale = 21_000 / Double(images.rows)
                report.cnnEvaluateSeconds = seconds * scale
                report.cnnEvaluateCPUSeconds = median(cpu) * scale
                report.cnnEvaluateImagesTimed = images.rows
                // One product per weight layer and sample: the sampled filters (or weights) times the input.
                let flops = 21_000 * Double(samples) * sampledForwardFlopsPerExample(network)
                report.cnnEvaluateGemmFraction = flops / report.cnnEvaluateSeconds / 1e9 / predictionLimit
                log(String(format: "  cnn evaluation (%d samples × 21,000 images): %.1f s, %.1f CPU s  (timed on %d images and scaled; %.0f%% of the best %@ GEMM's rate)",
                           samples, report.cnnEvaluateSeconds, report.cnnEvaluateCPUSeconds, images.rows, 100 * report.cnnEvaluateGemmFraction,
                           predictionPrecision.rawValue))
            }

            // (d) Normal draws.
            if only.contains(.normals) {
                let buffer = Tensor(shape: [1 << 24])
                let normalSeconds = median((0..<max(repeats, 5)).map { _ in time { generator.fillNormal(buffer) } })
                report.normalsPerSecond = Double(buffer.count) / normalSeconds
                log(String(format: "  normal draws: %.2e per second", report.normalsPerSecond))
            }

            report.peakRSSMegabytes = peakResidentMegabytes()
            log(String(format: "  peak resident memory: %.0f MB", report.peakRSSMegabytes))
            report.loadAverage.append(loadAverage())
            log(String(format: "  load average at the end: %.2f (figures are wall-clock; above %d the machine was shared)",
                       report.loadAverage[1], report.machine.cores))
            if json { print(try report.json()) }
        }
    }
}

struct BenchError: Error, CustomStringConvertible { let description: String }

/// The parts of `bnn bench` that `--only` can select.
enum BenchPart: String, CaseIterable {
    case epochs, cnn, evaluate, normals
    case cnnEvaluate = "cnn-evaluate"
    case gradientVariance = "gradient-variance"

    /// What `bnn bench` measures without `--only`.
    static let defaultParts: Set<BenchPart> = [.epochs, .cnn, .evaluate, .cnnEvaluate, .normals]

    /// Parses a comma-separated list such as "evaluate,normals".
    static func list(_ text: String) throws -> Set<BenchPart> {
        var parts = Set<BenchPart>()
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let part = BenchPart(rawValue: trimmed) else {
                throw ValidationError("--only: unknown part '\(trimmed)'; the parts are \(allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            parts.insert(part)
        }
        return parts
    }
}

/// The JSON object of `bnn bench --json` (issue 3's contract, with more keys).
struct BenchReport: Encodable {
    struct Machine: Encodable { var cores = 0; var threads = 0; var blas = ""; var cpu = "" }
    struct GEMM: Encodable {
        var path: String; var label: String; var m: Int; var k: Int; var n: Int
        var transposeA: Bool; var transposeB: Bool; var gflops: Double
        enum CodingKeys: String, CodingKey { case path, label, m, k, n, gflops; case transposeA = "transpose_a"; case transposeB = "transpose_b" }
    }
    var machine = Machine()
    var data = ""
    /// The arithmetic of the epochs' and of the evaluations' matrix multiplies: "fp32" or "bf16" (`MatrixPrecision`).
    var trainingPrecision = "fp32"
    var predictionPrecision = "fp32"
    var gemm: [GEMM] = []
    var epochSeconds: [String: Double] = [:]
    var epochGemmFraction: [String: Double] = [:]
    var epochCPUSeconds: [String: Double] = [:]
    var evaluateSeconds = 0.0
    var evaluateCPUSeconds = 0.0
    var evaluateGemmFraction = 0.0
    /// The CNN's 30-sample evaluation of 21,000 images, scaled from `cnnEvaluateImagesTimed` images.
    var cnnEvaluateSeconds = 0.0
    var cnnEvaluateCPUSeconds = 0.0
    var cnnEvaluateGemmFraction = 0.0
    var cnnEvaluateImagesTimed = 0
    /// The rate fp32 figures are measured against: the best fp32 matrix multiply at the MLP's training shape.
    var gemmLimitGflops = 0.0
    /// The same in bf16, on a CPU with AMX (the limit of figures that run in bf16).
    var gemmLimitGflopsBFloat16: Double? = nil
    /// The 1-minute load average at the start and at the end of the run.
    var loadAverage: [Double] = []
    var normalsPerSecond = 0.0
    var peakRSSMegabytes = 0.0
    /// The CNN epoch is timed on this many images and scaled to the whole training set.
    var cnnEpochImagesTimed = 0
    /// Matrix-multiply FLOP/s achieved by the CNN training step (forward and backward GEMMs).
    var cnnEpochGflops = 0.0
    /// `--only gradient-variance`: per Bayesian layer of the CNN, the variance over noise draws of the
    /// data term's ∂L/∂μ, averaged over the layer's weights, per estimator.
    var gradientVariance: [GradientVarianceRow]? = nil

    struct GradientVarianceRow: Encodable {
        var layer: String
        var weights: Int
        /// Mean over the weights of the gradient's variance over draws, per estimator.
        var variance: [String: Double]
        /// Mean over the weights of the squared mean gradient (the signal the variance is compared with).
        var squaredMean: [String: Double]
        enum CodingKeys: String, CodingKey { case layer, weights, variance; case squaredMean = "squared_mean" }
    }

    enum CodingKeys: String, CodingKey {
        case machine, data, gemm
        case trainingPrecision = "training_precision"
        case predictionPrecision = "prediction_precision"
        case gemmLimitGflopsBFloat16 = "gemm_limit_gflops_bf16"
        case epochSeconds = "epoch_seconds"
        case epochGemmFraction = "epoch_fraction_of_gemm_limit"
        case epochCPUSeconds = "epoch_cpu_seconds"
        case evaluateSeconds = "evaluate_seconds"
        case evaluateCPUSeconds = "evaluate_cpu_seconds"
        case evaluateGemmFraction = "evaluate_fraction_of_gemm_limit"
        case cnnEvaluateSeconds = "cnn_evaluate_seconds"
        case cnnEvaluateCPUSeconds = "cnn_evaluate_cpu_seconds"
        case cnnEvaluateGemmFraction = "cnn_evaluate_fraction_of_gemm_limit"
        case cnnEvaluateImagesTimed = "cnn_evaluate_images_timed"
        case gemmLimitGflops = "gemm_limit_gflops"
        case loadAverage = "load_average"
        case normalsPerSecond = "normals_per_second"
        case peakRSSMegabytes = "peak_rss_mb"
        case cnnEpochImagesTimed = "cnn_epoch_images_timed"
        case cnnEpochGflops = "cnn_epoch_gflops"
        case gradientVariance = "gradient_variance"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// FLOPs of the matrix multiplies in one training step per example. `local`: for each Bayesian layer, the
/// mean and variance products forward, the μ and σ² gradients backward, and two input-gradient products
/// for every layer but the first (`flipout`: the same products, with x ⊙ s and the perturbation); `weights`:
/// half of each (one sampled weight matrix).
func trainingStepFlopsPerExample(_ network: Sequential, estimator: GradientEstimator = .local) -> Double {
    var total = 0.0
    for (index, layer) in network.layers.enumerated() {
        guard let multiplyAdds = bayesianMultiplyAdds(layer) else { continue }
        total += 2 * multiplyAdds * (index == 0 ? 4 : 6) * (estimator == .weights ? 0.5 : 1)
    }
    return total
}

/// FLOPs of the matrix multiplies of one sampled network's forward pass per example (one product per
/// Bayesian layer: the sampled weights times its input).
func sampledForwardFlopsPerExample(_ network: Sequential) -> Double {
    network.layers.compactMap(bayesianMultiplyAdds).reduce(0) { $0 + 2 * $1 }
}

/// The multiply-adds of one forward product of a Bayesian weight layer per example, nil for other layers.
func bayesianMultiplyAdds(_ layer: Layer) -> Double? {
    switch layer {
    case let layer as BayesianConv2D: return Double(layer.filters * layer.geometry.patchSize * layer.geometry.positions)
    case let layer as BayesianDense: return Double(layer.inputs * layer.outputs)
    default: return nil
    }
}

/// The variance over `draws` noise draws of the data term's gradient ∂L/∂μ of every Bayesian layer of the
/// CNN (`defaultCNN`), for each estimator, on one fixed minibatch of 128 training images: the network is
/// first trained for 25 steps (local estimator, on other images) so that it is past its initialisation,
/// then held fixed. Every estimator is unbiased for the same gradient, so their variances compare
/// directly (Kingma et al. 2015, §3; Wen et al. 2018, §4.1 measure the same way).
func gradientVariance(training: LabeledImages, draws: Int, log: (String) -> Void) throws -> [BenchReport.GradientVarianceRow] {
    let batchSize = 128, warmUp = 25 * batchSize
    guard training.count >= warmUp + batchSize else {
        throw BenchError(description: "the gradient variance needs \(warmUp + batchSize) training images, the set has \(training.count)")
    }
    var configuration = TrainingConfiguration.defaultCNN
    configuration.epochs = 1
    configuration.outlierWeight = nil
    var generator = RandomGenerator(seed: 0)
    let network = try ClassifierTraining.makeNetwork(configuration, inputShape: MNIST.imageShape, classes: MNIST.classCount,
                                                     generator: &generator)
    Trainer(network: network, configuration: configuration, generator: generator.split()).train(on: training.subset(0..<warmUp), validation: nil)
    let batch = training.subset(warmUp..<(warmUp + batchSize))
    let gradient = Tensor(shape: [batchSize, MNIST.classCount])
    let layers: [(name: String, block: MeanFieldNormal, setEstimator: (GradientEstimator) -> Void)] =
        network.layers.enumerated().compactMap { index, layer in
            switch layer {
            case let layer as BayesianConv2D: return ("\(index) conv \(layer.filters)×\(layer.geometry.patchSize)", layer.weight, { layer.estimator = $0 })
            case let layer as BayesianDense: return ("\(index) dense \(layer.inputs)×\(layer.outputs)", layer.weight, { layer.estimator = $0 })
            default: return nil
            }
        }
    var rows = layers.map { BenchReport.GradientVarianceRow(layer: $0.name, weights: $0.block.count, variance: [:], squaredMean: [:]) }
    for estimator in GradientEstimator.allCases {
        for layer in layers { layer.setEstimator(estimator) }
        // Welford's running mean and sum of squared deviations, per weight, in Double.
        var means = layers.map { [Double](repeating: 0, count: $0.block.count) }
        var deviations = means
        for draw in 0..<draws {
            var noise = RandomGenerator(seed: 1_000 + UInt64(draw))
            let logits = network.forward(batch.images, mode: .train, generator: &noise)
            _ = batch.labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: $0.baseAddress!, scale: 1 / Float(batchSize), gradient: gradient)
            }
            network.backward(gradient)
            let count = Double(draw + 1)
            for (index, layer) in layers.enumerated() {
                let g = layer.block.mu.gradient.pointer
                means[index].withUnsafeMutableBufferPointer { mean in
                    deviations[index].withUnsafeMutableBufferPointer { deviation in
                        for i in 0..<mean.count {
                            let value = Double(g[i]), delta = value - mean[i]
                            mean[i] += delta / count
                            deviation[i] += delta * (value - mean[i])
                        }
                    }
                }
            }
        }
        for index in layers.indices {
            let n = Double(means[index].count)
            rows[index].variance[estimator.rawValue] = deviations[index].reduce(0, +) / Double(draws - 1) / n
            rows[index].squaredMean[estimator.rawValue] = means[index].reduce(0) { $0 + $1 * $1 } / n
        }
    }
    for layer in layers { layer.setEstimator(configuration.estimator) }
    log("  gradient variance of ∂L/∂μ over \(draws) draws, one minibatch of \(batchSize), CNN after \(warmUp / batchSize) steps (ratio to local):")
    for row in rows {
        let local = row.variance["local"] ?? .nan
        let cells = GradientEstimator.allCases.map { estimator in
            String(format: "%@ %.3e (%.2f×)", estimator.rawValue, row.variance[estimator.rawValue] ?? .nan,
                   (row.variance[estimator.rawValue] ?? .nan) / local)
        }
        log(String(format: "    %-22@ %@;  squared mean %.3e", row.layer, cells.joined(separator: ", "), row.squaredMean["local"] ?? .nan))
    }
    return rows
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    let tensor = Tensor(shape: shape)
    generator.fillNormal(tensor)
    return tensor
}

func maximumRelativeError(_ a: Tensor, _ b: Tensor) -> Float {
    var scale: Float = 0, error: Float = 0
    for i in 0..<b.count { scale = max(scale, abs(b.pointer[i])) }
    for i in 0..<a.count { error = max(error, abs(a.pointer[i] - b.pointer[i])) }
    return error / max(scale, 1e-30)
}

/// Random "digits" (uniform pixels, random labels) with MNIST's shape, when MNIST is not available.
/// `count` images in the proportions of the CNN's evaluation (10 : 1 : 10 of MNIST test digits, white
/// noise and notMNIST letters; test digits stand in for the letters when notMNIST is absent).
func cnnEvaluationSlice(count: Int, test: LabeledImages, letters: UnlabeledImages?, seed: UInt64) -> Tensor {
    let digits = count * 10 / 21, noise = max(1, count / 21), rest = count - digits - noise
    let features = test.images.count / max(test.count, 1)
    let slice = Tensor(shape: [count, features])
    let noiseImages = WhiteNoise.images(count: noise, seed: seed).images
    let restSource = letters?.images ?? test.images
    let parts: [(Tensor, Int)] = [(test.images, digits), (noiseImages, noise), (restSource, rest)]
    var row = 0
    for (source, rows) in parts {
        let available = source.count / features
        for i in 0..<rows {
            (slice.pointer + (row + i) * features).update(from: source.pointer + (i % available) * features, count: features)
        }
        row += rows
    }
    return slice
}

func syntheticDigits(count: Int) -> LabeledImages {
    var generator = RandomGenerator(seed: 3)
    let images = Tensor(shape: [count, 784])
    generator.fillUniform(images.pointer, count: images.count)
    return LabeledImages(images: images, labels: (0..<count).map { _ in generator.integer(below: 10) }, rows: 28, columns: 28)
}

func peakResidentMegabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    #if os(macOS)
    return Double(usage.ru_maxrss) / 1_048_576
    #else
    return Double(usage.ru_maxrss) / 1024
    #endif
}

/// User plus system CPU time of this process (all threads), in seconds.
func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// The 1-minute load average (how many runnable threads shared the cores), or −1 where unknown.
func loadAverage() -> Double {
    var values = [Double](repeating: -1, count: 3)
    return getloadavg(&values, 3) >= 1 ? values[0] : -1
}

func cpuName() -> String {
    #if os(Linux)
    if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let colon = line.firstIndex(of: ":") {
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    #endif
    return "unknown CPU"
}
