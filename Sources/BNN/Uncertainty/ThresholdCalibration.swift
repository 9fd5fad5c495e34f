/// Fits the `calibrated` rule on the validation split: chooses the uncertainty score and the threshold
/// that accepts the target share of validation digits.
///
/// The score is chosen without any real out-of-distribution data. Candidates: predictive entropy, mutual
/// information, 1 − max mean probability, and their union `entropyOrMutualInformation` (each of entropy
/// and mutual information divided by its own (1 + coverage)/2 quantile on validation digits, i.e. the
/// refusal budget split between the two). Each candidate is rated by the mean of two AUROCs on validation
/// data only: validation digits against `SyntheticOutliers` made from them, and the digits the model gets
/// wrong against those it gets right. The best wins; its threshold is the `coverage` quantile of its value
/// over validation digits (`Metrics.threshold(forCoverage:scores:)`).
///
/// The same samples then give the `conformal` rule's calibration (`ConformalCalibration.fit`) on the
/// validation inputs that threshold accepts; it draws nothing, so the threshold is what it was without it.
public enum ThresholdCalibration {
    /// How one candidate score did on the validation split.
    public struct Candidate: Sendable {
        public var score: UncertaintyScore
        public var scales: ScoreScales
        public var outlierAUROC: Double
        public var errorAUROC: Double
        public var quality: Double { errorAUROC.isNaN ? outlierAUROC : (outlierAUROC + errorAUROC) / 2 }
    }

    public static func calibrate(
        model: BayesianClassifier, validation: LabeledImages, samples: Int, coverage: Float,
        generator: inout RandomGenerator
    ) -> Calibration {
        calibrateWithCandidates(model: model, validation: validation, samples: samples, coverage: coverage, generator: &generator).calibration
    }

    /// `calibrate`, also returning how every candidate score did and how the conformal scores' sets did
    /// (for reports and tests).
    public static func calibrateWithCandidates(
        model: BayesianClassifier, validation: LabeledImages, samples: Int, coverage: Float,
        generator: inout RandomGenerator
    ) -> (calibration: Calibration, candidates: [Candidate], conformal: [ConformalComparison]) {
        let predictive = Predictive(network: model.network)
        // The seed drawn as `sampleProbabilities(_:samples:generator:)` draws it; it also keys the
        // conformal uniforms, as `Predictive.decide`'s seed does at prediction time.
        let seed = generator.next()
        let summary = PredictiveSummary(predictive: predictive, images: validation.images, samples: 0..<samples, seed: seed)
        let outliers = SyntheticOutliers.make(from: validation, shape: SyntheticOutliers.exampleShape(of: validation, networkShape: model.network.inputShape),
                                              count: min(3000, validation.count), generator: &generator)
        let outlierSummary = PredictiveSummary(predictive: predictive, images: outliers, samples: 0..<samples, seed: generator.next())
        let correct = (0..<validation.count).map { summary.forcedPrediction($0) == validation.labels[$0] }

        let componentCoverage = Double(1 + coverage) / 2
        let combinedScales = ScoreScales(
            entropy: max(Metrics.threshold(forCoverage: componentCoverage, scores: summary.scores(.entropy)) ?? 1, 1e-12),
            mutualInformation: max(Metrics.threshold(forCoverage: componentCoverage, scores: summary.scores(.mutualInformation)) ?? 1, 1e-12))
        var candidates: [Candidate] = []
        for score in [UncertaintyScore.mutualInformation, .entropy, .maxProbability, .entropyOrMutualInformation] {
            let scales = score == .entropyOrMutualInformation ? combinedScales : ScoreScales()
            let digitScores = summary.scores(score, scales: scales)
            let outlierScores = outlierSummary.scores(score, scales: scales)
            // A score that takes one value on every input (the mutual information of a network without
            // randomness is 0) cannot refuse anything; its AUROC of 0.5 could still win when the others
            // do worse on the synthetic outliers.
            guard let first = digitScores.first, !(digitScores + outlierScores).allSatisfy({ $0 == first }) else { continue }
            let outlierAUROC = Metrics.auroc(inDistribution: digitScores, outOfDistribution: outlierScores)
            let errorAUROC = Metrics.auroc(
                inDistribution: zip(digitScores, correct).filter { $0.1 }.map(\.0),
                outOfDistribution: zip(digitScores, correct).filter { !$0.1 }.map(\.0))
            candidates.append(Candidate(score: score, scales: scales, outlierAUROC: outlierAUROC, errorAUROC: errorAUROC))
        }
        // With no informative score (every candidate constant), 1 − max probability refuses nothing and says so.
        let best = candidates.max { $0.quality < $1.quality }
            ?? Candidate(score: .maxProbability, scales: ScoreScales(), outlierAUROC: .nan, errorAUROC: .nan)
        let digitScores = summary.scores(best.score, scales: best.scales)
        let threshold = Metrics.threshold(forCoverage: Double(coverage), scores: digitScores) ?? .infinity
        var accepted = 0, acceptedCorrect = 0
        for (index, value) in digitScores.enumerated() where value <= threshold {
            accepted += 1
            if correct[index] { acceptedCorrect += 1 }
        }
        let sampleKeys = SampleKeys(seed: seed)
        let conformal = ConformalCalibration.fit(
            summary: summary, labels: validation.labels, keys: InputIdentity.identities(of: validation.images).map(sampleKeys.conformal),
            accepted: digitScores.map { $0 <= threshold })
        let calibration = Calibration(
            score: best.score, threshold: threshold, coverage: Float(accepted) / Float(max(validation.count, 1)),
            samples: samples, validationCount: validation.count,
            acceptedAccuracy: Double(acceptedCorrect) / Double(max(accepted, 1)),
            scales: best.score == .entropyOrMutualInformation ? best.scales : nil, conformal: conformal.calibration)
        return (calibration, candidates, conformal.comparison)
    }
}
