import Foundation
import Testing
@testable import BNN

/// Decision rules on hand-made sampled probabilities.
@Suite struct DecisionRuleTests {
    /// `[S, N, C]` probabilities from per-input lists of per-sample rows.
    func probabilities(_ inputs: [[[Float]]]) -> Tensor {
        let samples = inputs[0].count, count = inputs.count, classes = inputs[0][0].count
        let tensor = Tensor(shape: [samples, count, classes])
        for (n, rows) in inputs.enumerated() {
            for (s, row) in rows.enumerated() {
                for (c, value) in row.enumerated() { tensor[(s * count + n) * classes + c] = value }
            }
        }
        return tensor
    }

    @Test func medianRuleSelectsOneTwoOrNoClasses() {
        let summary = PredictiveSummary(probabilities: probabilities([
            // Confident: class 1 median 0.9.
            [[0.1, 0.9, 0], [0.05, 0.9, 0.05], [0.1, 0.85, 0.05]],
            // Torn between 0 and 2: medians 0.45 and 0.45.
            [[0.45, 0.1, 0.45], [0.5, 0.1, 0.4], [0.4, 0.1, 0.5]],
            // Samples disagree completely: every median is 0.
            [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        ]))
        let rule = DecisionRule.median(threshold: 0.2)
        #expect(rule.decide(summary, index: 0).classes == [1])
        #expect(Set(rule.decide(summary, index: 1).classes) == [0, 2])
        let refused = rule.decide(summary, index: 2)
        #expect(refused.refused)
        #expect(abs(refused.score - 1) < 1e-6)  // 1 − max median = 1 − 0
    }

    @Test func calibratedRuleRefusesAboveThreshold() {
        let summary = PredictiveSummary(probabilities: probabilities([
            [[0, 1, 0], [0, 1, 0]],   // MI 0
            [[1, 0, 0], [0, 1, 0]],   // MI ln 2
        ]))
        let rule = DecisionRule.calibrated(score: .mutualInformation, threshold: 0.5, scales: ScoreScales())
        let sure = rule.decide(summary, index: 0)
        #expect(sure.classes == [1] && !sure.refused && sure.score == 0)
        let unsure = rule.decide(summary, index: 1)
        #expect(unsure.refused)
        #expect(abs(unsure.score - Float(log(2.0))) < 1e-5)
        #expect(unsure.prediction == 0 || unsure.prediction == 1)
    }

    /// The combined score is max(H / s_H, I / s_I): either kind of uncertainty can refuse.
    @Test func combinedScoreTakesTheLargerScaledPart() {
        let summary = PredictiveSummary(probabilities: probabilities([
            [[0.5, 0.5], [0.5, 0.5]],   // H = ln 2, I = 0 (ambiguous, samples agree)
            [[1, 0], [0, 1]],           // H = ln 2, I = ln 2 (samples disagree)
        ]))
        let scales = ScoreScales(entropy: 2 * Float(log(2.0)), mutualInformation: Float(log(2.0)) / 4)
        #expect(abs(summary.score(.entropyOrMutualInformation, index: 0, scales: scales) - 0.5) < 1e-5)
        #expect(abs(summary.score(.entropyOrMutualInformation, index: 1, scales: scales) - 4) < 1e-4)
        let rule = DecisionRule.calibrated(score: .entropyOrMutualInformation, threshold: 1, scales: scales)
        #expect(!rule.decide(summary, index: 0).refused)
        #expect(rule.decide(summary, index: 1).refused)
    }

    @Test func meanRuleAndScores() {
        let summary = PredictiveSummary(probabilities: probabilities([[[0.3, 0.7], [0.5, 0.5]]]))
        // Mean = (0.4, 0.6); entropy = −0.4 ln 0.4 − 0.6 ln 0.6.
        let entropy = -(0.4 * log(0.4) + 0.6 * log(0.6))
        #expect(abs(Double(summary.score(.entropy, index: 0)) - entropy) < 1e-5)
        #expect(abs(summary.score(.maxProbability, index: 0) - 0.4) < 1e-6)
        #expect(DecisionRule.mean(threshold: 0.55).decide(summary, index: 0).classes == [1])
        #expect(DecisionRule.mean(threshold: 0.65).decide(summary, index: 0).refused)
    }

    @Test func percentileRuleIsStricterThanMedian() {
        // Class 0 samples: 0.1, 0.85, 0.9, 0.95, 0.97 → median 0.9, 10th percentile 0.1 + 0.4·0.75 = 0.4
        // (linear interpolation); class 1: median 0.1.
        let rows: [[Float]] = [[0.1, 0.9], [0.85, 0.15], [0.9, 0.1], [0.95, 0.05], [0.97, 0.03]]
        let summary = PredictiveSummary(probabilities: probabilities([rows]), percentile: 10)
        #expect(abs(summary.lowerPercentile(0)[0] - 0.4) < 1e-6)
        #expect(DecisionRule.median(threshold: 0.2).decide(summary, index: 0).classes == [0])
        #expect(DecisionRule.percentile(level: 10, threshold: 0.5).decide(summary, index: 0).refused)
    }

    @Test func rulesNeedingThresholdsThrow() throws {
        let model = BayesianClassifier(network: NetworkBuilder.mlp(inputs: 4, hidden: 3, classes: 2), training: .default)
        #expect(throws: RuleError.self) { try DecisionRule.make(kind: .calibrated, model: model) }
        #expect(throws: RuleError.self) { try DecisionRule.make(kind: .entropy, model: model) }
        #expect(try DecisionRule.make(kind: .median, model: model) == .median(threshold: 0.2))
        #expect(try DecisionRule.make(kind: .percentile, model: model) == .percentile(level: 10, threshold: 0.5))
        #expect(try DecisionRule.make(kind: .entropy, model: model, threshold: 0.3) == .entropy(threshold: 0.3))
    }

    /// Each rule reports the score it decides on, named for what it is.
    @Test func scoresAreNamedForWhatTheyAre() {
        // Class 0 samples 0.1, 0.85, 0.9, 0.95, 0.97: median 0.9, 10th percentile 0.4, mean 0.754.
        let rows: [[Float]] = [[0.1, 0.9], [0.85, 0.15], [0.9, 0.1], [0.95, 0.05], [0.97, 0.03]]
        let summary = PredictiveSummary(probabilities: probabilities([rows]), percentile: 10)
        let percentile = DecisionRule.percentile(level: 10, threshold: 0.3)
        #expect(percentile.score == .percentileProbability && percentile.score.rawValue == "percentile_probability")
        #expect(abs(percentile.decide(summary, index: 0).score - 0.6) < 1e-6)
        #expect(abs(summary.score(.percentileProbability, index: 0) - 0.6) < 1e-6)
        #expect(DecisionRule.median(threshold: 0.2).score == .medianProbability)
        #expect(abs(DecisionRule.median(threshold: 0.2).decide(summary, index: 0).score - 0.1) < 1e-6)
        #expect(DecisionRule.mean(threshold: 0.5).score == .maxProbability)
        #expect(abs(DecisionRule.mean(threshold: 0.5).decide(summary, index: 0).score - (1 - 0.754)) < 1e-6)
        #expect(DecisionRule.entropy(threshold: 1).score == .entropy)
        #expect(DecisionRule.mutualInformation(threshold: 1).score == .mutualInformation)
        #expect(percentile.percentileLevel == 10 && DecisionRule.median(threshold: 0.2).percentileLevel == 50)
        #expect(DecisionRule.mean(threshold: 0.5).percentileLevel == nil)
        #expect(percentile.with(threshold: 0.7) == .percentile(level: 10, threshold: 0.7))
    }
}
