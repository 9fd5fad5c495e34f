import ArgumentParser
import BNN
import BNNData
import BNNReport
import Foundation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train (or reuse) the default model, evaluate it, and compare with the Pyro tutorial.",
        discussion: """
            The model is trained as `bnn train` trains it with the default recipe, and cached in the user's \
            cache folder ($XDG_CACHE_HOME/bnn/models, else ~/.cache/bnn/models); the next run reuses it \
            unless the recipe has changed since. --retrain trains it again.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var compute: ComputeOptions
    @Option(help: "Use or create this model file instead of the cached default model.")
    var model: String?
    @Flag(help: "Train again even when a cached model exists.")
    var retrain = false
    @Option(help: "Network to train when no model exists: mlp (the tutorial's, default; about 3 minutes on 2 cores) or cnn (about 14 minutes).")
    var arch: Architecture = .mlp
    @Option(help: "Posterior samples per input (default: as many as the model's threshold was calibrated with, 100 for the MLP and 30 for the CNN).")
    var samples: Int?

    func validate() throws {
        try requireSampleCount(samples)
        try refuseOverwritingInputs(report, option: "--report", inputs: model.map { [$0] } ?? [])
    }
    @Option(help: ArgumentHelp("Where to write the HTML report (see `bnn report`).", valueName: "report.html"))
    var report: String = "bnn-report.html"

    func run() throws {
        try runReportingErrors {
            compute.apply()
            // Fail on an unwritable report before minutes of training and evaluation.
            try AtomicFile.checkWritable(URL(fileURLWithPath: report))
            let modelURL = model.map { URL(fileURLWithPath: $0) }
                ?? DataLocator.cacheDirectory().appendingPathComponent("models").appendingPathComponent("\(arch == .cnn ? "default-cnn" : "default")-seed\(compute.seed).safetensors")
            // `bnn train`'s default recipe, so that the demo's model is the one the README's commands make.
            var trainArguments = ["--output", modelURL.path, "--arch", arch.rawValue, "--seed", String(compute.seed)]
            if let folder = data.dataDirectory { trainArguments += ["--data-dir", folder] }
            if let threads = compute.threads { trainArguments += ["--threads", String(threads)] }
            if let precision = compute.precision { trainArguments += ["--precision", precision.rawValue] }
            let training = try TrainCommand.parse(trainArguments)
            var trainingSeconds: Double? = nil
            var classifier: BayesianClassifier? = nil
            if !retrain, FileManager.default.fileExists(atPath: modelURL.path) {
                var cached: BayesianClassifier? = nil
                do {
                    cached = try BayesianClassifier.load(from: modelURL)
                } catch {
                    Console.warning("cannot use the cached model (\(error)); training a new one")
                }
                // A cached default model of an earlier recipe is trained again; a model named by --model is used as it is.
                if let cached, model == nil, cached.training != (try training.trainingConfiguration()) {
                    Console.info("The cached model in \(modelURL.path) was trained with an earlier default recipe; training the current one.")
                } else if let cached {
                    classifier = cached
                    Console.info("Using the model in \(modelURL.path) (--retrain trains a new one).")
                }
            }
            if classifier == nil {
                try AtomicFile.createFolder(modelURL.deletingLastPathComponent())
                let started = Date()
                try training.run()
                trainingSeconds = Date().timeIntervalSince(started)
                compute.apply()  // training ran in its own precision; the evaluation runs in prediction's
                classifier = try BayesianClassifier.load(from: modelURL)
            }
            guard let classifier else { return }
            let test = try loadMNISTTest(data)
            let samples = samples ?? classifier.defaultSampleCount
            let rule = try DecisionRule.make(kind: .calibrated, model: classifier)
            let sets = try outOfDistributionSets(model: classifier, data: data, extra: [], labelColumn: "label", seed: compute.seed,
                                                 log: Console.relay)
            var generator = RandomGenerator(seed: compute.seed)
            Console.info("Evaluating with \(samples) posterior samples per image…")
            let (result, details) = ClassifierEvaluation.evaluate(model: classifier, rule: rule, samples: samples, test: test,
                                                                  testName: "mnist", outOfDistribution: sets, generator: &generator)
            print(resultTable(result))
            print("")
            print(comparisonTable(result, trainingSeconds: trainingSeconds ?? classifier.history.reduce(0) { $0 + $1.seconds }))
            var content = ReportContent(model: classifier, modelName: modelURL.lastPathComponent, rule: rule, result: result,
                                        details: details, comparisonRules: ReportContent.comparisonRules(model: classifier, primary: rule),
                                        seed: compute.seed,
                                        command: "bnn report --model \(ReportCommand.shellQuoted(modelURL.path))\(data.dataDirectory.map { " --data-dir " + ReportCommand.shellQuoted($0) } ?? "") --seed \(compute.seed) --samples \(samples) --output report.html")
            content.trainingSeconds = trainingSeconds
            let reportURL = URL(fileURLWithPath: report)
            try HTMLReport.write(content, to: reportURL)
            print("")
            print("Report: \(reportURL.path) (open it in a browser)")
        }
    }
}

/// Our figures beside the Pyro tutorial's published ones (as reproduced on a 2-core machine).
func comparisonTable(_ result: EvaluationResult, trainingSeconds: Double) -> String {
    func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
    let mnist = result.datasets["mnist"]
    let rows: [(String, String, String)] = [
        ("forced accuracy (MNIST test)", TutorialNumbers.forcedAccuracy, percent(result.forcedAccuracy)),
        ("MNIST refused", TutorialNumbers.mnistRefused, percent(mnist?.refused)),
        ("accuracy on accepted digits", TutorialNumbers.acceptedAccuracy, percent(mnist?.acceptedAccuracy)),
        ("white noise refused", TutorialNumbers.noiseRefused, percent(result.datasets["noise"]?.refused)),
        ("notMNIST letters refused", TutorialNumbers.notMNISTRefused, percent(result.datasets["notmnist"]?.refused)),
        ("training time", TutorialNumbers.trainingTime, formatDuration(trainingSeconds)),
        ("uncertainty pass, all data sets", TutorialNumbers.uncertaintyPass, formatDuration(result.seconds)),
    ]
    var lines = ["                                  Pyro tutorial                swift-bnn (\(result.rule) rule)"]
    for (label, theirs, ours) in rows {
        lines.append(label.padding(toLength: 34, withPad: " ", startingAt: 0) + theirs.padding(toLength: 29, withPad: " ", startingAt: 0) + ours)
    }
    lines.append("(machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; matrix multiply: \(MatrixMultiply.engineDescription))")
    return lines.joined(separator: "\n")
}
