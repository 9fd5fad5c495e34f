/// A score of how unsure the network is about one input; higher means less sure.
public enum UncertaintyScore: String, Codable, Sendable, CaseIterable {
    /// Predictive entropy H[E_w p(y|x,w)] (total uncertainty).
    case entropy
    /// Mutual information I[y; w | x] = H[E p] − E[H p] (epistemic uncertainty: the sampled networks disagree).
    case mutualInformation = "mutual_information"
    /// 1 − max_c E_w p(c|x,w).
    case maxProbability = "max_probability"
    /// 1 − max_c median_w p(c|x,w) (the score of the tutorial's median rule).
    case medianProbability = "median_probability"
    /// 1 − max_c (q-th percentile)_w p(c|x,w) (the score of the percentile rule, at its level q).
    case percentileProbability = "percentile_probability"
    /// max(H / s_H, I / s_I): entropy and mutual information, each divided by its own scale (its
    /// high quantile on validation digits), so that the input is refused when either is unusually
    /// high for a digit — ambiguous digits raise the entropy, non-digits the mutual information.
    case entropyOrMutualInformation = "entropy_or_mutual_information"
}

/// The scales of the `entropyOrMutualInformation` score (1 for the other scores).
public struct ScoreScales: Codable, Sendable, Equatable {
    public var entropy: Float
    public var mutualInformation: Float

    public init(entropy: Float = 1, mutualInformation: Float = 1) {
        self.entropy = entropy
        self.mutualInformation = mutualInformation
    }
}

/// The refusal threshold fitted at training time on the validation split (the `calibrated` rule).
public struct Calibration: Codable, Sendable, Equatable {
    /// The score the rule thresholds.
    public var score: UncertaintyScore
    /// Inputs whose score is above this are refused.
    public var threshold: Float
    /// The share of validation digits accepted at this threshold (the target, e.g. 0.975).
    public var coverage: Float
    /// Posterior samples per input used when fitting.
    public var samples: Int
    /// Validation examples used.
    public var validationCount: Int
    /// Accuracy on the accepted validation digits.
    public var acceptedAccuracy: Double
    /// The scales of a combined score (nil for single scores).
    public var scales: ScoreScales?
    /// The conformal scores of the accepted validation inputs (the `conformal` rule); nil in files
    /// calibrated before conformal sets existed.
    public var conformal: ConformalCalibration?

    public init(score: UncertaintyScore, threshold: Float, coverage: Float, samples: Int, validationCount: Int,
                acceptedAccuracy: Double, scales: ScoreScales? = nil, conformal: ConformalCalibration? = nil) {
        self.score = score
        self.threshold = threshold
        self.coverage = coverage
        self.samples = samples
        self.validationCount = validationCount
        self.acceptedAccuracy = acceptedAccuracy
        self.scales = scales
        self.conformal = conformal
    }

    /// The first value out of range, as "name is value; must be …", or nil when the rule is usable.
    /// A model file's calibration is checked with this when it is loaded.
    public var invalidSetting: String? {
        func unit(_ value: Double) -> Bool { value.isFinite && (0...1).contains(value) }
        if !threshold.isFinite { return "threshold is \(threshold); must be a finite number" }
        if !unit(Double(coverage)) { return "coverage is \(coverage); must be in 0…1" }
        if !(1...Predictive.maximumSamples).contains(samples) { return "samples is \(samples); must be 1…\(Predictive.maximumSamples)" }
        if validationCount < 0 { return "validationCount is \(validationCount); must be ≥ 0" }
        if !unit(acceptedAccuracy) { return "acceptedAccuracy is \(acceptedAccuracy); must be in 0…1" }
        if let scales, !(scales.entropy.isFinite && scales.entropy > 0 && scales.mutualInformation.isFinite && scales.mutualInformation > 0) {
            return "scales are \(scales.entropy) and \(scales.mutualInformation); must be positive numbers"
        }
        if let problem = conformal?.invalidSetting { return problem }
        return nil
    }
}

/// A trained Bayesian classifier: the network with its posterior, how it was trained, its training
/// curve, and its calibrated refusal threshold. This is what a model file holds.
public final class BayesianClassifier {
    public let network: Sequential
    public var training: TrainingConfiguration
    public var history: [EpochRecord]
    public var calibration: Calibration?
    /// Class names, index = label (digits "0"…"9" for MNIST).
    public var classNames: [String]
    /// How raw inputs become network rows (images: size, channels, digit normalisation; tables: features
    /// and their standardisation).
    public var preprocessing: InputPreprocessing

    /// Posterior samples per input when the caller names none: as many as the threshold was calibrated
    /// with (scores such as the entropy shift a little with the sample count), else 100.
    public var defaultSampleCount: Int { calibration?.samples ?? 100 }

    public init(network: Sequential, training: TrainingConfiguration, history: [EpochRecord] = [],
                calibration: Calibration? = nil, classNames: [String]? = nil, preprocessing: InputPreprocessing? = nil) {
        self.network = network
        self.preprocessing = preprocessing ?? Self.defaultPreprocessing(for: network.inputShape)
        self.training = training
        self.history = history
        self.calibration = calibration
        self.classNames = classNames ?? (0..<network.classes).map(String.init)
    }

    /// The preprocessing assumed when none is given: MNIST's for a 784-value or [1, 28, 28] input (every
    /// model file written before preprocessing was recorded), else grey images of the input's shape, or a
    /// table of unnamed, unstandardised features.
    static func defaultPreprocessing(for inputShape: [Int]) -> InputPreprocessing {
        if inputShape == [784] || inputShape == [1, 28, 28] { return .mnist }
        if inputShape.count == 3 {
            return InputPreprocessing(kind: .image, shape: inputShape, resize: .fitAndPad)
        }
        let features = inputShape.reduce(1, *)
        return InputPreprocessing(kind: .tabular, shape: [features], featureNames: (0..<features).map { "x\($0)" },
                                  means: [Float](repeating: 0, count: features), standardDeviations: [Float](repeating: 1, count: features))
    }
}
