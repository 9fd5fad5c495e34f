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
    /// Out-of-distribution only: how well the rule's score, predictive entropy and mutual information
    /// separate this set from the in-distribution test set (1 = perfectly, 0.5 = chance).
    public var auroc: Double?
    public var aurocEntropy: Double?
    public var aurocMutualInformation: Double?

    enum CodingKeys: String, CodingKey {
        case count, refused, ece, nll, auroc
        case acceptedAccuracy = "accepted_accuracy"
        case aurocEntropy = "auroc_entropy"
        case aurocMutualInformation = "auroc_mutual_information"
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
    /// default up to 8 × `samples`).
    public static func evaluate(
        model: BayesianClassifier, rule: DecisionRule, samples: Int, refinement: SampleRefinement? = nil,
        test: LabeledImages, outOfDistribution: [(name: String, images: Tensor)],
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
        let inDistribution = run("mnist", test.images, test.labels)
        let summary = inDistribution.summary
        let forced = (0..<test.count).map { summary.forcedPrediction($0) }
        let forcedAccuracy = Metrics.accuracy(predictions: forced, labels: test.labels)
        let refusedFlags = inDistribution.decisions.map(\.refused)
        let rulePredictions = inDistribution.decisions.map(\.prediction)
        let selective = Metrics.selective(correct: zip(rulePredictions, test.labels).map { $0 == $1 }, refused: refusedFlags)
        let meanProbabilities = summary.meanProbabilities
        var datasets: [String: DatasetEvaluation] = [:]
        datasets["mnist"] = DatasetEvaluation(
            count: test.count, refused: selective.refusedShare, acceptedAccuracy: selective.acceptedAccuracy,
            ece: Metrics.expectedCalibrationError(probabilities: meanProbabilities, labels: test.labels),
            nll: Metrics.negativeLogLikelihood(probabilities: meanProbabilities, labels: test.labels))
        var details = [inDistribution]
        let inScores = inDistribution.decisions.map(\.score)
        let inEntropy = summary.scores(.entropy), inMutual = summary.scores(.mutualInformation)
        for (name, images) in outOfDistribution {
            let outside = run(name, images, nil)
            let refused = Double(outside.decisions.filter(\.refused).count) / Double(max(outside.decisions.count, 1))
            datasets[name] = DatasetEvaluation(
                count: outside.summary.count, refused: refused,
                auroc: Metrics.auroc(inDistribution: inScores, outOfDistribution: outside.decisions.map(\.score)),
                aurocEntropy: Metrics.auroc(inDistribution: inEntropy, outOfDistribution: outside.summary.scores(.entropy)),
                aurocMutualInformation: Metrics.auroc(inDistribution: inMutual, outOfDistribution: outside.summary.scores(.mutualInformation)))
            details.append(outside)
        }
        let result = EvaluationResult(
            samples: samples, rule: rule.kind.rawValue, threshold: Double(rule.threshold), score: rule.score.rawValue,
            forcedAccuracy: forcedAccuracy, datasets: datasets, seconds: Date().timeIntervalSince(started))
        return (result, details)
    }
}
