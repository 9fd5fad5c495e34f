import Foundation

/// What the `conformal` rule needs from the validation split, stored in the model file with the
/// calibrated rule: every score's non-conformity values on the calibration examples, sorted, so that the
/// quantile for any α can be taken when the user names α.
///
/// **The calibration examples are the validation inputs the calibrated rule accepts.** A test input gets a
/// set only when that rule accepts it, and accepted validation and accepted test inputs are exchangeable
/// when the acceptance rule is fixed, so the guarantee holds conditionally on acceptance:
/// P(y ∈ C(x) | x accepted) ≥ 1 − α. (Calibrating on every validation input instead also bounds this
/// coverage, but with larger sets: the refused inputs are the hard ones, whose large scores push q̂ up;
/// `bnn calibrate` measures both.) The acceptance threshold is itself fitted on the same validation
/// split, which makes the exchangeability hold up to O(1/n).
///
/// RAPS's k_reg and λ are chosen as Angelopoulos et al. (2021, section 4) do, on a tuning fifth of the
/// calibration examples that its stored scores then leave out: k_reg is the conformal (1 − α_tune)
/// quantile of the true label's rank, λ the value of {0.001, 0.01, 0.1, 0.2, 0.5} with the smallest mean
/// set size at α_tune = 0.05 (calibrating on one half of the tuning fifth, measuring on the other, both ways).
public struct ConformalCalibration: Codable, Sendable, Equatable {
    /// The score `--rule conformal` uses when none is named: the one with the smallest mean sets on
    /// held-out halves of the validation split (`fit`).
    public var defaultScore: ConformalScore
    /// RAPS's k_reg and λ.
    public var penaltyFreeRanks: Int
    public var rankPenalty: Float
    /// Sorted (ascending) scores of the calibration examples: LAC's and APS's on every accepted validation
    /// input, RAPS's on those outside its tuning fifth.
    public var lac: [Float]
    public var aps: [Float]
    public var raps: [Float]

    public init(defaultScore: ConformalScore, penaltyFreeRanks: Int, rankPenalty: Float, lac: [Float], aps: [Float], raps: [Float]) {
        self.defaultScore = defaultScore
        self.penaltyFreeRanks = penaltyFreeRanks
        self.rankPenalty = rankPenalty
        self.lac = lac
        self.aps = aps
        self.raps = raps
    }

    /// The stored sorted scores of `score`.
    public func sortedScores(_ score: ConformalScore) -> [Float] {
        switch score {
        case .lac: return lac
        case .aps: return aps
        case .raps: return raps
        }
    }

    /// `score` with this calibration's RAPS settings.
    public func function(_ score: ConformalScore) -> ConformalScoreFunction {
        ConformalScoreFunction(score: score, penaltyFreeRanks: penaltyFreeRanks, rankPenalty: rankPenalty)
    }

    /// The first value out of range, as "name is value; must be …", or nil (checked when a model loads).
    public var invalidSetting: String? {
        if penaltyFreeRanks < 0 { return "conformal penaltyFreeRanks is \(penaltyFreeRanks); must be ≥ 0" }
        if !(rankPenalty.isFinite && rankPenalty >= 0) { return "conformal rankPenalty is \(rankPenalty); must be a number ≥ 0" }
        for score in ConformalScore.allCases {
            let values = sortedScores(score)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                return "conformal \(score.rawValue) score \(bad) is \(values[bad]); must be a finite number"
            }
            if let unsorted = values.indices.dropFirst().first(where: { values[$0 - 1] > values[$0] }) {
                return "conformal \(score.rawValue) scores are not in ascending order at \(unsorted)"
            }
        }
        return nil
    }
}

/// How one score's sets did on held-out halves of the validation split, at one α.
public struct ConformalComparison: Sendable, Equatable {
    public var score: ConformalScore
    /// Whether q̂ was taken on the accepted calibration half only (as the model file stores) or on the
    /// whole half, refused inputs included.
    public var acceptedOnly: Bool
    public var alpha: Double
    /// Mean over the random halvings of the coverage of the accepted inputs of the other half.
    public var coverage: Double
    /// Mean over the halvings of the mean set size on those inputs.
    public var meanSetSize: Double
}

extension ConformalCalibration {
    /// The α at which RAPS's k_reg and λ are tuned.
    public static let tuningAlpha = 0.05
    /// The λ candidates (Angelopoulos et al. 2021's grid).
    public static let rankPenalties: [Float] = [0.001, 0.01, 0.1, 0.2, 0.5]
    /// The α values the score comparison (and so the default score's choice) is made at: the usual 0.1,
    /// 0.05 and 0.01, and the smaller ones where a model as accurate as MNIST's starts to name runners-up.
    public static let comparedAlphas = [0.001, 0.005, 0.01, 0.05, 0.1]
    /// Random halvings of the comparison.
    public static let comparisonHalvings = 50

    /// Fits the conformal calibration on validation inputs: `summary` holds their predictive summaries,
    /// `labels` their labels, `keys` their conformal keys (`SampleKeys.conformalKey`, which give APS's
    /// uniforms), `accepted` whether the calibrated rule accepts them. Returns the calibration and how each
    /// score did on random halves of the inputs outside RAPS's tuning fifth (at the `comparedAlphas` that
    /// the halves are large enough for); the default score is the one whose mean set sizes summed over
    /// those α are smallest among those whose mean coverage reaches 1 − α − 0.005 at every α (LAC when
    /// none does).
    public static func fit(summary: PredictiveSummary, labels: [Int], keys: [UInt64], accepted: [Bool])
        -> (calibration: ConformalCalibration, comparison: [ConformalComparison]) {
        let count = summary.count
        precondition(labels.count == count && keys.count == count && accepted.count == count,
                     "\(count) inputs, \(labels.count) labels, \(keys.count) keys, \(accepted.count) acceptance flags")
        let uniforms = keys.map(ConformalScoreFunction.uniform)
        // The tuning fifth and the halvings are chosen by each input's key, so they depend only on the inputs.
        let tuning = keys.map { SampleKeys.mix($0, 1) % 5 == 0 }
        let acceptedIndices = (0..<count).filter { accepted[$0] }
        let tuningIndices = acceptedIndices.filter { tuning[$0] }
        let (penaltyFreeRanks, rankPenalty) = tuneRAPS(summary: summary, labels: labels, keys: keys, uniforms: uniforms, inputs: tuningIndices)

        func table(_ function: ConformalScoreFunction) -> ScoreTable {
            ScoreTable(summary: summary, labels: labels, uniforms: uniforms, function: function)
        }
        let tables: [ConformalScore: ScoreTable] = Dictionary(uniqueKeysWithValues: ConformalScore.allCases.map {
            ($0, table(ConformalScoreFunction(score: $0, penaltyFreeRanks: penaltyFreeRanks, rankPenalty: rankPenalty)))
        })
        let outsideTuning = (0..<count).filter { !tuning[$0] }
        let calibration = ConformalCalibration(
            defaultScore: .lac, penaltyFreeRanks: penaltyFreeRanks, rankPenalty: rankPenalty,
            lac: tables[.lac]!.sortedLabelScores(acceptedIndices), aps: tables[.aps]!.sortedLabelScores(acceptedIndices),
            raps: tables[.raps]!.sortedLabelScores(outsideTuning.filter { accepted[$0] }))

        // Per (score, acceptedOnly, α): the sums over the halvings of coverage and mean set size, and the
        // halvings that could be measured. Each halving's split and each sorted calibration half are
        // made once, whatever the number of α.
        struct Sums { var coverage = 0.0, size = 0.0, halvings = 0 }
        var sums: [ConformalScore: [Bool: [Sums]]] = [:]
        for halving in 0..<comparisonHalvings {
            let side = outsideTuning.map { SampleKeys.mix(keys[$0], UInt64(2 + halving)) & 1 == 0 }
            let measured = zip(outsideTuning, side).filter { !$0.1 && accepted[$0.0] }.map(\.0)
            guard !measured.isEmpty else { continue }
            for acceptedOnly in [true, false] {
                let calibrating = zip(outsideTuning, side).filter { $0.1 && (!acceptedOnly || accepted[$0.0]) }.map(\.0)
                for score in ConformalScore.allCases {
                    let table = tables[score]!, sorted = table.sortedLabelScores(calibrating)
                    var row = sums[score]?[acceptedOnly] ?? [Sums](repeating: Sums(), count: comparedAlphas.count)
                    for (a, alpha) in comparedAlphas.enumerated() {
                        guard let quantile = try? ConformalQuantile.quantile(sortedScores: sorted, alpha: alpha) else { continue }
                        let result = table.coverageAndSize(measured, quantile: quantile)
                        row[a].coverage += result.coverage
                        row[a].size += result.meanSetSize
                        row[a].halvings += 1
                    }
                    sums[score, default: [:]][acceptedOnly] = row
                }
            }
        }
        var comparison: [ConformalComparison] = []
        for score in ConformalScore.allCases {
            for acceptedOnly in [true, false] {
                for (a, alpha) in comparedAlphas.enumerated() {
                    guard let total = sums[score]?[acceptedOnly]?[a], total.halvings > 0 else { continue }
                    let halvings = Double(total.halvings)
                    comparison.append(ConformalComparison(score: score, acceptedOnly: acceptedOnly, alpha: alpha,
                                                          coverage: total.coverage / halvings, meanSetSize: total.size / halvings))
                }
            }
        }
        var chosen = calibration
        chosen.defaultScore = defaultScore(comparison) ?? .lac
        return (chosen, comparison)
    }

    /// The score with the smallest summed mean set size among those valid at every compared α that every
    /// score could be measured at (a small validation split cannot take the smallest α's quantiles).
    static func defaultScore(_ comparison: [ConformalComparison]) -> ConformalScore? {
        let measured = comparedAlphas.filter { alpha in
            ConformalScore.allCases.allSatisfy { score in comparison.contains { $0.score == score && $0.acceptedOnly && $0.alpha == alpha } }
        }
        guard !measured.isEmpty else { return nil }
        var best: (score: ConformalScore, size: Double)?
        for score in ConformalScore.allCases {
            let rows = comparison.filter { $0.score == score && $0.acceptedOnly && measured.contains($0.alpha) }
            guard rows.allSatisfy({ $0.coverage >= 1 - $0.alpha - 0.005 }) else { continue }
            let size = rows.reduce(0) { $0 + $1.meanSetSize }
            if best.map({ size < $0.size }) ?? true { best = (score, size) }
        }
        return best?.score
    }

    /// RAPS's k_reg and λ on the tuning inputs `inputs` (Angelopoulos et al. 2021, section 4); k_reg 1 and
    /// λ 0.01 when there are too few of them to take the quantiles at `tuningAlpha`.
    static func tuneRAPS(summary: PredictiveSummary, labels: [Int], keys: [UInt64], uniforms: [Float], inputs: [Int])
        -> (penaltyFreeRanks: Int, rankPenalty: Float) {
        let classes = summary.classes
        // k_reg: the conformal quantile of the true label's rank (1 = most probable).
        var ranks: [Float] = inputs.map { index in
            let mean = summary.mean(index), label = mean[labels[index]]
            var rank = 1
            for c in 0..<classes where mean[c] > label || (mean[c] == label && c < labels[index]) { rank += 1 }
            return Float(rank)
        }
        ranks.sort()
        guard let rankQuantile = try? ConformalQuantile.quantile(sortedScores: ranks, alpha: tuningAlpha) else { return (1, 0.01) }
        let penaltyFreeRanks = Int(rankQuantile)
        let halves = inputs.map { SampleKeys.mix(keys[$0], 2) & 1 == 0 }
        let first = zip(inputs, halves).filter(\.1).map(\.0), second = zip(inputs, halves).filter { !$0.1 }.map(\.0)
        var best: (penalty: Float, size: Double)?
        for penalty in rankPenalties {
            let table = ScoreTable(summary: summary, labels: labels, uniforms: uniforms,
                                   function: ConformalScoreFunction(score: .raps, penaltyFreeRanks: penaltyFreeRanks, rankPenalty: penalty))
            var size = 0.0
            for (calibrating, measured) in [(first, second), (second, first)] {
                guard let quantile = try? ConformalQuantile.quantile(sortedScores: table.sortedLabelScores(calibrating), alpha: tuningAlpha),
                      !measured.isEmpty else { return (penaltyFreeRanks, 0.01) }
                size += table.coverageAndSize(measured, quantile: quantile).meanSetSize
            }
            if best.map({ size < $0.size }) ?? true { best = (penalty, size) }
        }
        return (penaltyFreeRanks, best?.penalty ?? 0.01)
    }
}

/// Every input's score for every class under one score function, `[count, classes]`, with the most
/// probable class of each: what the comparison's many quantiles are measured against without
/// recomputing a score.
struct ScoreTable {
    let classes: Int
    let labels: [Int]
    let scores: [Float]
    let best: [Int]

    init(summary: PredictiveSummary, labels: [Int], uniforms: [Float], function: ConformalScoreFunction) {
        classes = summary.classes
        self.labels = labels
        var scores = [Float](repeating: 0, count: summary.count * summary.classes)
        scores.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<summary.count {
                function.scores(summary.mean(i), classes: summary.classes, uniform: uniforms[i], into: buffer.baseAddress! + i * summary.classes)
            }
        }
        self.scores = scores
        best = (0..<summary.count).map { summary.forcedPrediction($0) }
    }

    /// The labels' scores of `inputs`, ascending.
    func sortedLabelScores(_ inputs: [Int]) -> [Float] {
        inputs.map { scores[$0 * classes + labels[$0]] }.sorted()
    }

    /// The share of `inputs` whose label is in its answer (`ConformalSets.classes`: the set plus the most
    /// probable class) and the answers' mean size, at `quantile`.
    func coverageAndSize(_ inputs: [Int], quantile: Float) -> (coverage: Double, meanSetSize: Double) {
        var covered = 0, size = 0
        scores.withUnsafeBufferPointer { buffer in
            for i in inputs {
                let row = buffer.baseAddress! + i * classes
                for c in 0..<classes where c == best[i] || row[c] <= quantile {
                    size += 1
                    if c == labels[i] { covered += 1 }
                }
            }
        }
        let n = Double(max(inputs.count, 1))
        return (Double(covered) / n, Double(size) / n)
    }
}
