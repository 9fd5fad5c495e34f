/// Fits the `calibrated` rule on the validation split: chooses the uncertainty score and the threshold
/// that accepts the target share of validation digits.
///
/// The score is chosen without any real out-of-distribution data: each candidate (entropy, mutual
/// information, 1 − max mean probability) is scored by how well it separates validation digits from
/// `SyntheticOutliers` made from them (AUROC), plus how well it ranks the validation digits the model gets
/// wrong (AUROC of errors vs correct answers); the best average wins. The threshold is then the
/// `coverage` quantile of that score over validation digits.
public enum ThresholdCalibration {
    public static func calibrate(
        model: BayesianClassifier, validation: LabeledImages, samples: Int, coverage: Float,
        generator: inout RandomGenerator
    ) -> Calibration {
        let predictive = Predictive(network: model.network)
        let summary = PredictiveSummary(probabilities: predictive.sampleProbabilities(validation.images, samples: samples, generator: &generator))
        let outlierCount = min(3000, validation.count)
        let outliers = SyntheticOutliers.make(from: validation, count: outlierCount, generator: &generator)
        let outlierSummary = PredictiveSummary(probabilities: predictive.sampleProbabilities(outliers, samples: samples, generator: &generator))
        let correct = (0..<validation.count).map { summary.forcedPrediction($0) == validation.labels[$0] }

        var best: (score: UncertaintyScore, quality: Double)? = nil
        for candidate in [UncertaintyScore.mutualInformation, .entropy, .maxProbability] {
            let digitScores = summary.scores(candidate)
            let outlierAUROC = Metrics.auroc(inDistribution: digitScores, outOfDistribution: outlierSummary.scores(candidate))
            let errorAUROC = Metrics.auroc(
                inDistribution: zip(digitScores, correct).filter { $0.1 }.map(\.0),
                outOfDistribution: zip(digitScores, correct).filter { !$0.1 }.map(\.0))
            let quality = (outlierAUROC + (errorAUROC.isNaN ? outlierAUROC : errorAUROC)) / 2
            if best == nil || quality > best!.quality { best = (candidate, quality) }
        }
        let score = best!.score
        let digitScores = summary.scores(score)
        let threshold = Metrics.threshold(forCoverage: Double(coverage), scores: digitScores) ?? .infinity
        var accepted = 0, acceptedCorrect = 0
        for (index, value) in digitScores.enumerated() where value <= threshold {
            accepted += 1
            if correct[index] { acceptedCorrect += 1 }
        }
        return Calibration(score: score, threshold: threshold, coverage: Float(accepted) / Float(max(validation.count, 1)),
                           samples: samples, validationCount: validation.count,
                           acceptedAccuracy: Double(acceptedCorrect) / Double(max(accepted, 1)))
    }
}
