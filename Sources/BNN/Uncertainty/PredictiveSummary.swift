import Foundation

/// Per-input summaries of sampled predictive probabilities, for a batch of N inputs.
///
/// Built from the `[S, N, C]` output of `Predictive.sampleProbabilities`. Per-class statistics are stored
/// `[N, C]`, per-input scores `[N]`. Entropies are in nats.
public struct PredictiveSummary: @unchecked Sendable {
    public let count: Int
    public let classes: Int
    public let samples: Int
    /// q of `lowerPercentile` (0…100).
    public let percentileLevel: Float
    /// E_s p_s(c): the predictive mean.
    public let meanProbabilities: Tensor
    /// The median over samples of p_s(c).
    public let medianProbabilities: Tensor
    /// The q-th percentile over samples of p_s(c), q = `percentileLevel`.
    public let lowerPercentileProbabilities: Tensor
    /// The 5th and 95th percentiles over samples of p_s(c): the band shown beside an answer.
    public let percentile5: Tensor
    public let percentile95: Tensor
    /// H[E p] per input.
    public let entropy: Tensor
    /// E[H p] per input.
    public let expectedEntropy: Tensor
    /// H[E p] − E[H p] per input.
    public let mutualInformation: Tensor
    /// Per input, the key of the uniform that randomises its conformal set (`SampleKeys.conformal`): set
    /// by `Predictive.decide` for the rules that read it (`DecisionRule.readsConformalKeys`), else nil.
    public internal(set) var conformalKeys: [UInt64]?

    /// Summarises `probabilities` (`[samples, count, classes]`, sample-major).
    public init(probabilities: Tensor, percentile: Float = 10) {
        precondition(probabilities.shape.count == 3, "expected [samples, count, classes], got \(probabilities.shape)")
        self.init(count: probabilities.shape[1], classes: probabilities.shape[2], samples: probabilities.shape[0], percentile: percentile)
        UncertaintySummary.summarize(
            probabilities: probabilities, percentiles: [50, percentile, 5, 95],
            mean: meanProbabilities,
            percentileOutputs: [medianProbabilities, lowerPercentileProbabilities, percentile5, percentile95],
            entropy: entropy, expectedEntropy: expectedEntropy, mutualInformation: mutualInformation)
    }

    /// The summary of `samples` of every row of `images` under `seed`, drawn `chunk` rows at a time: the
    /// same values as summarising `predictive.sampleProbabilities(images, samples:seed:)` (an input's
    /// samples do not depend on the rows beside it), without its `samples × count × classes` floats ever
    /// existing at once (20 MB for 100 samples of 5,000 validation digits).
    public init(predictive: Predictive, images: Tensor, samples: Range<Int>, seed: UInt64, percentile: Float = 10,
                chunk: Int = 1000) {
        precondition(chunk > 0, "chunk must be positive, got \(chunk)")
        let count = images.rows, features = images.count / max(count, 1)
        guard count > chunk else {
            self.init(probabilities: predictive.sampleProbabilities(images, samples: samples, seed: seed), percentile: percentile)
            return
        }
        self.init(count: count, classes: predictive.network.classes, samples: samples.count, percentile: percentile)
        var start = 0
        while start < count {
            let size = min(chunk, count - start)
            let rows = Tensor(shape: [size, features])
            rows.pointer.update(from: images.pointer + start * features, count: size * features)
            let part = PredictiveSummary(probabilities: predictive.sampleProbabilities(rows, samples: samples, seed: seed),
                                         percentile: percentile)
            for row in 0..<size { replaceInput(start + row, with: part, input: row) }
            start += size
        }
    }

    /// A summary of `count` inputs with every statistic zero, to be filled in.
    private init(count: Int, classes: Int, samples: Int, percentile: Float) {
        self.count = count
        self.classes = classes
        self.samples = samples
        percentileLevel = percentile
        meanProbabilities = Tensor(shape: [count, classes])
        medianProbabilities = Tensor(shape: [count, classes])
        lowerPercentileProbabilities = Tensor(shape: [count, classes])
        percentile5 = Tensor(shape: [count, classes])
        percentile95 = Tensor(shape: [count, classes])
        entropy = Tensor(shape: [count])
        expectedEntropy = Tensor(shape: [count])
        mutualInformation = Tensor(shape: [count])
    }

    /// Overwrites every statistic of input `index` with those of input `other` of `summary` (the same
    /// input summarised from more samples).
    func replaceInput(_ index: Int, with summary: PredictiveSummary, input other: Int) {
        precondition(summary.classes == classes, "summaries of \(summary.classes) and \(classes) classes")
        let perClass: [(Tensor, Tensor)] = [
            (meanProbabilities, summary.meanProbabilities), (medianProbabilities, summary.medianProbabilities),
            (lowerPercentileProbabilities, summary.lowerPercentileProbabilities),
            (percentile5, summary.percentile5), (percentile95, summary.percentile95),
        ]
        for (target, source) in perClass {
            (target.pointer + index * classes).update(from: source.pointer + other * classes, count: classes)
        }
        for (target, source) in [(entropy, summary.entropy), (expectedEntropy, summary.expectedEntropy),
                                 (mutualInformation, summary.mutualInformation)] {
            target.pointer[index] = source.pointer[other]
        }
    }

    @inline(__always) public func mean(_ index: Int) -> UnsafePointer<Float> { UnsafePointer(meanProbabilities.pointer + index * classes) }
    @inline(__always) public func median(_ index: Int) -> UnsafePointer<Float> { UnsafePointer(medianProbabilities.pointer + index * classes) }
    @inline(__always) public func lowerPercentile(_ index: Int) -> UnsafePointer<Float> { UnsafePointer(lowerPercentileProbabilities.pointer + index * classes) }

    /// The uniform u of input `index`'s conformal set (APS, RAPS).
    func conformalUniform(_ index: Int) -> Float {
        guard let conformalKeys else {
            preconditionFailure("randomised conformal sets need the inputs' keys; summaries from Predictive.decide carry them")
        }
        return ConformalScoreFunction.uniform(conformalKeys[index])
    }

    /// The arg-max of the mean probability for input `index` (the forced prediction).
    public func forcedPrediction(_ index: Int) -> Int { DecisionRule.argmax(mean(index), classes) }

    /// The value of `score` for input `index` (`scales` serve the combined score).
    public func score(_ score: UncertaintyScore, index: Int, scales: ScoreScales = ScoreScales()) -> Float {
        switch score {
        case .entropyOrMutualInformation:
            return max(entropy.pointer[index] / scales.entropy, mutualInformation.pointer[index] / scales.mutualInformation)
        case .entropy: return entropy.pointer[index]
        case .mutualInformation: return mutualInformation.pointer[index]
        case .maxProbability: return 1 - mean(index)[forcedPrediction(index)]
        case .medianProbability:
            let m = median(index)
            return 1 - m[DecisionRule.argmax(m, classes)]
        case .percentileProbability:
            let q = lowerPercentile(index)
            return 1 - q[DecisionRule.argmax(q, classes)]
        }
    }

    /// `score` for every input.
    public func scores(_ score: UncertaintyScore, scales: ScoreScales = ScoreScales()) -> [Float] {
        (0..<count).map { self.score(score, index: $0, scales: scales) }
    }
}
