import Foundation
import Testing
@testable import BNN

/// Split conformal prediction: the quantile, the three scores' sets on hand-made probabilities, the
/// coverage guarantee on synthetic exchangeable data, batch independence, and the model file.
@Suite struct ConformalPredictionTests {
    // MARK: The quantile

    @Test func quantileIsTheCeilingOrderStatistic() throws {
        let scores: [Float] = [0.1, 0.2, 0.3, 0.4]   // n = 4
        // k = ⌈5 · 0.8⌉ = 4, ⌈5 · 0.6⌉ = 3, ⌈5 · 0.5⌉ = ⌈2.5⌉ = 3, ⌈5 · 0.9⌉ = ⌈4.5⌉ = 5 > 4.
        #expect(try ConformalQuantile.quantile(sortedScores: scores, alpha: 0.2) == 0.4)
        #expect(try ConformalQuantile.quantile(sortedScores: scores, alpha: 0.4) == 0.3)
        #expect(try ConformalQuantile.quantile(sortedScores: scores, alpha: 0.5) == 0.3)
        #expect(try ConformalQuantile.quantile(sortedScores: scores, alpha: 0.79) == 0.2)   // ⌈5 · 0.21⌉ = ⌈1.05⌉ = 2
        #expect(try ConformalQuantile.rank(count: 4, alpha: 0.79) == 2)
        #expect(try ConformalQuantile.rank(count: 4, alpha: 0.8) == 1)     // ⌈5 · 0.2⌉ = 1 exactly
        #expect(try ConformalQuantile.rank(count: 4, alpha: 0.99) == 1)    // ⌈0.05⌉ = 1
        // Products that are whole numbers in exact arithmetic stay whole despite rounding.
        #expect(try ConformalQuantile.rank(count: 99, alpha: 0.01) == 99)     // 100 · 0.99
        #expect(try ConformalQuantile.rank(count: 9, alpha: 0.1) == 9)        // 10 · 0.9
        #expect(try ConformalQuantile.rank(count: 4999, alpha: 0.05) == 4750) // 5000 · 0.95
        #expect(try ConformalQuantile.rank(count: 5000, alpha: 0.01) == 4951) // ⌈4950.99⌉
    }

    @Test func tiedScoresAreOrderStatisticsToo() throws {
        let scores: [Float] = [0.1, 0.2, 0.2, 0.2, 0.5]
        #expect(try ConformalQuantile.quantile(sortedScores: scores, alpha: 0.5) == 0.2)   // k = 3
        #expect(try ConformalQuantile.quantile(sortedScores: scores, alpha: 1.0 / 3) == 0.2) // k = ⌈4⌉ = 4
        #expect(try ConformalQuantile.quantile(sortedScores: scores, alpha: 0.2) == 0.5)   // k = ⌈4.8⌉ = 5
    }

    @Test func alphaBelowOneOverNPlusOneOrOutsideTheUnitIntervalIsAnError() throws {
        let scores: [Float] = [0.1, 0.2, 0.3, 0.4]
        // α = 1/(n + 1) = 0.2 is the smallest allowed; just below it is refused with the count it needs.
        #expect(try ConformalQuantile.rank(count: 4, alpha: 0.2) == 4)
        do {
            _ = try ConformalQuantile.quantile(sortedScores: scores, alpha: 0.19)
            Issue.record("α = 0.19 with n = 4 must be refused")
        } catch let error as ConformalError {
            #expect(error.description.contains("at least 5 calibration examples") && error.description.contains("has 4"), "\(error)")
            #expect(error.description.contains("0.2"), "\(error)")
        }
        for alpha in [0, 1, -0.1, 1.5, .nan, .infinity] {
            #expect(throws: ConformalError.self) { try ConformalQuantile.rank(count: 100, alpha: alpha) }
        }
        #expect(throws: ConformalError.self) { try ConformalQuantile.quantile(sortedScores: [], alpha: 0.5) }
    }

    // MARK: The scores and their sets

    func withVector<T>(_ values: [Float], _ body: (UnsafePointer<Float>) -> T) -> T {
        values.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    @Test func lacKeepsEveryClassAboveOneMinusTheQuantile() {
        let lac = ConformalScoreFunction(score: .lac)
        let p: [Float] = [0.6, 0.3, 0.08, 0.02]
        withVector(p) { p in
            #expect(abs(lac.score(p, classes: 4, label: 1, uniform: 0.9) - 0.7) < 1e-7)
            #expect(lac.set(p, classes: 4, uniform: 0, quantile: 0.75) == [0, 1])        // p ≥ 0.25
            #expect(lac.set(p, classes: 4, uniform: 0, quantile: 0.95) == [0, 1, 2])     // p ≥ 0.05
            #expect(lac.set(p, classes: 4, uniform: 0, quantile: 0.3).isEmpty)           // p ≥ 0.7: none
            // The rule's answer always holds the most probable class.
            let sets = ConformalSets(function: lac, alpha: 0.1, quantile: 0.3, calibrationCount: 10)
            #expect(sets.classes(p, classes: 4, uniform: 0) == [0])
            #expect(ConformalSets(function: lac, alpha: 0.1, quantile: 0.75, calibrationCount: 10).classes(p, classes: 4, uniform: 0) == [0, 1])
        }
    }

    @Test func apsAndRapsAddClassesByRankWithTheUniformShare() {
        // Ranks: class 1 (0.5), class 2 (0.4), class 0 (0.1).
        let p: [Float] = [0.1, 0.5, 0.4]
        let aps = ConformalScoreFunction(score: .aps)
        let raps = ConformalScoreFunction(score: .raps, penaltyFreeRanks: 1, rankPenalty: 0.1)
        withVector(p) { p in
            var scores = [Float](repeating: 0, count: 3)
            aps.scores(p, classes: 3, uniform: 0.5, into: &scores)
            // s(1) = 0.5·0.5, s(2) = 0.5 + 0.5·0.4, s(0) = 0.9 + 0.5·0.1.
            #expect(zip(scores, [0.95, 0.25, 0.7] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(scores)")
            #expect(aps.set(p, classes: 3, uniform: 0.5, quantile: 0.7) == [1, 2])
            #expect(aps.set(p, classes: 3, uniform: 0.5, quantile: 0.69) == [1])
            #expect(aps.set(p, classes: 3, uniform: 0.5, quantile: 0.2).isEmpty)
            // u = 0: the most probable class scores 0 and is always in.
            #expect(aps.set(p, classes: 3, uniform: 0, quantile: 0).contains(1))
            // RAPS: + λ·max(0, rank − 1): 0.25, 0.7 + 0.1, 0.95 + 0.2.
            raps.scores(p, classes: 3, uniform: 0.5, into: &scores)
            #expect(zip(scores, [1.15, 0.25, 0.8] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(scores)")
            #expect(raps.set(p, classes: 3, uniform: 0.5, quantile: 0.8) == [1, 2])
            #expect(raps.set(p, classes: 3, uniform: 0.5, quantile: 0.79) == [1])
            #expect(raps.set(p, classes: 3, uniform: 0.5, quantile: 1.2) == [1, 2, 0])
        }
        // Tied probabilities are ranked by class index: class 0 before class 1.
        withVector([0.4, 0.4, 0.2]) { p in
            var scores = [Float](repeating: 0, count: 3)
            aps.scores(p, classes: 3, uniform: 1, into: &scores)
            #expect(zip(scores, [0.4, 0.8, 1.0] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(scores)")
        }
    }

    /// A label is in the set built at its own score, for every score and random vector: the score used at
    /// calibration and the one used to build the set are the same numbers.
    @Test func aLabelIsInTheSetBuiltAtItsOwnScore() {
        var generator = RandomGenerator(seed: 5)
        for _ in 0..<300 {
            let classes = 2 + generator.integer(below: 9)
            var p = (0..<classes).map { _ in generator.uniform() * generator.uniform() }
            let total = p.reduce(0, +)
            p = p.map { $0 / total }
            let u = generator.uniform(), label = generator.integer(below: classes)
            for function in [ConformalScoreFunction(score: .lac), ConformalScoreFunction(score: .aps),
                             ConformalScoreFunction(score: .raps, penaltyFreeRanks: 2, rankPenalty: 0.05)] {
                withVector(p) { p in
                    let q = function.score(p, classes: classes, label: label, uniform: u)
                    #expect(function.set(p, classes: classes, uniform: u, quantile: q).contains(label))
                    #expect(!function.set(p, classes: classes, uniform: u, quantile: q.nextDown).contains(label))
                }
            }
        }
    }

    // MARK: The guarantee, on synthetic exchangeable data

    /// A known distribution: K = 5 classes, logits z ~ N(0, 2²) per class, y ~ softmax(z); the model's
    /// probabilities are a miscalibrated softmax(0.6 z + ε), ε ~ N(0, 0.5²). Each draw is exchangeable.
    struct SyntheticExample {
        let probabilities: [Float]
        let label: Int
        let uniform: Float
    }

    func drawExample(_ generator: inout RandomGenerator, classes: Int = 5) -> SyntheticExample {
        let logits = (0..<classes).map { _ in 2 * generator.normal() }
        func softmax(_ z: [Float]) -> [Float] {
            let largest = z.max()!
            let e = z.map { Foundation.exp($0 - largest) }
            let total = e.reduce(0, +)
            return e.map { $0 / total }
        }
        let truth = softmax(logits)
        var draw = generator.uniform(), label = classes - 1
        for c in 0..<classes {
            if draw < truth[c] { label = c; break }
            draw -= truth[c]
        }
        let model = softmax(logits.map { 0.6 * $0 + 0.5 * generator.normal() })
        return SyntheticExample(probabilities: model, label: label, uniform: ConformalScoreFunction.uniform(generator.next()))
    }

    /// Over 200 random calibration/test splits, the mean coverage of each score's exact conformal sets is
    /// within Monte Carlo error of [1 − α, 1 − α + 1/(n + 1)] (the scores are continuous, so no ties): the
    /// standard deviation of one split's coverage is about √(α(1 − α)/(n + 2)) ≈ 0.03 here, of the mean
    /// over 200 splits about 0.0023, so a slack of 0.01 is over four standard deviations.
    @Test func coverageMatchesTheGuaranteeOnExchangeableData() throws {
        let n = 100, testCount = 500, repetitions = 200, alpha = 0.1, classes = 5
        var generator = RandomGenerator(seed: 11)
        for function in [ConformalScoreFunction(score: .lac), ConformalScoreFunction(score: .aps),
                         ConformalScoreFunction(score: .raps, penaltyFreeRanks: 1, rankPenalty: 0.05)] {
            var coverage = 0.0, forcedCoverage = 0.0
            for _ in 0..<repetitions {
                let calibration = (0..<n).map { _ in drawExample(&generator) }
                let scores = calibration.map { example in
                    example.probabilities.withUnsafeBufferPointer {
                        function.score($0.baseAddress!, classes: classes, label: example.label, uniform: example.uniform)
                    }
                }.sorted()
                let quantile = try ConformalQuantile.quantile(sortedScores: scores, alpha: alpha)
                let sets = ConformalSets(function: function, alpha: alpha, quantile: quantile, calibrationCount: n)
                var covered = 0, forcedCovered = 0
                for _ in 0..<testCount {
                    let example = drawExample(&generator)
                    example.probabilities.withUnsafeBufferPointer { p in
                        if function.set(p.baseAddress!, classes: classes, uniform: example.uniform, quantile: quantile).contains(example.label) { covered += 1 }
                        if sets.classes(p.baseAddress!, classes: classes, uniform: example.uniform).contains(example.label) { forcedCovered += 1 }
                    }
                }
                coverage += Double(covered) / Double(testCount)
                forcedCoverage += Double(forcedCovered) / Double(testCount)
            }
            coverage /= Double(repetitions)
            forcedCoverage /= Double(repetitions)
            #expect(coverage >= 1 - alpha - 0.01, "\(function.score): mean coverage \(coverage)")
            #expect(coverage < 1 - alpha + 1 / Double(n + 1) + 0.01, "\(function.score): mean coverage \(coverage)")
            #expect(forcedCoverage >= coverage, "\(function.score): adding the most probable class lost coverage")
        }
    }

    /// The +1 of ⌈(n + 1)(1 − α)⌉ matters for small n: with n = 9 and α = 0.15 it takes the 9th score
    /// (expected coverage 9/10), where ⌈n(1 − α)⌉ would take the 8th (8/10, short of 0.85). The test
    /// would fail if the rank lost its correction.
    @Test func theFiniteSampleCorrectionKeepsCoverageForSmallN() throws {
        let n = 9, testCount = 400, repetitions = 300, alpha = 0.15, classes = 5
        #expect(try ConformalQuantile.rank(count: n, alpha: alpha) == 9)
        var generator = RandomGenerator(seed: 12)
        let lac = ConformalScoreFunction(score: .lac)
        var corrected = 0.0, uncorrected = 0.0
        for _ in 0..<repetitions {
            let scores = (0..<n).map { _ in drawExample(&generator) }.map { example in
                example.probabilities.withUnsafeBufferPointer { lac.score($0.baseAddress!, classes: classes, label: example.label, uniform: 0) }
            }.sorted()
            let quantile = try ConformalQuantile.quantile(sortedScores: scores, alpha: alpha)
            let uncorrectedQuantile = scores[Int((Double(n) * (1 - alpha)).rounded(.up)) - 1]
            for _ in 0..<testCount {
                let example = drawExample(&generator)
                example.probabilities.withUnsafeBufferPointer { p in
                    if lac.set(p.baseAddress!, classes: classes, uniform: 0, quantile: quantile).contains(example.label) { corrected += 1 }
                    if lac.set(p.baseAddress!, classes: classes, uniform: 0, quantile: uncorrectedQuantile).contains(example.label) { uncorrected += 1 }
                }
            }
        }
        corrected /= Double(repetitions * testCount)
        uncorrected /= Double(repetitions * testCount)
        #expect(abs(corrected - 0.9) < 0.015, "\(corrected)")
        #expect(abs(uncorrected - 0.8) < 0.015, "\(uncorrected)")
        #expect(corrected >= 1 - alpha && uncorrected < 1 - alpha)
    }

    // MARK: The rule

    func tinyNetwork(classes: Int = 3) -> Sequential {
        var generator = RandomGenerator(seed: 3)
        let network = Sequential(inputShape: [4], layers: [BayesianDense(inputs: 4, outputs: 16), ReLU(), BayesianDense(inputs: 16, outputs: classes)])
        for case let layer as BayesianDense in network.layers { layer.initialize(.he, initialSigma: 0.3, generator: &generator) }
        return network
    }

    func inputs(_ count: Int, seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let tensor = Tensor(shape: [count, 4])
        generator.fillNormal(tensor, standardDeviation: 2)
        return tensor
    }

    /// An input's randomised set depends on the input and the seed, not on the batch around it.
    @Test func randomisedSetsDoNotDependOnTheBatch() {
        let predictive = Predictive(network: tinyNetwork())
        let sets = ConformalSets(function: ConformalScoreFunction(score: .aps), alpha: 0.1, quantile: 0.7, calibrationCount: 50)
        let rule = DecisionRule.conformal(score: .entropy, threshold: .infinity, scales: ScoreScales(), sets: sets)
        let all = inputs(40, seed: 1)
        var generator = RandomGenerator(seed: 9)
        let whole = predictive.decide(all, rule: rule, samples: 20, refinement: .off, generator: &generator)
        // The same inputs reversed and cut to a part of the batch, under the same seed.
        let picked = Array((5..<25).reversed())
        let part = Tensor(shape: [picked.count, 4])
        for (i, row) in picked.enumerated() { (part.pointer + i * 4).update(from: all.pointer + row * 4, count: 4) }
        generator = RandomGenerator(seed: 9)
        let partial = predictive.decide(part, rule: rule, samples: 20, refinement: .off, generator: &generator)
        for (i, row) in picked.enumerated() {
            #expect(partial.decisions[i] == whole.decisions[row], "input \(row)")
            #expect(partial.summary.conformalUniform(i) == whole.summary.conformalUniform(row))
        }
        // The uniforms differ between inputs and between seeds.
        let uniforms = Set((0..<40).map { whole.summary.conformalUniform($0) })
        #expect(uniforms.count == 40)
        generator = RandomGenerator(seed: 10)
        let other = predictive.decide(all, rule: rule, samples: 20, refinement: .off, generator: &generator)
        #expect((0..<40).contains { other.summary.conformalUniform($0) != whole.summary.conformalUniform($0) })
        // Sets of accepted inputs are never empty; the default path carries no keys.
        #expect(whole.decisions.allSatisfy { !$0.classes.isEmpty })
        generator = RandomGenerator(seed: 9)
        let calibrated = predictive.decide(all, rule: .calibrated(score: .entropy, threshold: 1, scales: ScoreScales()), samples: 20,
                                           refinement: .off, generator: &generator)
        #expect(calibrated.summary.conformalKeys == nil)
    }

    /// The rule refuses what the calibrated rule refuses, and answers the set otherwise.
    @Test func theRuleRefusesWhereTheCalibratedRuleDoes() {
        let predictive = Predictive(network: tinyNetwork())
        let all = inputs(60, seed: 2)
        var generator = RandomGenerator(seed: 4)
        let entropy = predictive.decide(all, rule: .entropy(threshold: 10), samples: 20, refinement: .off, generator: &generator)
        let threshold = entropy.summary.scores(.entropy).sorted()[30]
        let sets = ConformalSets(function: ConformalScoreFunction(score: .lac), alpha: 0.1, quantile: 0.9, calibrationCount: 50)
        let conformal = DecisionRule.conformal(score: .entropy, threshold: threshold, scales: ScoreScales(), sets: sets)
        let calibrated = DecisionRule.calibrated(score: .entropy, threshold: threshold, scales: ScoreScales())
        for index in 0..<60 {
            let a = conformal.decide(entropy.summary, index: index), b = calibrated.decide(entropy.summary, index: index)
            #expect(a.refused == b.refused && a.score == b.score && a.prediction == b.prediction)
            if !a.refused {
                let mean = entropy.summary.mean(index)
                #expect(a.classes == sets.function.set(mean, classes: 3, uniform: 0, quantile: 0.9).sorted { mean[$0] > mean[$1] } || a.classes.first == a.prediction)
                #expect(a.classes.first == a.prediction)
                #expect(Set(a.classes) == Set([a.prediction] + (0..<3).filter { 1 - mean[$0] <= 0.9 }))
            }
        }
    }

    // MARK: Calibration, evaluation, the model file

    /// Validation-like data for `ConformalCalibration.fit`: synthetic summaries (one sample each).
    func syntheticSummary(count: Int, seed: UInt64) -> (summary: PredictiveSummary, labels: [Int], keys: [UInt64]) {
        var generator = RandomGenerator(seed: seed)
        let examples = (0..<count).map { _ in drawExample(&generator) }
        let probabilities = Tensor(shape: [1, count, 5])
        for (i, example) in examples.enumerated() {
            (probabilities.pointer + i * 5).update(from: example.probabilities, count: 5)
        }
        return (PredictiveSummary(probabilities: probabilities), examples.map(\.label), (0..<count).map { _ in generator.next() })
    }

    @Test func fitStoresSortedScoresOfTheAcceptedInputs() throws {
        let (summary, labels, keys) = syntheticSummary(count: 2000, seed: 21)
        let accepted = (0..<2000).map { summary.score(.maxProbability, index: $0) < 0.7 }
        let (calibration, comparison) = ConformalCalibration.fit(summary: summary, labels: labels, keys: keys, accepted: accepted)
        let acceptedCount = accepted.filter { $0 }.count
        #expect(calibration.lac.count == acceptedCount && calibration.aps.count == acceptedCount)
        #expect(calibration.raps.count < acceptedCount && calibration.raps.count > acceptedCount * 7 / 10)
        #expect(calibration.invalidSetting == nil)
        for score in ConformalScore.allCases {
            let values = calibration.sortedScores(score)
            #expect(values == values.sorted())
        }
        // LAC's stored scores are 1 − p̄(y) of the accepted inputs, exactly.
        let expected = (0..<2000).filter { accepted[$0] }.map { 1 - summary.mean($0)[labels[$0]] }.sorted()
        #expect(calibration.lac == expected)
        #expect(calibration.penaltyFreeRanks >= 1 && ConformalCalibration.rankPenalties.contains(calibration.rankPenalty))
        // Every score's held-out coverage is close to its target; the default is valid at every α.
        // Halves of about 640 accepted inputs: every α but 0.001 (which needs 999) is measured.
        #expect(comparison.count == ConformalScore.allCases.count * 2 * (ConformalCalibration.comparedAlphas.count - 1))
        #expect(!comparison.contains { $0.alpha == 0.001 })
        for row in comparison where row.acceptedOnly {
            #expect(abs(row.coverage - (1 - row.alpha)) < 0.03, "\(row)")
        }
        for row in comparison where row.score == calibration.defaultScore && row.acceptedOnly {
            #expect(row.coverage >= 1 - row.alpha - 0.005, "\(row)")
        }
        let smallest = ConformalScore.allCases.filter { score in
            comparison.filter { $0.score == score && $0.acceptedOnly }.allSatisfy { $0.coverage >= 1 - $0.alpha - 0.005 }
        }.min { a, b in
            comparison.filter { $0.score == a && $0.acceptedOnly }.reduce(0) { $0 + $1.meanSetSize }
                < comparison.filter { $0.score == b && $0.acceptedOnly }.reduce(0) { $0 + $1.meanSetSize }
        }
        #expect(calibration.defaultScore == smallest)
    }

    @Test func evaluationFiguresByHand() {
        let sets = ConformalSets(function: ConformalScoreFunction(score: .lac), alpha: 0.05, quantile: 0.9, calibrationCount: 100)
        let decisions = [Decision(classes: [1], prediction: 1, score: 0), Decision(classes: [1, 2], prediction: 1, score: 0),
                         Decision(classes: [], prediction: 0, score: 1), Decision(classes: [0], prediction: 0, score: 0)]
        let figures = ConformalEvaluation(sets: sets, decisions: decisions, labels: [1, 2, 0, 1])
        #expect(figures.coverage == 0.5)                 // 2 of 4; the refused one counts as a miss
        #expect(figures.coverageAccepted == 2.0 / 3)     // 2 of the 3 accepted
        #expect(figures.meanSetSize == 4.0 / 3)
        #expect(figures.setSizes == ["1": 2.0 / 3, "2": 1.0 / 3])
        #expect(figures.alpha == 0.05 && figures.score == "lac" && figures.calibrationCount == 100)
        let none = ConformalEvaluation(sets: sets, decisions: [Decision(classes: [], prediction: 0, score: 1)], labels: [0])
        #expect(none.coverage == 0 && none.coverageAccepted == nil && none.meanSetSize == nil)
    }

    func calibratedModel(conformal: ConformalCalibration?) -> BayesianClassifier {
        let model = BayesianClassifier(network: tinyNetwork(), training: .default)
        model.calibration = Calibration(score: .entropy, threshold: 0.8, coverage: 0.975, samples: 10, validationCount: 100,
                                        acceptedAccuracy: 0.9, conformal: conformal)
        return model
    }

    let storedConformal = ConformalCalibration(defaultScore: .aps, penaltyFreeRanks: 2, rankPenalty: 0.01,
                                               lac: [0.01, 0.1, 0.2, 0.3, 0.5, 0.9], aps: [0.1, 0.4, 0.6, 0.7, 0.8, 0.95],
                                               raps: [0.2, 0.3, 0.99])

    @Test func modelFileRoundTripAndRuleConstruction() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("conformal-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try calibratedModel(conformal: storedConformal).save(to: url)
        let loaded = try BayesianClassifier.load(from: url)
        #expect(loaded.calibration?.conformal == storedConformal)
        // Default score (APS) and α: n = 6, α = 0.3 → k = ⌈4.9⌉ = 5 → 0.8.
        let rule = try DecisionRule.make(kind: .conformal, model: loaded, alpha: 0.3)
        #expect(rule.conformalSets == ConformalSets(function: ConformalScoreFunction(score: .aps, penaltyFreeRanks: 2, rankPenalty: 0.01),
                                                    alpha: 0.3, quantile: 0.8, calibrationCount: 6))
        #expect(rule.threshold == 0.8 && rule.score == .entropy && rule.kind == .conformal)
        let lac = try DecisionRule.make(kind: .conformal, model: loaded, alpha: 0.3, conformalScore: .lac)
        #expect(lac.conformalSets?.quantile == 0.5 && lac.readsConformalKeys == false)
        // RAPS has n = 3: α must be at least 1/4.
        #expect(throws: RuleError.self) { try DecisionRule.make(kind: .conformal, model: loaded, alpha: 0.2, conformalScore: .raps) }
        #expect(try DecisionRule.make(kind: .conformal, model: loaded, alpha: 0.25, conformalScore: .raps).conformalSets?.quantile == 0.99)
        // The threshold is the calibration's.
        #expect(throws: RuleError.self) { try DecisionRule.make(kind: .conformal, model: loaded, threshold: 0.5) }
    }

    @Test func filesWithoutConformalScoresGiveAClearError() throws {
        let old = calibratedModel(conformal: nil)
        do {
            _ = try DecisionRule.make(kind: .conformal, model: old, alpha: 0.1)
            Issue.record("a model without conformal scores must be refused")
        } catch let error as RuleError {
            #expect(error.description.contains("no conformal scores") && error.description.contains("calibrate it again"), "\(error)")
        }
        let uncalibrated = BayesianClassifier(network: tinyNetwork(), training: .default)
        #expect(throws: RuleError.self) { try DecisionRule.make(kind: .conformal, model: uncalibrated) }
        // The other rules are untouched by the missing scores.
        #expect(try DecisionRule.make(kind: .calibrated, model: old).kind == .calibrated)
    }

    @Test func malformedConformalScoresAreRefusedOnLoad() throws {
        var unsorted = storedConformal
        unsorted.aps = [0.5, 0.4]
        var infinite = storedConformal
        infinite.lac[2] = .infinity
        var negative = storedConformal
        negative.rankPenalty = -1
        for (bad, words) in [(unsorted, "ascending"), (infinite, "finite"), (negative, "rankPenalty")] {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("conformal-bad-\(UUID().uuidString).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            let model = calibratedModel(conformal: bad)
            if words == "finite" {
                // JSON cannot hold ∞: the encoder refuses to write it, so such a file is written by hand.
                #expect(model.calibration?.invalidSetting?.contains(words) == true)
                continue
            }
            try model.save(to: url)
            do {
                _ = try BayesianClassifier.load(from: url)
                Issue.record("\(words): the file must be refused")
            } catch let error as ModelFileError {
                #expect(error.description.contains("calibration") && error.description.contains(words), "\(error)")
            }
        }
    }
}
