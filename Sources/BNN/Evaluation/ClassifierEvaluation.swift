import Foundation

/// The figures for one data set in `bnn evaluate --json` (docs/reference.md).
public struct DatasetEvaluation: Codable, Sendable, Equatable {
    public var count: Int
    /// The share of inputs the rule refused.
    public var refused: Double
    /// In-distribution only: accuracy on the accepted inputs (nil when none was accepted).
    public var acceptedAccuracy: Double?
    /// In-distribution only: expected calibration error (15 bins) and negative log-likelihood of the mean prediction.
    public var ece: Double?
    public var nll: Double?
    /// In-distribution only: the multi-class Brier score of the mean prediction.
    public var brier: Double?
    /// In-distribution only: the area under the risk–coverage curve of the rule's score (lower is better),
    /// and the same minus that of a perfect ranking (E-AURC: 0 when every mistake is ranked last).
    public var aurc: Double?
    public var excessAURC: Double?
    /// In-distribution only: accuracy on the most confident 99%, 97.5%, 95% and 90% (keys "0.99" …).
    public var accuracyAtCoverage: [String: Double]?
    /// Out-of-distribution only: how well the rule's score, predictive entropy and mutual information
    /// separate this set from the in-distribution test set (1 = perfectly, 0.5 = chance).
    public var auroc: Double?
    public var aurocEntropy: Double?
    public var aurocMutualInformation: Double?
    /// Out-of-distribution only: the area under the precision–recall curve of the rule's score (this set
    /// positive), and the share of in-distribution inputs refused when 95% of this set is (FPR at 95% TPR).
    public var aupr: Double?
    public var fpr95: Double?
    /// In-distribution only, under the conformal rule: the sets' coverage and size.
    public var conformal: ConformalEvaluation?

    /// The coverages of `accuracyAtCoverage`.
    public static let reportedCoverages = [0.99, 0.975, 0.95, 0.9]
    /// The key of `coverage` in `accuracyAtCoverage` ("0.99", "0.975", …).
    public static func coverageKey(_ coverage: Double) -> String { "\(coverage)" }

    enum CodingKeys: String, CodingKey {
        case count, refused, ece, nll, brier, aurc, auroc, aupr, fpr95, conformal
        case acceptedAccuracy = "accepted_accuracy"
        case excessAURC = "eaurc"
        case accuracyAtCoverage = "accuracy_at_coverage"
        case aurocEntropy = "auroc_entropy"
        case aurocMutualInformation = "auroc_mutual_information"
    }
}

/// How the conformal rule's sets did on a labelled set (docs/reference.md).
public struct ConformalEvaluation: Codable, Sendable, Equatable {
    /// α: the sets aim at coverage 1 − α among accepted inputs.
    public var alpha: Double
    /// The conformal score and the quantile q̂ of its calibration scores.
    public var score: String
    public var quantile: Double
    /// n: the calibration examples q̂ was taken from.
    public var calibrationCount: Int
    /// The share of all inputs whose label is in their set (a refused input counts as not covered).
    public var coverage: Double
    /// The share of accepted inputs whose label is in their set (nil when none was accepted).
    public var coverageAccepted: Double?
    /// The mean number of classes in the sets of accepted inputs (nil when none was accepted).
    public var meanSetSize: Double?
    /// The share of accepted inputs by set size (keys "1", "2", …).
    public var setSizes: [String: Double]

    enum CodingKeys: String, CodingKey {
        case alpha, score, quantile, coverage
        case calibrationCount = "calibration_count"
        case coverageAccepted = "coverage_accepted"
        case meanSetSize = "mean_set_size"
        case setSizes = "set_sizes"
    }

    /// The figures of `decisions` (the rule's answers, a set or a refusal each) for inputs labelled `labels`.
    public init(sets: ConformalSets, decisions: [Decision], labels: [Int]) {
        precondition(decisions.count == labels.count, "\(decisions.count) decisions for \(labels.count) labels")
        alpha = sets.alpha
        score = sets.function.score.rawValue
        quantile = Double(sets.quantile)
        calibrationCount = sets.calibrationCount
        var covered = 0, accepted = 0, totalSize = 0
        var sizes: [Int: Int] = [:]
        for (decision, label) in zip(decisions, labels) where !decision.refused {
            accepted += 1
            totalSize += decision.classes.count
            sizes[decision.classes.count, default: 0] += 1
            if decision.classes.contains(label) { covered += 1 }
        }
        coverage = Double(covered) / Double(max(labels.count, 1))
        coverageAccepted = accepted > 0 ? Double(covered) / Double(accepted) : nil
        meanSetSize = accepted > 0 ? Double(totalSize) / Double(accepted) : nil
        setSizes = Dictionary(uniqueKeysWithValues: sizes.map { ("\($0.key)", Double($0.value) / Double(accepted)) })
    }
}

/// The result of `bnn evaluate`, encoded exactly as documented in docs/reference.md.
public struct EvaluationResult: Codable, Sendable, Equatable {
    public var samples: Int
    public var rule: String
    public var threshold: Double
    public var score: String
    /// Accuracy of the arg-max of the mean probability over the in-distribution test set.
    public var forcedAccuracy: Double
    public var datasets: [String: DatasetEvaluation]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case samples, rule, threshold, score, datasets, seconds
        case forcedAccuracy = "forced_accuracy"
    }

    /// The JSON text (keys sorted, one object).
    public func json(pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// Everything computed for one data set, for reports that need more than the figures.
public struct DatasetDetails {
    public var name: String
    public var images: Tensor
    public var labels: [Int]?
    public var summary: PredictiveSummary
    public var decisions: [Decision]
    /// `[samples, count, classes]` sampled probabilities (the first round: `samples` per input).
    public var probabilities: Tensor
    /// The samples each input's answer rests on (more than `samples` near the rule's boundary).
    public var sampleCounts: [Int]
}

/// Evaluates a classifier and its decision rule on an in-distribution test set and any number of
/// out-of-distribution sets.
public enum ClassifierEvaluation {
    /// `samples` posterior samples per input, more for inputs near the rule's boundary (`refinement`, by
    /// default up to 8 × `samples`). The in-distribution set `test` is reported under `testName`.
    public static func evaluate(
        model: BayesianClassifier, rule: DecisionRule, samples: Int, refinement: SampleRefinement? = nil,
        test: LabeledImages, testName: String, outOfDistribution: [(name: String, images: Tensor)],
        generator: inout RandomGenerator
    ) -> (result: EvaluationResult, details: [DatasetDetails]) {
        let started = Date()
        let predictive = Predictive(network: model.network)
        func run(_ name: String, _ images: Tensor, _ labels: [Int]?) -> DatasetDetails {
            let sampled = predictive.decide(images, rule: rule, samples: samples, refinement: refinement ?? .standard(samples: samples),
                                            generator: &generator)
            return DatasetDetails(name: name, images: images, labels: labels, summary: sampled.summary, decisions: sampled.decisions,
                                  probabilities: sampled.probabilities, sampleCounts: sampled.sampleCounts)
        }
        let inDistribution = run(testName, test.images, test.labels)
        let summary = inDistribution.summary
        let forced = (0..<test.count).map { summary.forcedPrediction($0) }
        let forcedAccuracy = Metrics.accuracy(predictions: forced, labels: test.labels)
        let refusedFlags = inDistribution.decisions.map(\.refused)
        let rulePredictions = inDistribution.decisions.map(\.prediction)
        let ruleCorrect = zip(rulePredictions, test.labels).map { $0 == $1 }
        let selective = Metrics.selective(correct: ruleCorrect, refused: refusedFlags)
        let meanProbabilities = summary.meanProbabilities
        let inScores = inDistribution.decisions.map(\.score)
        var datasets: [String: DatasetEvaluation] = [:]
        datasets[testName] = DatasetEvaluation(
            count: test.count, refused: selective.refusedShare, acceptedAccuracy: selective.acceptedAccuracy,
            ece: Metrics.expectedCalibrationError(probabilities: meanProbabilities, labels: test.labels),
            nll: Metrics.negativeLogLikelihood(probabilities: meanProbabilities, labels: test.labels),
            brier: Metrics.brierScore(probabilities: meanProbabilities, labels: test.labels),
            aurc: Metrics.areaUnderRiskCoverage(scores: inScores, correct: ruleCorrect),
            excessAURC: Metrics.excessAreaUnderRiskCoverage(scores: inScores, correct: ruleCorrect),
            accuracyAtCoverage: Dictionary(uniqueKeysWithValues: DatasetEvaluation.reportedCoverages.map {
                (DatasetEvaluation.coverageKey($0), Metrics.accuracy(atCoverage: $0, scores: inScores, correct: ruleCorrect))
            }),
            conformal: rule.conformalSets.map { ConformalEvaluation(sets: $0, decisions: inDistribution.decisions, labels: test.labels) })
        var details = [inDistribution]
        let inEntropy = summary.scores(.entropy), inMutual = summary.scores(.mutualInformation)
        for (name, images) in outOfDistribution {
            let outside = run(name, images, nil)
            let refused = Double(outside.decisions.filter(\.refused).count) / Double(max(outside.decisions.count, 1))
            let outScores = outside.decisions.map(\.score)
            datasets[name] = DatasetEvaluation(
                count: outside.summary.count, refused: refused,
                auroc: Metrics.auroc(inDistribution: inScores, outOfDistribution: outScores),
                aurocEntropy: Metrics.auroc(inDistribution: inEntropy, outOfDistribution: outside.summary.scores(.entropy)),
                aurocMutualInformation: Metrics.auroc(inDistribution: inMutual, outOfDistribution: outside.summary.scores(.mutualInformation)),
                aupr: Metrics.aupr(inDistribution: inScores, outOfDistribution: outScores),
                fpr95: Metrics.falsePositiveRate(atTruePositiveRate: 0.95, inDistribution: inScores, outOfDistribution: outScores))
            details.append(outside)
        }
        let result = EvaluationResult(
            samples: samples, rule: rule.kind.rawValue, threshold: Double(rule.threshold), score: rule.score.rawValue,
            forcedAccuracy: forcedAccuracy, datasets: datasets, seconds: Date().timeIntervalSince(started))
        return (result, details)
    }
}
