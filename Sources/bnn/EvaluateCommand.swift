import ArgumentParser
import BNN
import BNNData
import Foundation

extension DecisionRuleKind: ExpressibleByArgument {}
extension ConformalScore: ExpressibleByArgument {}

/// Options shared by the commands that apply a decision rule.
struct RuleOptions: ParsableArguments {
    @Option(help: "Posterior samples per input (default: as many as the model's threshold was calibrated with, 100 for the MLP and 30 for the CNN).")
    var samples: Int?
    @Option(help: "Decision rule: calibrated (default), median, percentile, mean, entropy, mutual-information, or conformal (a set of classes that holds the true one with probability 1 − α among accepted inputs).")
    var rule: DecisionRuleKind = .calibrated
    @Option(help: "q of the percentile rule, 0–100 (default 10).")
    var percentile: Float?
    @Option(help: "The rule's threshold τ (default: the model's calibrated one, 0.2 for median, 0.5 for percentile and mean).")
    var threshold: Float?
    @Option(name: .customLong("max-samples"), help: ArgumentHelp(
        "The most samples for an input whose answer lies within Monte Carlo error of the rule's threshold: such inputs are sampled again with 2×, 4×, … as many (default 8 × the sample count; the sample count itself turns this off).",
        valueName: "n"))
    var maximumSamples: Int?
    @Option(help: ArgumentHelp(
        "α of --rule conformal: the sets miss the true class of at most this share of accepted inputs, 0–1 (default 0.05; at least 1/(n + 1) for the n validation inputs the model was calibrated on).",
        valueName: "alpha"))
    var alpha: Double?
    @Option(name: .customLong("conformal-score"), help: ArgumentHelp(
        "The score of --rule conformal: lac (1 − p(y)), aps or raps (default: the one `bnn calibrate` found to give the smallest sets on the validation split).",
        valueName: "score"))
    var conformalScore: ConformalScore?

    func validate() throws {
        try requireSampleCount(samples)
        try requireRange(maximumSamples, (samples ?? 1)...Predictive.maximumSamples, option: "--max-samples")
        if let percentile, !(0...100).contains(percentile) { throw ValidationError("--percentile must be within 0–100.") }
        if let threshold, !threshold.isFinite { throw ValidationError("--threshold must be a finite number.") }
        if let alpha, !(alpha > 0 && alpha < 1) { throw ValidationError("--alpha must be between 0 and 1 (exclusive), got \(alpha).") }
        if rule != .conformal {
            if alpha != nil { throw ValidationError("--alpha applies to --rule conformal only.") }
            if conformalScore != nil { throw ValidationError("--conformal-score applies to --rule conformal only.") }
        } else if threshold != nil {
            throw ValidationError("--rule conformal keeps the model's calibrated threshold (its conformal scores are those of the validation inputs it accepts); leave out --threshold.")
        }
    }

    /// `--samples`, else the model's `defaultSampleCount`.
    func sampleCount(for model: BayesianClassifier) -> Int {
        samples ?? model.defaultSampleCount
    }

    /// `--max-samples`, else 8 × the sample count.
    func refinement(for model: BayesianClassifier) -> SampleRefinement {
        maximumSamples.map { SampleRefinement(maximumSamples: $0) } ?? .standard(samples: sampleCount(for: model))
    }

    /// The rule these options name for the model read from `file`, or a usage error in terms of the options.
    func decisionRule(for model: BayesianClassifier, file: String) throws -> DecisionRule {
        if threshold == nil && (rule == .entropy || rule == .mutualInformation) {
            throw ValidationError("--rule \(rule.rawValue) needs --threshold.")
        }
        if rule == .calibrated && model.calibration == nil {
            throw ValidationError("the model has no calibrated threshold (train it with a validation split), or pick another --rule, e.g. median.")
        }
        if rule == .conformal && model.calibration != nil && model.calibration?.conformal == nil {
            throw CommandError(description: "\(file): the model has no conformal scores (it was calibrated before conformal sets existed): "
                               + "run `bnn calibrate --model \(file) --in-place` (with the --validation or --train you trained with, for your own data), or pick another --rule")
        }
        do {
            return try DecisionRule.make(kind: rule, model: model, threshold: threshold, percentile: percentile, alpha: alpha,
                                         conformalScore: conformalScore)
        } catch let error as RuleError where rule == .conformal && model.calibration?.conformal != nil && threshold == nil {
            // The stored scores bound α: say which file they come from, and the option to change.
            throw CommandError(description: "\(file): \(error); choose a larger --alpha")
        }
    }
}

/// `NAME=SOURCE` for an out-of-distribution set.
struct NamedPath: ExpressibleByArgument {
    let name: String
    let path: String

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else { return nil }
        name = String(argument[..<equals])
        path = String(argument[argument.index(after: equals)...])
        if path.isEmpty || name.contains(" ") { return nil }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure accuracy and refusals on a test set, white noise, notMNIST and any other set.",
        discussion: """
            The in-distribution set is --test SOURCE (\(sourceHelpText); keyed `test`), or MNIST's test set \
            for a model that reads MNIST digits (keyed `mnist`). White noise (1,000 inputs from --seed) and, for \
            MNIST-shaped models, notMNIST (when the data folder has notmnist/) are out-of-distribution sets; \
            --ood adds more. With --json the result is one JSON object on stdout (its fields: \
            docs/reference.md in the repository).
            """)

    @Option(help: "The model file (.safetensors) written by `bnn train`.")
    var model: String
    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("The in-distribution test set (default: MNIST's): \(sourceHelpText).", valueName: "source"))
    var test: String?
    @OptionGroup var sourceOptions: SourceOptions
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var compute: ComputeOptions
    @Option(help: outOfDistributionHelp)
    var ood: [NamedPath] = []
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
    @Option(name: .customLong("decisions"), help: ArgumentHelp(
        "Also write every input's answer to this file, one JSON object per line: set, index, label (in-distribution set), classes, refused, score, samples. Comparing two runs with different --seed shows which answers change.",
        valueName: "file.jsonl"))
    var decisionsPath: String?

    func run() throws {
        try runReportingErrors {
            compute.apply()
            let classifier = try BayesianClassifier.load(from: URL(fileURLWithPath: model))
            let rule = try ruleOptions.decisionRule(for: classifier, file: model)
            // Out-of-distribution files first: a bad --ood file fails before the slow work.
            let sets = try outOfDistributionSets(model: classifier, data: data, extra: ood, labelColumn: sourceOptions.labelColumn,
                                                 seed: compute.seed, log: Console.relay)
            let (testName, test) = try inDistributionSet(test: self.test, model: classifier, data: data,
                                                         labelColumn: sourceOptions.labelColumn)
            try requireMemory(samples: ruleOptions.sampleCount(for: classifier), count: ([test.count] + sets.map(\.images.rows)).max()!,
                              classes: classifier.network.classes)
            var generator = RandomGenerator(seed: compute.seed)
            let (result, details) = ClassifierEvaluation.evaluate(
                model: classifier, rule: rule, samples: ruleOptions.sampleCount(for: classifier),
                refinement: ruleOptions.refinement(for: classifier), test: test, testName: testName, outOfDistribution: sets, generator: &generator)
            if let decisionsPath { try writeDecisions(details, to: decisionsPath) }
            if json {
                print(try result.json())
            } else {
                print(resultTable(result))
            }
        }
    }
}

/// One JSON line per input of every evaluated set (see `--decisions`).
func writeDecisions(_ details: [DatasetDetails], to path: String) throws {
    struct Line: Encodable {
        let set: String, index: Int, label: Int?, classes: [Int], refused: Bool, score: Float, samples: Int
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var text = Data()
    for set in details {
        for (index, decision) in set.decisions.enumerated() {
            let line = Line(set: set.name, index: index, label: set.labels?[index], classes: decision.classes, refused: decision.refused,
                            score: decision.score, samples: set.sampleCounts[index])
            text.append(try encoder.encode(line))
            text.append(0x0A)
        }
    }
    try AtomicFile.write(text, to: URL(fileURLWithPath: path))
}

/// A human-readable table of an evaluation.
func resultTable(_ result: EvaluationResult) -> String {
    func percent(_ value: Double?) -> String { value.map { String(format: "%6.2f%%", $0 * 100) } ?? "     -" }
    func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "     -" }
    var lines = [
        String(format: "Rule %@ (score %@, threshold %.4g), %d sample%@; forced accuracy %.2f%%; %@",
               result.rule, result.score, result.threshold, result.samples, result.samples == 1 ? "" : "s", result.forcedAccuracy * 100,
               formatDuration(result.seconds)),
        "",
        "data set        count   refused   accepted acc   AUROC (rule / entropy / MI)     ECE     NLL",
    ]
    let inDistribution = result.datasets.keys.contains("test") ? "test" : "mnist"
    let names = [inDistribution] + result.datasets.keys.filter { $0 != inDistribution }.sorted { a, b in
        let order = ["noise": 0, "notmnist": 1]
        return (order[a] ?? 2, a) < (order[b] ?? 2, b)
    }
    for name in names {
        guard let d = result.datasets[name] else { continue }
        let auroc = d.auroc == nil ? "            -" : "\(number(d.auroc)) / \(number(d.aurocEntropy)) / \(number(d.aurocMutualInformation))"
        lines.append(name.padding(toLength: 12, withPad: " ", startingAt: 0)
                     + String(format: " %8d  ", d.count) + percent(d.refused) + "      " + percent(d.acceptedAccuracy) + "     "
                     + auroc.padding(toLength: 26, withPad: " ", startingAt: 0) + "   " + number(d.ece) + "  " + number(d.nll))
    }
    if let conformal = result.datasets[inDistribution]?.conformal {
        lines.append("")
        lines.append(String(format: "Conformal sets (%@, α = %g, q̂ = %.4g from %d validation inputs): %@ of %@ inputs covered, %@ of the accepted ones; mean set size %@ on accepted inputs",
                            conformal.score, conformal.alpha, conformal.quantile, conformal.calibrationCount,
                            percent(conformal.coverage).trimmingCharacters(in: .whitespaces), inDistribution,
                            percent(conformal.coverageAccepted).trimmingCharacters(in: .whitespaces),
                            conformal.meanSetSize.map { String(format: "%.4f", $0) } ?? "-"))
    }
    return lines.joined(separator: "\n")
}
