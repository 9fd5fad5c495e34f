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
            Uses only the validation split and synthetic non-inputs made from it, exactly as `bnn train` does at \
            the end of training; prints how every candidate score separated them, and how the conformal scores' \
            sets (--rule conformal) covered held-out halves of the accepted validation inputs. For an MNIST model the split is \
            MNIST's last 5,000 training images; for a model trained on your own data name it with --validation \
            SOURCE, or give the same --train SOURCE as at training to hold out the same 10% again. The result \
            goes to --output, or replaces the model file (atomically) with --in-place.
            """)

    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("The validation set: \(sourceHelpText).", valueName: "source"))
    var validation: String?
    @Option(help: ArgumentHelp("The training set the model was trained on without --validation: its held-out 10% is the validation set.",
                               valueName: "source"))
    var train: String?
    @OptionGroup var sourceOptions: SourceOptions
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
        if train != nil && validation != nil { throw ValidationError("Give either --validation or --train, not both.") }
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
            let validationSet: LabeledImages
            if let validation {
                validationSet = try loadLabeledSet(validation, for: classifier, labelColumn: sourceOptions.labelColumn)
            } else if let train {
                let all = try loadLabeledSet(train, for: classifier, labelColumn: sourceOptions.labelColumn)
                validationSet = all.stratifiedSplit(validationFraction: heldOutValidationFraction, seed: classifier.training.seed).validation
            } else if readsMNIST(classifier) {
                validationSet = try loadMNISTTrainingSplits(data).validation
            } else {
                throw ValidationError("This model reads \(describe(classifier.preprocessing)), not MNIST digits: name its validation set with --validation SOURCE, or its training set with --train SOURCE.")
            }
            var generator = RandomGenerator(seed: compute.seed)
            let coverage = coverage ?? classifier.training.calibrationCoverage
            let samples = samples ?? classifier.training.calibrationSamples
            try requireMemory(samples: samples, count: validationSet.count, classes: classifier.network.classes)
            let started = Date()
            let (calibration, candidates, conformal) = ThresholdCalibration.calibrateWithCandidates(
                model: classifier, validation: validationSet, samples: samples, coverage: coverage, generator: &generator)
            print("score                          synthetic non-inputs AUROC   errors AUROC   quality")
            for candidate in candidates {
                print(candidate.score.rawValue.padding(toLength: 31, withPad: " ", startingAt: 0)
                      + String(format: "%-29.4f%-15.4f%.4f%@", candidate.outlierAUROC, candidate.errorAUROC, candidate.quality,
                               candidate.score == calibration.score ? "  ← chosen" : ""))
            }
            print(conformalTable(conformal, calibration: calibration.conformal))
            classifier.calibration = calibration
            classifier.training.calibrationCoverage = coverage
            classifier.training.calibrationSamples = samples
            try classifier.save(to: destination)
            Console.info("Saved \(destination.path) after \(formatDuration(Date().timeIntervalSince(started))). "
                         + calibrationSummary(calibration) + ", \(samples) samples.")
        }
    }
}

/// How each conformal score's sets did on random halves of the validation split (calibrated on one half,
/// measured on the accepted inputs of the other), and which is the default.
func conformalTable(_ rows: [ConformalComparison], calibration: ConformalCalibration?) -> String {
    guard let calibration else { return "" }
    let alphas = ConformalCalibration.comparedAlphas
    var lines = ["", "conformal score, q̂ from          " + alphas.map { String(format: "α = %-20g", $0) }.joined() + "(coverage / mean set size on held-out accepted inputs)"]
    for score in ConformalScore.allCases {
        for acceptedOnly in [true, false] {
            let cells = alphas.map { alpha in
                rows.first { $0.score == score && $0.acceptedOnly == acceptedOnly && $0.alpha == alpha }
                    .map { String(format: "%.2f%% / %.3f", $0.coverage * 100, $0.meanSetSize).padding(toLength: 24, withPad: " ", startingAt: 0) }
                    ?? "-".padding(toLength: 24, withPad: " ", startingAt: 0)
            }
            let label = "\(score.rawValue), \(acceptedOnly ? "accepted inputs" : "all inputs")"
            let chosen = acceptedOnly && score == calibration.defaultScore ? "← default" : ""
            lines.append(label.padding(toLength: 32, withPad: " ", startingAt: 0) + cells.joined() + chosen)
        }
    }
    lines.append(String(format: "RAPS: k_reg %d, λ %g (tuned on a fifth of the accepted validation inputs at α = %g); the file stores q̂'s from the accepted inputs.",
                        calibration.penaltyFreeRanks, calibration.rankPenalty, ConformalCalibration.tuningAlpha))
    return lines.joined(separator: "\n")
}
