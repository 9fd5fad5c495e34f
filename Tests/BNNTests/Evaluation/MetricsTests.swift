import Foundation
import Testing
@testable import BNN

@Suite struct MetricsTests {
    /// Three examples, two classes: a tie (arg-max picks class 0), a right answer, a certain wrong one.
    private let probabilities = Tensor(shape: [3, 2], values: [0.5, 0.5, 0.25, 0.75, 1, 0])
    private let labels = [0, 1, 1]

    @Test func accuracy() {
        #expect(Metrics.accuracy(predictions: [1, 2, 3, 4], labels: [1, 0, 3, 0]) == 0.5)
        #expect(Metrics.accuracy(probabilities: probabilities, labels: labels) == 2.0 / 3.0)
        #expect(Metrics.correctness(probabilities: probabilities, labels: labels) == [true, true, false])
        #expect(Metrics.accuracy(predictions: [], labels: []).isNaN)
    }

    @Test func negativeLogLikelihoodClampsAtOneInATrillion() {
        // −(ln 0.5 + ln 0.75 + ln 1e-12) / 3 = (ln 2 + ln 4/3 + 12 ln 10) / 3 = 9.537 283 …
        let expected = (log(2.0) + log(4.0 / 3.0) + 12 * log(10.0)) / 3
        #expect(abs(Metrics.negativeLogLikelihood(probabilities: probabilities, labels: labels) - expected) < 1e-12)
        let perfect = Tensor(shape: [2, 3], values: [0, 1, 0, 0, 0, 1])
        #expect(Metrics.negativeLogLikelihood(probabilities: perfect, labels: [1, 2]) == 0)
    }

    @Test func brierScoreSumsOverClasses() {
        // (0.25 + 0.25) + (0.0625 + 0.0625) + (1 + 1) = 2.625, over 3 examples = 0.875.
        #expect(Metrics.brierScore(probabilities: probabilities, labels: labels) == 0.875)
        let perfect = Tensor(shape: [1, 3], values: [0, 0, 1])
        #expect(Metrics.brierScore(probabilities: perfect, labels: [2]) == 0)
        #expect(Metrics.brierScore(probabilities: perfect, labels: [0]) == 2)
    }

    // Confidences 0.9 (right), 0.75 (wrong), 0.7 (right), 0.62 (right).
    private let calibrationCase = Tensor(shape: [4, 2], values: [0.9, 0.1, 0.25, 0.75, 0.3, 0.7, 0.38, 0.62])
    private let calibrationLabels = [0, 0, 1, 1]

    @Test func expectedCalibrationErrorByHand() {
        // One bin (0.5, 1] with everything: |3/4 − (0.9 + 0.75 + 0.7 + 0.62)/4| = |0.75 − 0.7425| = 0.0075.
        let two = Metrics.expectedCalibrationError(probabilities: calibrationCase, labels: calibrationLabels, bins: 2)
        #expect(abs(two - 0.0075) < 1e-7)
        // Five bins: (0.8, 1] holds 0.9 (acc 1): 0.1 · 1; (0.6, 0.8] holds 0.75, 0.7, 0.62 (acc 2/3, conf 0.69):
        // |2/3 − 0.69| · 3 = 0.07; ECE = (0.1 + 0.07) / 4 = 0.0425.
        let five = Metrics.expectedCalibrationError(probabilities: calibrationCase, labels: calibrationLabels, bins: 5)
        #expect(abs(five - 0.0425) < 1e-7)
        // Default 15 bins: every confidence in its own bin: (0.1 + 0.75 + 0.3 + 0.38) / 4 = 0.3825.
        let fifteen = Metrics.expectedCalibrationError(probabilities: calibrationCase, labels: calibrationLabels)
        #expect(abs(fifteen - 0.3825) < 1e-7)
        // Perfectly calibrated one-hot predictions.
        let oneHot = Tensor(shape: [2, 2], values: [1, 0, 0, 1])
        #expect(Metrics.expectedCalibrationError(probabilities: oneHot, labels: [0, 1]) == 0)
    }

    @Test func reliabilityDiagramBins() {
        let bins = Metrics.reliabilityDiagram(probabilities: calibrationCase, labels: calibrationLabels, bins: 5)
        #expect(bins.map(\.count) == [0, 0, 0, 3, 1])
        #expect(bins.map(\.lower) == [0, 0.2, 0.4, 0.6, 0.8])
        #expect(bins.map(\.upper) == [0.2, 0.4, 0.6, 0.8, 1])
        #expect(abs(bins[3].meanConfidence - 0.69) < 1e-7)
        #expect(bins[3].accuracy == 2.0 / 3.0)
        #expect(abs(bins[4].meanConfidence - 0.9) < 1e-7 && bins[4].accuracy == 1)
        #expect(bins[0].meanConfidence.isNaN && bins[0].accuracy.isNaN)
        // Bin edges: (k/K, (k+1)/K], 0 in the first bin, 1 in the last.
        #expect(Metrics.binIndex(confidence: 0, bins: 4) == 0)
        #expect(Metrics.binIndex(confidence: 0.25, bins: 4) == 0)
        #expect(Metrics.binIndex(confidence: 0.2500001, bins: 4) == 1)
        #expect(Metrics.binIndex(confidence: 1, bins: 4) == 3)
        #expect(Metrics.binIndex(confidence: .nan, bins: 4) == 0)
    }

    @Test func aurocExtremesAndTies() {
        #expect(Metrics.auroc(inDistribution: [0.1, 0.2, 0.3], outOfDistribution: [0.5, 0.9]) == 1)
        #expect(Metrics.auroc(inDistribution: [0.5, 0.9], outOfDistribution: [0.1, 0.2, 0.3]) == 0)
        #expect(Metrics.auroc(inDistribution: [0.3, 0.3], outOfDistribution: [0.3, 0.3, 0.3]) == 0.5)
        #expect(Metrics.auroc(inDistribution: [], outOfDistribution: [1]).isNaN)
    }

    @Test func aurocMixedCaseByHand() {
        // OOD 0.8 beats all three (3); 0.4 beats 0.1 and 0.35 and ties 0.4 (2.5); 0.2 beats 0.1 (1).
        // (3 + 2.5 + 1) / 9 = 13/18.
        let value = Metrics.auroc(inDistribution: [0.1, 0.4, 0.35], outOfDistribution: [0.8, 0.4, 0.2])
        #expect(value == 6.5 / 9)
        // Against the quadratic definition on a larger, tie-heavy case.
        var generator = RandomGenerator(seed: 11)
        let negatives = (0..<157).map { _ in Float(generator.next() % 20) }
        let positives = (0..<93).map { _ in Float(generator.next() % 25) }
        var pairs = 0.0
        for p in positives { for n in negatives { pairs += p > n ? 1 : (p == n ? 0.5 : 0) } }
        let quadratic = pairs / Double(negatives.count * positives.count)
        #expect(abs(Metrics.auroc(inDistribution: negatives, outOfDistribution: positives) - quadratic) < 1e-12)
    }

    @Test func falsePositiveRateAtNinetyFivePercentTruePositiveRate() {
        let ood = (1...20).map(Float.init)            // k = ⌈0.95 · 20⌉ = 19 → threshold = 2
        let inDistribution: [Float] = [0.5, 1.5, 2, 10, 25]
        #expect(Metrics.falsePositiveRate(inDistribution: inDistribution, outOfDistribution: ood) == 0.6) // 2, 10, 25
        #expect(Metrics.falsePositiveRate(atTruePositiveRate: 1, inDistribution: inDistribution, outOfDistribution: ood) == 0.8)
        #expect(Metrics.falsePositiveRate(atTruePositiveRate: 0.5, inDistribution: inDistribution, outOfDistribution: ood) == 0.2) // t = 11
        #expect(Metrics.falsePositiveRate(inDistribution: [0, 0.1], outOfDistribution: [1, 2]) == 0)
        #expect(Metrics.falsePositiveRate(inDistribution: [3, 4], outOfDistribution: [1, 2]) == 1)
    }

    @Test func thresholdForCoverage() {
        #expect(Metrics.threshold(forCoverage: 0.6, scores: [5, 1, 4, 2, 3]) == 3)   // k = 3
        #expect(Metrics.threshold(forCoverage: 0.5, scores: [5, 1, 4, 2, 3]) == 3)   // k = ⌈2.5⌉ = 3
        #expect(Metrics.threshold(forCoverage: 0.59, scores: [5, 1, 4, 2, 3]) == 3)
        #expect(Metrics.threshold(forCoverage: 0.61, scores: [5, 1, 4, 2, 3]) == 4)
        #expect(Metrics.threshold(forCoverage: 1, scores: [5, 1, 4, 2, 3]) == 5)
        #expect(Metrics.threshold(forCoverage: 0, scores: [5, 1]) == -.infinity)
        #expect(Metrics.threshold(forCoverage: 0.975, scores: (1...40).map(Float.init).reversed()) == 39)
        #expect(Metrics.threshold(forCoverage: 0.4, scores: [2, 1, 2, 2, 3]) == 2) // accepts 4 of 5 (ties)
        #expect(Metrics.threshold(forCoverage: 0.5, scores: []) == nil)
        #expect(Metrics.threshold(forCoverage: 1, scores: [.nan, 1, 2]) == .infinity)
        #expect(Metrics.threshold(forCoverage: 2.0 / 3.0, scores: [.nan, 1, 2]) == 2)
    }

    @Test func selectiveCounts() {
        let result = Metrics.selective(correct: [true, false, true, false, true], refused: [false, false, true, true, false])
        #expect(result.count == 5 && result.refusedCount == 2 && result.acceptedCorrect == 2)
        #expect(result.refusedShare == 0.4)
        #expect(result.coverage == 0.6)
        #expect(result.acceptedAccuracy == 2.0 / 3.0)
        let allRefused = Metrics.selective(correct: [true, true], refused: [true, true])
        #expect(allRefused.refusedShare == 1 && allRefused.acceptedAccuracy == nil)
        let empty = Metrics.selective(correct: [], refused: [])
        #expect(empty.refusedShare.isNaN && empty.acceptedAccuracy == nil)
    }

    @Test func riskCoverageCurveByHand() {
        // Sorted: 0.1 ✓, 0.2 ✓, 0.4 ✗, 0.4 ✓, 0.9 ✗ — the two 0.4s are accepted together.
        let curve = Metrics.riskCoverage(scores: [0.1, 0.4, 0.2, 0.4, 0.9], correct: [true, false, true, true, false])
        #expect(curve == [
            RiskCoveragePoint(threshold: 0.1, coverage: 0.2, risk: 0),
            RiskCoveragePoint(threshold: 0.2, coverage: 0.4, risk: 0),
            RiskCoveragePoint(threshold: 0.4, coverage: 0.8, risk: 0.25),
            RiskCoveragePoint(threshold: 0.9, coverage: 1, risk: 0.4),
        ])
        #expect(Metrics.riskCoverage(scores: [], correct: []).isEmpty)
    }

    /// Average precision by hand. Scores 0.8 (OOD), 0.4 (in), 0.35 (OOD), 0.1 (in): recall 0.5 at
    /// precision 1, then recall 1 at precision 2/3, so AUPR = 0.5·1 + 0.5·2/3 = 0.8333. With a tie
    /// between an OOD and an in-distribution 0.5 the two form one step (precision 2/3 there): the same
    /// 0.8333, as scikit-learn's average_precision_score gives. All scores equal: the positive share.
    @Test func auprByHandWithTies() {
        #expect(abs(Metrics.aupr(inDistribution: [0.1, 0.4], outOfDistribution: [0.35, 0.8]) - 5.0 / 6.0) < 1e-12)
        #expect(abs(Metrics.aupr(inDistribution: [0.5, 0.2], outOfDistribution: [0.5, 0.9]) - 5.0 / 6.0) < 1e-12)
        #expect(abs(Metrics.aupr(inDistribution: [1, 1], outOfDistribution: [1]) - 1.0 / 3.0) < 1e-12)
        #expect(Metrics.aupr(inDistribution: [0.1, 0.2], outOfDistribution: [0.3, .nan]) == 1)
        #expect(Metrics.aupr(inDistribution: [], outOfDistribution: [1]).isNaN)
    }

    /// AURC by hand. Scores 0.1 ✓, 0.2 ✗, 0.3 ✓, 0.4 ✓: risks 0, 1/2, 1/3, 1/4 at k = 1…4, AURC = 0.2708;
    /// a perfect ranking of three right and one wrong has risk only at k = 4 (1/4), AURC* = 1/16, so
    /// E-AURC = 0.2083. With 0.2 and 0.3 tied they are accepted together: 0.25·0 + 0.5·(1/3) + 0.25·(1/4).
    @Test func areaUnderRiskCoverageByHandWithTies() {
        let correct = [true, false, true, true]
        let aurc = Metrics.areaUnderRiskCoverage(scores: [0.1, 0.2, 0.3, 0.4], correct: correct)
        #expect(abs(aurc - (0 + 0.5 + 1.0 / 3.0 + 0.25) / 4) < 1e-12)
        #expect(abs(Metrics.optimalAreaUnderRiskCoverage(correct: correct) - 1.0 / 16.0) < 1e-12)
        #expect(abs(Metrics.excessAreaUnderRiskCoverage(scores: [0.1, 0.2, 0.3, 0.4], correct: correct) - (aurc - 1.0 / 16.0)) < 1e-12)
        let tied = Metrics.areaUnderRiskCoverage(scores: [0.1, 0.2, 0.2, 0.4], correct: correct)
        #expect(abs(tied - (0.5 / 3.0 + 0.0625)) < 1e-12)
        // A perfect ranking has E-AURC 0; all right, AURC 0.
        #expect(abs(Metrics.excessAreaUnderRiskCoverage(scores: [0.1, 0.3, 0.2, 0.9], correct: [true, true, true, false])) < 1e-12)
        #expect(Metrics.areaUnderRiskCoverage(scores: [3, 1], correct: [true, true]) == 0)
        #expect(Metrics.areaUnderRiskCoverage(scores: [], correct: []).isNaN)
    }

    /// Accuracy at a coverage: the most confident half of 0.1 ✓, 0.2 ✗, 0.3 ✓, 0.4 ✓ is 50% right, three
    /// quarters 2/3, all 3/4; with 0.2 and 0.3 tied, half cannot be cut and the first three count.
    @Test func accuracyAtCoverageByHandWithTies() {
        let correct = [true, false, true, true]
        #expect(Metrics.accuracy(atCoverage: 0.5, scores: [0.1, 0.2, 0.3, 0.4], correct: correct) == 0.5)
        #expect(abs(Metrics.accuracy(atCoverage: 0.75, scores: [0.1, 0.2, 0.3, 0.4], correct: correct) - 2.0 / 3.0) < 1e-12)
        #expect(Metrics.accuracy(atCoverage: 0.9, scores: [0.1, 0.2, 0.3, 0.4], correct: correct) == 0.75)
        #expect(abs(Metrics.accuracy(atCoverage: 0.5, scores: [0.1, 0.2, 0.2, 0.4], correct: correct) - 2.0 / 3.0) < 1e-12)
        #expect(Metrics.accuracy(atCoverage: 0.25, scores: [0.1, 0.2, 0.2, 0.4], correct: correct) == 1)
        #expect(Metrics.accuracy(atCoverage: 0.5, scores: [], correct: []).isNaN)
    }
}
