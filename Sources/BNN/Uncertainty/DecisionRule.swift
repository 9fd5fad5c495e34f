/// The rule that turns sampled predictions into an answer: a set of classes, or "I don't know".
public enum DecisionRuleKind: String, Codable, Sendable, CaseIterable {
    /// Refuse when the calibrated score is above the threshold fitted on the validation split (default).
    case calibrated
    /// The tutorial's rule: select class c when the median over samples of p(c|x) is above τ = 0.2.
    case median
    /// Select class c when the q-th percentile of p(c|x) is above τ (median = q 50, τ 0.2).
    case percentile
    /// Accept the arg-max class when the largest mean probability is at least τ.
    case mean
    /// Refuse when the predictive entropy is above τ.
    case entropy
    /// Refuse when the mutual information is above τ.
    case mutualInformation = "mutual-information"
}

/// One answer of a decision rule.
public struct Decision: Sendable, Equatable {
    /// The selected classes, most probable first; empty means "I don't know".
    public var classes: [Int]
    /// The class reported when one must be chosen (arg-max of the mean, or of the rule's own statistic).
    public var prediction: Int
    /// The rule's uncertainty score (higher = less sure); what AUROC is computed from.
    public var score: Float
    public var refused: Bool { classes.isEmpty }
}

/// A decision rule with its settings.
public struct DecisionRule: Sendable, Equatable {
    public var kind: DecisionRuleKind
    /// τ: a probability threshold for median/percentile/mean, a score threshold for the others.
    public var threshold: Float
    /// q for the percentile rule (0…100).
    public var percentile: Float
    /// The score thresholded by `calibrated`.
    public var score: UncertaintyScore
    /// The scales of a combined score.
    public var scales: ScoreScales

    public init(kind: DecisionRuleKind, threshold: Float, percentile: Float = 50, score: UncertaintyScore = .mutualInformation,
                scales: ScoreScales = ScoreScales()) {
        self.kind = kind
        self.threshold = threshold
        self.percentile = percentile
        self.score = score
        self.scales = scales
    }

    /// The rule `kind` for `model`, with the model's calibration for `calibrated` and the documented
    /// defaults otherwise (median τ 0.2; percentile q 10, τ 0.5; mean τ 0.5). `threshold` and
    /// `percentile` override them.
    public static func make(kind: DecisionRuleKind, model: BayesianClassifier, threshold: Float? = nil, percentile: Float? = nil) throws -> DecisionRule {
        switch kind {
        case .calibrated:
            guard let calibration = model.calibration else {
                throw RuleError(description: "the model has no calibrated threshold (train it with `bnn train`, or pick --rule median)")
            }
            return DecisionRule(kind: .calibrated, threshold: threshold ?? calibration.threshold, score: calibration.score,
                                scales: calibration.scales ?? ScoreScales())
        case .median:
            return DecisionRule(kind: .median, threshold: threshold ?? 0.2, percentile: 50, score: .medianProbability)
        case .percentile:
            return DecisionRule(kind: .percentile, threshold: threshold ?? 0.5, percentile: percentile ?? 10, score: .medianProbability)
        case .mean:
            return DecisionRule(kind: .mean, threshold: threshold ?? 0.5, score: .maxProbability)
        case .entropy:
            guard let threshold, threshold.isFinite else { throw RuleError(description: "--rule entropy needs --threshold") }
            return DecisionRule(kind: .entropy, threshold: threshold, score: .entropy)
        case .mutualInformation:
            guard let threshold, threshold.isFinite else { throw RuleError(description: "--rule mutual-information needs --threshold") }
            return DecisionRule(kind: .mutualInformation, threshold: threshold, score: .mutualInformation)
        }
    }

    /// The rule's answer for input `index` of a batch summary.
    public func decide(_ summary: PredictiveSummary, index: Int) -> Decision {
        let classes = summary.classes
        let mean = summary.mean(index)
        let forced = Self.argmax(mean, classes)
        switch kind {
        case .median, .percentile:
            let statistic = kind == .median ? summary.median(index) : summary.lowerPercentile(index)
            var selected: [Int] = []
            for c in 0..<classes where statistic[c] > threshold { selected.append(c) }
            selected.sort { statistic[$0] > statistic[$1] }
            let best = Self.argmax(statistic, classes)
            return Decision(classes: selected, prediction: best, score: 1 - statistic[best])
        case .mean:
            return Decision(classes: mean[forced] >= threshold ? [forced] : [], prediction: forced, score: 1 - mean[forced])
        case .calibrated, .entropy, .mutualInformation:
            let value = summary.score(score, index: index, scales: scales)
            guard value <= threshold else { return Decision(classes: [], prediction: forced, score: value) }
            // A confident answer may still name a runner-up the samples often prefer (as the median rule would).
            let median = summary.median(index)
            var selected = [forced]
            for c in 0..<classes where c != forced && median[c] > 0.2 { selected.append(c) }
            return Decision(classes: selected, prediction: forced, score: value)
        }
    }

    @inline(__always)
    static func argmax(_ values: UnsafePointer<Float>, _ count: Int) -> Int {
        var best = 0
        for c in 1..<count where values[c] > values[best] { best = c }
        return best
    }
}

/// A rule that cannot be built as asked.
public struct RuleError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
