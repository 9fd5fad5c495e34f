import Foundation
import Testing
@testable import BNN

/// Refining the answers that lie within Monte Carlo error of a rule's boundary: the error estimates on
/// hand-computed cases, and `Predictive.decide` on a real network.
@Suite struct SampleRefinementTests {
    /// `[S, 1, C]` probabilities of one input from its per-sample rows.
    func oneInput(_ rows: [[Float]]) -> Tensor {
        Tensor(shape: [rows.count, 1, rows[0].count], values: rows.flatMap { $0 })
    }

    /// p(class 0) = 0.6, 0.8, 0.6, 0.8: the score 1 − max p̄ = 0.3; its leave-one-out values 0.2667, 0.3333,
    /// 0.2667, 0.3333 give the jackknife error √(3/4 · 4 · 0.0333²) = 0.0577, so with z = 2 the band is
    /// ±0.1155 around the boundary.
    @Test func jackknifeErrorOfTheMaxProbabilityScore() {
        let input = oneInput([[0.6, 0.4], [0.8, 0.2], [0.6, 0.4], [0.8, 0.2]])
        let refinement = SampleRefinement(maximumSamples: 100, zScore: 2)
        // The mean rule accepts when max p̄ ≥ τ: its boundary in score is 1 − τ.
        #expect(refinement.isNearBoundary(input, input: 0, rule: DecisionRule.mean(threshold: 0.6)))      // 0.1 from 0.4
        #expect(!refinement.isNearBoundary(input, input: 0, rule: DecisionRule.mean(threshold: 0.55)))    // 0.15 from 0.45
        #expect(refinement.isNearBoundary(input, input: 0, rule: DecisionRule.calibrated(score: .maxProbability, threshold: 0.41, scales: ScoreScales())))
        #expect(!refinement.isNearBoundary(input, input: 0, rule: DecisionRule.calibrated(score: .maxProbability, threshold: 0.42, scales: ScoreScales())))
        // z = 1 halves the band.
        #expect(!SampleRefinement(maximumSamples: 100, zScore: 1).isNearBoundary(
            input, input: 0, rule: DecisionRule.calibrated(score: .maxProbability, threshold: 0.36, scales: ScoreScales())))
    }

    /// Identical samples have no Monte Carlo error: never near, however close the score.
    @Test func identicalSamplesAreNeverNear() {
        let input = oneInput(Array(repeating: [0.5, 0.3, 0.2], count: 10))
        let refinement = SampleRefinement(maximumSamples: 100)
        let entropy = UncertaintySummary.entropy([0.5, 0.3, 0.2])
        for score in [UncertaintyScore.entropy, .mutualInformation, .maxProbability, .entropyOrMutualInformation] {
            let rule = DecisionRule.calibrated(score: score, threshold: entropy + 1e-4, scales: ScoreScales())
            #expect(!refinement.isNearBoundary(input, input: 0, rule: rule), "\(score)")
        }
    }

    /// Mutual information: samples [1, 0] and [0, 1] alternating (S = 4) give I = ln 2 with leave-one-out
    /// values of H(1/3, 2/3) − 0 = 0.6365 each, so the jackknife error is 0 and only an exact tie is near.
    /// With a fifth sample [0.5, 0.5] the leave-one-out values differ and a threshold 0.05 away is near.
    @Test func jackknifeErrorOfTheMutualInformation() {
        let refinement = SampleRefinement(maximumSamples: 100)
        let balanced = oneInput([[1, 0], [0, 1], [1, 0], [0, 1]])
        #expect(!refinement.isNearBoundary(balanced, input: 0, rule: DecisionRule.mutualInformation(threshold: 0.6)))
        let mixed = oneInput([[1, 0], [0, 1], [1, 0], [0, 1], [0.5, 0.5]])
        // I = ln 2 − ln 2 / 5 = 0.5545; leave-one-out: removing a certain sample gives H(0.375…) − ln2/4 …
        let rule = DecisionRule.mutualInformation(threshold: 0.60)
        #expect(refinement.isNearBoundary(mixed, input: 0, rule: rule))
        #expect(!refinement.isNearBoundary(mixed, input: 0, rule: DecisionRule.mutualInformation(threshold: 1.5)))
    }

    /// The median rule: class c is selected when more than half of its samples exceed τ. Five of ten above
    /// τ is on the boundary; ten of ten (and the other class none) is far from it.
    @Test func binomialErrorOfTheMedianRule() {
        let refinement = SampleRefinement(maximumSamples: 100)
        let rule = DecisionRule.median(threshold: 0.2)
        let torn = oneInput((0..<10).map { $0 < 5 ? [0.9, 0.1] : [0.1, 0.9] })
        #expect(refinement.isNearBoundary(torn, input: 0, rule: rule))
        let sure = oneInput(Array(repeating: [0.9, 0.1], count: 10))
        #expect(!refinement.isNearBoundary(sure, input: 0, rule: rule))
        // 8 of 10 above: share 0.8, error √(0.8·0.2/10) = 0.126, 0.3 from the boundary: far at z = 2, near at z = 3.
        let leaning = oneInput((0..<10).map { $0 < 8 ? [0.9, 0.1] : [0.1, 0.9] })
        #expect(!refinement.isNearBoundary(leaning, input: 0, rule: rule))
        #expect(SampleRefinement(maximumSamples: 100, zScore: 3).isNearBoundary(leaning, input: 0, rule: rule))
    }

    func classifier() -> BayesianClassifier {
        var generator = RandomGenerator(seed: 3)
        let network = NetworkBuilder.mlp(inputs: 20, hidden: 40, classes: 4, estimator: .local, priorSigma: 1)
        for case let layer as BayesianDense in network.layers {
            layer.initialize(.he, initialSigma: 0.4, generator: &generator)
            layer.parametersDidChange()
        }
        return BayesianClassifier(network: network, training: .default)
    }

    /// `decide` refines the inputs near the threshold only, and a refined input's answer is the one that
    /// many samples give directly; without refinement every input gets S samples.
    @Test func decideRefinesTheInputsNearTheThreshold() throws {
        let model = classifier()
        let images = randomTensor([200, 20], seed: 4)
        let predictive = Predictive(network: model.network)
        var probe = RandomGenerator(seed: 1)
        let scores = PredictiveSummary(probabilities: predictive.sampleProbabilities(images, samples: 20, generator: &probe))
            .scores(.entropy).sorted()
        let rule = DecisionRule.calibrated(score: .entropy, threshold: scores[100], scales: ScoreScales())
        var generator = RandomGenerator(seed: 9)
        let off = predictive.decide(images, rule: rule, samples: 20, refinement: .off, generator: &generator)
        #expect(off.sampleCounts.allSatisfy { $0 == 20 })
        generator = RandomGenerator(seed: 9)
        let refined = predictive.decide(images, rule: rule, samples: 20, refinement: SampleRefinement(maximumSamples: 160), generator: &generator)
        let counts = Dictionary(grouping: refined.sampleCounts, by: { $0 }).mapValues(\.count)
        #expect((counts[20] ?? 0) > 5, "some inputs are far from the threshold: \(counts)")
        #expect((counts[40] ?? 0) + (counts[80] ?? 0) + (counts[160] ?? 0) > 5, "some are near: \(counts)")
        // The refined inputs are the ones whose first-round score was closer to the threshold.
        let distance = off.decisions.map { abs($0.score - rule.threshold) }
        func meanDistance(_ refinedOnes: Bool) -> Float {
            let chosen = (0..<200).filter { (refined.sampleCounts[$0] > 20) == refinedOnes }
            return chosen.map { distance[$0] }.reduce(0, +) / Float(chosen.count)
        }
        #expect(meanDistance(true) < meanDistance(false) / 2)
        #expect(refined.sampleCounts.allSatisfy { [20, 40, 80, 160].contains($0) })
        // Refining in groups of one input at a time changes nothing.
        var small = SampleRefinement(maximumSamples: 160)
        small.probabilitiesPerDraw = 1
        generator = RandomGenerator(seed: 9)
        let grouped = predictive.decide(images, rule: rule, samples: 20, refinement: small, generator: &generator)
        #expect(grouped.decisions == refined.decisions && grouped.sampleCounts == refined.sampleCounts)
        #expect(grouped.summary.entropy.array == refined.summary.entropy.array)
        // The first round is the same draw as without refinement.
        #expect(refined.probabilities.array == off.probabilities.array)
        // A refined input's statistics are those of its samples drawn directly.
        var seedGenerator = RandomGenerator(seed: 9)
        let seed = seedGenerator.next()
        for input in (0..<200).filter({ refined.sampleCounts[$0] > 20 }).prefix(5) {
            let one = Tensor(shape: [1, 20], values: Array(UnsafeBufferPointer(start: images.pointer + input * 20, count: 20)))
            let direct = PredictiveSummary(probabilities: predictive.sampleProbabilities(one, samples: 0..<refined.sampleCounts[input], seed: seed))
            #expect(direct.entropy[0] == refined.summary.entropy[input])
            #expect(Array(UnsafeBufferPointer(start: direct.mean(0), count: 4)) == Array(UnsafeBufferPointer(start: refined.summary.mean(input), count: 4)))
            #expect(refined.decisions[input] == rule.decide(direct, index: 0))
        }
    }

    /// `BayesianClassifier.predict`: one input alone, first, last and among others gets the same result.
    @Test func predictionsDoNotDependOnCompany() {
        let model = classifier()
        let images = randomTensor([60, 20], seed: 5)
        var probe = RandomGenerator(seed: 1)
        let scores = PredictiveSummary(probabilities: Predictive(network: model.network).sampleProbabilities(images, samples: 20, generator: &probe))
            .scores(.entropy).sorted()
        let rule = DecisionRule.calibrated(score: .entropy, threshold: scores[30], scales: ScoreScales())
        func row(_ i: Int) -> [Float] { Array(UnsafeBufferPointer(start: images.pointer + i * 20, count: 20)) }
        func predict(_ rows: [Int]) -> [PredictionResult] {
            var generator = RandomGenerator(seed: 7)
            return model.predict(Tensor(shape: [rows.count, 20], values: rows.flatMap(row)), rule: rule, samples: 20, generator: &generator)
        }
        let all = predict(Array(0..<60))
        for input in 0..<60 {
            #expect(predict([input])[0] == all[input], "input \(input) alone")
        }
        let reversed = predict(Array((0..<60).reversed()))
        for input in 0..<60 { #expect(reversed[59 - input] == all[input], "input \(input) in reverse order") }
    }
}
