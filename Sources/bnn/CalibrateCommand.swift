import ArgumentParser
import BNN
import BNNData
import Foundation

/// `bnn calibrate`: fits the calibrated rule of a trained model again on the validation split (another
/// coverage or sample count, or after a change to the calibration procedure) without retraining.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit a model's refusal threshold again on the validation split and save the model.",
        discussion: """
            Uses only the validation split (the last 5,000 training images) and synthetic non-digits made \
            from it, exactly as `bnn train` does at the end of training; prints how every candidate score \
            separated them. The result goes to --output, or replaces the model file (atomically) with --in-place.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var compute: ComputeOptions
    @Option(help: "The model file to calibrate.")
    var model: String
    @Option(help: "Share of validation digits to accept, 0.5–1 (default: the model's recipe setting).")
    var coverage: Float?
    @Option(help: "Posterior samples per image (default: the model's recipe setting).")
    var samples: Int?
    @Option(name: [.short, .long], help: "Where to save the calibrated model.")
    var output: String?
    @Flag(name: .customLong("in-place"), help: "Replace the --model file with the calibrated model (instead of --output).")
    var inPlace = false

    func validate() throws {
        // Replacing a trained model is never implicit: the user says where the result goes.
        switch (output, inPlace) {
        case (nil, false): throw ValidationError("Say where to save the calibrated model: --output FILE, or --in-place to replace --model.")
        case (.some, true): throw ValidationError("Give either --output or --in-place, not both.")
        default: break
        }
        if let coverage, !(coverage >= 0.5 && coverage <= 1) { throw ValidationError("--coverage must be within 0.5–1.") }
        try requireSampleCount(samples)
    }

    func run() throws {
        try runReportingErrors {
            compute.apply()
            let url = URL(fileURLWithPath: model)
            let destination = output.map { URL(fileURLWithPath: $0) } ?? url
            // Fail on an unwritable destination before the work, not after it.
            try AtomicFile.checkWritable(destination)
            let classifier = try BayesianClassifier.load(from: url)
            let mnist = try loadMNIST(data)
            var generator = RandomGenerator(seed: compute.seed)
            let coverage = coverage ?? classifier.training.calibrationCoverage
            let samples = samples ?? classifier.training.calibrationSamples
            try requireMemory(samples: samples, count: mnist.validation.count, classes: classifier.network.classes)
            let started = Date()
            let (calibration, candidates) = ThresholdCalibration.calibrateWithCandidates(
                model: classifier, validation: mnist.validation, samples: samples, coverage: coverage, generator: &generator)
            print("score                          synthetic non-digits AUROC   errors AUROC   quality")
            for candidate in candidates {
                print(candidate.score.rawValue.padding(toLength: 31, withPad: " ", startingAt: 0)
                      + String(format: "%-29.4f%-15.4f%.4f%@", candidate.outlierAUROC, candidate.errorAUROC, candidate.quality,
                               candidate.score == calibration.score ? "  ← chosen" : ""))
            }
            classifier.calibration = calibration
            classifier.training.calibrationCoverage = coverage
            classifier.training.calibrationSamples = samples
            try classifier.save(to: destination)
            Console.info("Saved \(destination.path) after \(formatDuration(Date().timeIntervalSince(started))). "
                         + calibrationSummary(calibration) + ", \(samples) samples.")
        }
    }
}
