/// The rule that turns sampled predictions into an answer: a set of classes, or "I don't know".
public enum DecisionRuleKind: String, Codable, Sendable, CaseIterable {
    /// Refuse when the calibrated score is above the threshold fitted on the validation split (default).
    case calibrated
    /// The tutorial's rule: select class c when the median over samples of p(c|x) is above τ = 0.2.
    case median
    /// Select class c when a chosen percentile of p(c|x) is above τ.
    case percentile
    /// Accept the arg-max class when the largest mean probability is at least τ.
    case mean
    /// Refuse when the predictive entropy is above τ.
    case entropy
    /// Refuse when the mutual information is above τ.
    case mutualInformation = "mutual-information"
    /// A conformal set of classes with coverage 1 − α among accepted inputs, given only when the
    /// calibrated rule accepts the input (`ConformalSets`).
    case conformal
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

/// A decision rule with its settings: one case per rule, each holding exactly what that rule reads.
public enum DecisionRule: Sendable, Equatable {
    /// Refuse when `score` is above `threshold` (fitted on the validation split); `scales` serve the
    /// combined score `entropyOrMutualInformation`.
    case calibrated(score: UncertaintyScore, threshold: Float, scales: ScoreScales)
    /// Select class c when the median over samples of p(c|x) is above `threshold` (the tutorial's τ = 0.2).
    case median(threshold: Float)
    /// Select class c when the `level`-th percentile over samples of p(c|x) is above `threshold`.
    case percentile(level: Float, threshold: Float)
    /// Accept the arg-max class when the largest mean probability is at least `threshold`.
    case mean(threshold: Float)
    /// Refuse when the predictive entropy is above `threshold`.
    case entropy(threshold: Float)
    /// Refuse when the mutual information is above `threshold`.
    case mutualInformation(threshold: Float)
    /// Refuse as `calibrated` does; answer an accepted input with the conformal set `sets` (split conformal
    /// prediction calibrated on the validation inputs the same rule accepts, so that P(y ∈ set | accepted)
    /// ≥ 1 − α on exchangeable data; `ConformalCalibration`).
    case conformal(score: UncertaintyScore, threshold: Float, scales: ScoreScales, sets: ConformalSets)

    /// The rule's name (`--rule`).
    public var kind: DecisionRuleKind {
        switch self {
        case .calibrated: return .calibrated
        case .median: return .median
        case .percentile: return .percentile
        case .mean: return .mean
        case .entropy: return .entropy
        case .mutualInformation: return .mutualInformation
        case .conformal: return .conformal
        }
    }

    /// τ: a probability threshold for median/percentile/mean, a score threshold for the others.
    public var threshold: Float {
        switch self {
        case .calibrated(_, let threshold, _), .median(let threshold), .percentile(_, let threshold), .mean(let threshold),
             .entropy(let threshold), .mutualInformation(let threshold), .conformal(_, let threshold, _, _):
            return threshold
        }
    }

    /// The score the rule reports in `Decision.score` (higher = less sure), and what it is named in output.
    public var score: UncertaintyScore {
        switch self {
        case .calibrated(let score, _, _), .conformal(let score, _, _, _): return score
        case .median: return .medianProbability
        case .percentile: return .percentileProbability
        case .mean: return .maxProbability
        case .entropy: return .entropy
        case .mutualInformation: return .mutualInformation
        }
    }

    /// The percentile level the rule reads (50 for the median), or nil for rules that read none.
    public var percentileLevel: Float? {
        switch self {
        case .median: return 50
        case .percentile(let level, _): return level
        default: return nil
        }
    }

    /// The same rule with another threshold.
    public func with(threshold: Float) -> DecisionRule {
        switch self {
        case .calibrated(let score, _, let scales): return .calibrated(score: score, threshold: threshold, scales: scales)
        case .median: return .median(threshold: threshold)
        case .percentile(let level, _): return .percentile(level: level, threshold: threshold)
        case .mean: return .mean(threshold: threshold)
        case .entropy: return .entropy(threshold: threshold)
        case .mutualInformation: return .mutualInformation(threshold: threshold)
        case .conformal(let score, _, let scales, let sets): return .conformal(score: score, threshold: threshold, scales: scales, sets: sets)
        }
    }

    /// The conformal sets of the `conformal` rule (nil for the others).
    public var conformalSets: ConformalSets? {
        if case .conformal(_, _, _, let sets) = self { return sets }
        return nil
    }

    /// Whether `decide` reads the summary's `conformalKeys` (randomised conformal sets).
    public var readsConformalKeys: Bool { conformalSets?.function.isRandomized ?? false }

    /// The default α of the conformal rule.
    public static let defaultAlpha = 0.05

    /// The rule `kind` for `model`, with the model's calibration for `calibrated` and `conformal` and the
    /// documented defaults otherwise (median τ 0.2; percentile level 10, τ 0.5; mean τ 0.5; conformal
    /// α 0.05 with the calibration's default score). `threshold` and `percentile` override them; the
    /// entropy and mutual-information rules need a threshold. The conformal rule keeps the calibrated
    /// threshold (its scores were computed on the validation inputs that threshold accepts) and takes
    /// `alpha` and `conformalScore`.
    public static func make(kind: DecisionRuleKind, model: BayesianClassifier, threshold: Float? = nil, percentile: Float? = nil,
                            alpha: Double? = nil, conformalScore: ConformalScore? = nil) throws -> DecisionRule {
        switch kind {
        case .conformal:
            guard let calibration = model.calibration else {
                throw RuleError(description: "the model has no calibrated threshold, which conformal sets need; train it with a validation split, or choose another rule")
            }
            guard let conformal = calibration.conformal else {
                throw RuleError(description: "the model's calibration holds no conformal scores (it was calibrated before conformal sets existed); calibrate it again")
            }
            guard threshold == nil else {
                throw RuleError(description: "the conformal rule keeps the calibrated threshold: its conformal scores are those of the validation inputs that threshold accepts")
            }
            let sets: ConformalSets
            do {
                sets = try ConformalSets(calibration: conformal, alpha: alpha ?? defaultAlpha, score: conformalScore)
            } catch let error as ConformalError {
                throw RuleError(description: error.description)
            }
            return .conformal(score: calibration.score, threshold: calibration.threshold, scales: calibration.scales ?? ScoreScales(), sets: sets)
        case .calibrated:
            guard let calibration = model.calibration else {
                throw RuleError(description: "the model has no calibrated threshold; train it with a validation split, or choose another rule")
            }
            return .calibrated(score: calibration.score, threshold: threshold ?? calibration.threshold,
                               scales: calibration.scales ?? ScoreScales())
        case .median:
            return .median(threshold: threshold ?? 0.2)
        case .percentile:
            return .percentile(level: percentile ?? 10, threshold: threshold ?? 0.5)
        case .mean:
            return .mean(threshold: threshold ?? 0.5)
        case .entropy:
            guard let threshold, threshold.isFinite else { throw RuleError(description: "the entropy rule needs a threshold") }
            return .entropy(threshold: threshold)
        case .mutualInformation:
            guard let threshold, threshold.isFinite else { throw RuleError(description: "the mutual-information rule needs a threshold") }
            return .mutualInformation(threshold: threshold)
        }
    }

    /// The rule's answer for input `index` of a batch summary.
    public func decide(_ summary: PredictiveSummary, index: Int) -> Decision {
        let classes = summary.classes
        let mean = summary.mean(index)
        let forced = Self.argmax(mean, classes)
        switch self {
        case .median(let threshold):
            return Self.classes(above: threshold, summary.median(index), classes)
        case .percentile(_, let threshold):
            return Self.classes(above: threshold, summary.lowerPercentile(index), classes)
        case .mean(let threshold):
            return Decision(classes: mean[forced] >= threshold ? [forced] : [], prediction: forced, score: 1 - mean[forced])
        case .calibrated(let score, let threshold, let scales):
            return thresholded(summary.score(score, index: index, scales: scales), threshold, summary, index, forced)
        case .conformal(let score, let threshold, let scales, let sets):
            let value = summary.score(score, index: index, scales: scales)
            guard value <= threshold else { return Decision(classes: [], prediction: forced, score: value) }
            let uniform = sets.function.isRandomized ? summary.conformalUniform(index) : 0
            return Decision(classes: sets.classes(mean, classes: classes, uniform: uniform), prediction: forced, score: value)
        case .entropy(let threshold):
            return thresholded(summary.entropy.pointer[index], threshold, summary, index, forced)
        case .mutualInformation(let threshold):
            return thresholded(summary.mutualInformation.pointer[index], threshold, summary, index, forced)
        }
    }

    /// Selects every class whose `statistic` is above `threshold`, most probable first.
    private static func classes(above threshold: Float, _ statistic: UnsafePointer<Float>, _ classes: Int) -> Decision {
        var selected: [Int] = []
        for c in 0..<classes where statistic[c] > threshold { selected.append(c) }
        selected.sort { statistic[$0] > statistic[$1] }
        let best = argmax(statistic, classes)
        return Decision(classes: selected, prediction: best, score: 1 - statistic[best])
    }

    /// Refuses when `value` is above `threshold`; a confident answer may still name a runner-up the samples
    /// often prefer: median above 0.2, as the median rule would, and above 1.2/K for K classes, so that with
    /// few classes a runner-up must stand out from the uniform 1/K.
    private func thresholded(_ value: Float, _ threshold: Float, _ summary: PredictiveSummary, _ index: Int, _ forced: Int) -> Decision {
        guard value <= threshold else { return Decision(classes: [], prediction: forced, score: value) }
        let median = summary.median(index)
        var selected = [forced]
        let runnerUp = Self.runnerUpThreshold(classes: summary.classes)
        for c in 0..<summary.classes where c != forced && median[c] > runnerUp { selected.append(c) }
        return Decision(classes: selected, prediction: forced, score: value)
    }

    /// The median probability above which a runner-up joins a confident answer: 0.2 (the tutorial's τ),
    /// or 1.2/K when that is larger (fewer than 6 classes).
    static func runnerUpThreshold(classes: Int) -> Float { max(0.2, 1.2 / Float(max(classes, 1))) }

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
