/// The answer for one input with what it rests on: the JSON object of `bnn predict --json` and of the
/// web demo's `POST /api/predict`.
public struct PredictionResult: Codable, Sendable, Equatable {
    /// "7", "3 or 5", or "I don't know".
    public var answer: String
    /// The selected classes, most probable first (empty when refused).
    public var classes: [Int]
    /// The same classes by name.
    public var classNames: [String]
    public var refused: Bool
    /// The forced prediction (arg-max of the mean probability).
    public var prediction: Int
    /// Per class: median, 5th and 95th percentile, and mean of the sampled probabilities.
    public var median: [Float]
    public var p05: [Float]
    public var p95: [Float]
    public var mean: [Float]
    /// Predictive entropy and mutual information, in nats.
    public var entropy: Float
    public var mutualInformation: Float
    /// The rule, the score it thresholds, the score's value for this input, and the threshold.
    public var rule: String
    public var score: String
    public var scoreValue: Float
    public var threshold: Float
    /// The posterior samples asked for (S).
    public var samples: Int
    /// The samples the answer rests on: S, or more when the input lay within Monte Carlo error of the
    /// threshold (`SampleRefinement`).
    public var samplesUsed: Int
    /// Under the conformal rule: α, and the conformal score whose quantile built the set (nil otherwise,
    /// and then absent from the JSON).
    public var alpha: Double?
    public var conformalScore: String?

    enum CodingKeys: String, CodingKey {
        case answer, classes, refused, prediction, median, p05, p95, mean, entropy, rule, score, threshold, samples, alpha
        case conformalScore = "conformal_score"
        case mutualInformation = "mutual_information"
        case classNames = "class_names"
        case scoreValue = "score_value"
        case samplesUsed = "samples_used"
    }

    /// The result for input `index` of a batch summary under `rule`; `samplesUsed` is the number of samples
    /// the input's summary rests on (the summary's own count when nil).
    public init(summary: PredictiveSummary, index: Int, rule: DecisionRule, classNames: [String], samplesUsed: Int? = nil) {
        let decision = rule.decide(summary, index: index)
        let c = summary.classes
        func row(_ tensor: Tensor) -> [Float] { Array(UnsafeBufferPointer(start: tensor.pointer + index * c, count: c)) }
        answer = decision.refused ? "I don't know" : decision.classes.map { classNames[$0] }.joined(separator: " or ")
        classes = decision.classes
        self.classNames = decision.classes.map { classNames[$0] }
        refused = decision.refused
        prediction = summary.forcedPrediction(index)
        median = row(summary.medianProbabilities)
        p05 = row(summary.percentile5)
        p95 = row(summary.percentile95)
        mean = row(summary.meanProbabilities)
        entropy = summary.entropy.pointer[index]
        mutualInformation = summary.mutualInformation.pointer[index]
        self.rule = rule.kind.rawValue
        score = rule.score.rawValue
        scoreValue = decision.score
        threshold = rule.threshold
        samples = summary.samples
        self.samplesUsed = samplesUsed ?? summary.samples
        alpha = rule.conformalSets?.alpha
        conformalScore = rule.conformalSets?.function.score.rawValue
    }
}

extension BayesianClassifier {
    /// Predicts the class of each input row (`[count, inputCount]`, pixel values as the model was trained on)
    /// under `rule` with `samples` posterior samples, more for inputs near the rule's boundary
    /// (`refinement`, by default up to 8 × `samples`). Each input's answer depends only on the input, the
    /// model, `samples` and the generator's state, not on the other inputs.
    public func predict(_ inputs: Tensor, rule: DecisionRule, samples: Int, refinement: SampleRefinement? = nil,
                        generator: inout RandomGenerator) -> [PredictionResult] {
        let sampled = Predictive(network: network).decide(inputs, rule: rule, samples: samples,
                                                          refinement: refinement ?? .standard(samples: samples), generator: &generator)
        return (0..<sampled.summary.count).map {
            PredictionResult(summary: sampled.summary, index: $0, rule: rule, classNames: classNames, samplesUsed: sampled.sampleCounts[$0])
        }
    }
}
