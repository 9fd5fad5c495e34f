import Foundation

/// The non-conformity score of split conformal prediction: how unusual label y is for input x under the
/// model's Monte Carlo mean predictive probabilities p̄ = E_w p(·|x, w) (higher = conforms less).
///
/// Split conformal prediction (Vovk et al. 2005; Lei et al. 2018) sorts the scores s₁ ≤ … ≤ sₙ of n
/// labelled calibration examples and answers the set C(x) = {y : s(x, y) ≤ q̂} with q̂ = s₍ₖ₎,
/// k = ⌈(n + 1)(1 − α)⌉. When the calibration examples and the test example are exchangeable,
/// P(y ∈ C(x)) ≥ 1 − α, and, when the scores have no ties, ≤ 1 − α + 1/(n + 1).
public enum ConformalScore: String, Codable, Sendable, CaseIterable {
    /// Least ambiguous set-valued classifier (LAC; Sadinle, Lei & Wasserman 2019): s(x, y) = 1 − p̄(y).
    /// Gives the smallest sets on average when p̄ is well calibrated, but the same threshold for easy and
    /// hard inputs.
    case lac
    /// Adaptive prediction sets (APS; Romano, Sesia & Candès 2020, eq. 5), randomised: with the classes
    /// sorted by p̄ (π₁ ≥ π₂ ≥ …, ties by class index) and y at rank r, s(x, y, u) = π₁ + … + π_{r−1} + u·π_r
    /// for u uniform on [0, 1]. Sets grow with the input's ambiguity.
    case aps
    /// Regularised APS (RAPS; Angelopoulos, Bates, Malik & Jordan 2021, eq. 4): the APS score plus
    /// λ·max(0, r − k_reg), which discourages the long tails of tiny probabilities from entering the set.
    case raps
}

/// A conformal score with its settings: s(x, y, u) for every class y of one input.
public struct ConformalScoreFunction: Sendable, Equatable {
    public var score: ConformalScore
    /// RAPS's k_reg: the ranks 1…k_reg carry no penalty.
    public var penaltyFreeRanks: Int
    /// RAPS's λ: the penalty per rank beyond k_reg.
    public var rankPenalty: Float

    public init(score: ConformalScore, penaltyFreeRanks: Int = 0, rankPenalty: Float = 0) {
        self.score = score
        self.penaltyFreeRanks = penaltyFreeRanks
        self.rankPenalty = rankPenalty
    }

    /// Whether the score reads the input's uniform u (APS and RAPS are randomised, LAC is not).
    public var isRandomized: Bool { score != .lac }

    /// Writes s(x, c, u) for every class c of the probability vector `probabilities` (`classes` values).
    /// The cumulative sums run in rank order, the same for calibration and prediction, so a label's score
    /// is bit for bit the score its class gets when the set is built.
    public func scores(_ probabilities: UnsafePointer<Float>, classes: Int, uniform: Float, into scores: UnsafeMutablePointer<Float>) {
        switch score {
        case .lac:
            for c in 0..<classes { scores[c] = 1 - probabilities[c] }
        case .aps, .raps:
            let penalty: Float = score == .raps ? rankPenalty : 0
            withUnsafeTemporaryAllocation(of: Int.self, capacity: classes) { order in
                Self.rankOrder(probabilities, classes: classes, into: order.baseAddress!)
                var above: Float = 0
                for rank in 0..<classes {
                    let c = order[rank]
                    scores[c] = above + uniform * probabilities[c] + penalty * Float(max(0, rank + 1 - penaltyFreeRanks))
                    above += probabilities[c]
                }
            }
        }
    }

    /// The score of label `label` alone.
    public func score(_ probabilities: UnsafePointer<Float>, classes: Int, label: Int, uniform: Float) -> Float {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: classes) { all in
            scores(probabilities, classes: classes, uniform: uniform, into: all.baseAddress!)
            return all[label]
        }
    }

    /// The conformal set {c : s(x, c, u) ≤ quantile}, most probable first (possibly empty).
    public func set(_ probabilities: UnsafePointer<Float>, classes: Int, uniform: Float, quantile: Float) -> [Int] {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: classes) { all in
            scores(probabilities, classes: classes, uniform: uniform, into: all.baseAddress!)
            return withUnsafeTemporaryAllocation(of: Int.self, capacity: classes) { order in
                Self.rankOrder(probabilities, classes: classes, into: order.baseAddress!)
                return order.filter { all[$0] <= quantile }
            }
        }
    }

    /// The classes by decreasing probability, ties by increasing class index (insertion sort: K is small).
    static func rankOrder(_ probabilities: UnsafePointer<Float>, classes: Int, into order: UnsafeMutablePointer<Int>) {
        for c in 0..<classes {
            var position = c
            while position > 0 && probabilities[order[position - 1]] < probabilities[c] {
                order[position] = order[position - 1]
                position -= 1
            }
            order[position] = c
        }
    }

    /// The uniform u ∈ [0, 1) of an input from its key (the top 24 bits, exactly representable).
    public static func uniform(_ key: UInt64) -> Float { Float(key >> 40) * 0x1p-24 }
}

/// The finite-sample conformal quantile.
public enum ConformalQuantile {
    /// k = ⌈(n + 1)(1 − α)⌉, the rank of q̂ among n sorted calibration scores (Lei et al. 2018, Lemma 2;
    /// Angelopoulos & Bates 2021, eq. 1). Throws when α is not in (0, 1) or when k > n, i.e.
    /// α < 1/(n + 1): no finite set then has the guarantee.
    public static func rank(count n: Int, alpha: Double) throws -> Int {
        guard alpha.isFinite, alpha > 0, alpha < 1 else {
            throw ConformalError(description: "α is \(alpha); it must be between 0 and 1 (exclusive)")
        }
        // A relative slack of 10⁻¹² so that (n + 1)(1 − α) = 99 computed as 99.000000000000014 stays 99.
        let exact = Double(n + 1) * (1 - alpha)
        let k = Int((exact * (1 - 1e-12)).rounded(.up))
        guard k <= n else {
            let needed = Int((1 / alpha).rounded(.up)) - 1
            throw ConformalError(description: "α = \(alpha) needs at least \(needed) calibration examples (α ≥ 1/(n + 1)); "
                                 + "the calibration has \(n), so the smallest α it supports is \(Self.smallestAlpha(count: n).map { String(format: "%.4g", $0) } ?? "none")")
        }
        return max(k, 1)
    }

    /// q̂: the k-th smallest of `sortedScores` (ascending), k = `rank(count:alpha:)`.
    public static func quantile(sortedScores: [Float], alpha: Double) throws -> Float {
        sortedScores[try rank(count: sortedScores.count, alpha: alpha) - 1]
    }

    /// 1/(n + 1): the smallest α with a finite quantile for n calibration scores (nil for none).
    public static func smallestAlpha(count n: Int) -> Double? { n > 0 ? 1 / Double(n + 1) : nil }
}

/// A conformal set that cannot be built as asked.
public struct ConformalError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The conformal sets of the `conformal` decision rule: the score function, α, and the quantile q̂ of the
/// calibration scores.
public struct ConformalSets: Sendable, Equatable {
    public var function: ConformalScoreFunction
    public var alpha: Double
    public var quantile: Float
    /// n, the calibration examples q̂ was taken from.
    public var calibrationCount: Int

    public init(function: ConformalScoreFunction, alpha: Double, quantile: Float, calibrationCount: Int) {
        self.function = function
        self.alpha = alpha
        self.quantile = quantile
        self.calibrationCount = calibrationCount
    }

    /// The sets for `alpha` from a model's stored calibration scores (`score` nil: the calibration's default).
    public init(calibration: ConformalCalibration, alpha: Double, score: ConformalScore? = nil) throws {
        let chosen = score ?? calibration.defaultScore
        let sorted = calibration.sortedScores(chosen)
        self.init(function: calibration.function(chosen), alpha: alpha,
                  quantile: try ConformalQuantile.quantile(sortedScores: sorted, alpha: alpha), calibrationCount: sorted.count)
    }

    /// The answer for an accepted input: the conformal set, with the most probable class added when the
    /// set lacks it (only ever enlarging the set, so coverage keeps its guarantee; an accepted input
    /// always gets an answer). Most probable first.
    public func classes(_ probabilities: UnsafePointer<Float>, classes: Int, uniform: Float) -> [Int] {
        var set = function.set(probabilities, classes: classes, uniform: uniform, quantile: quantile)
        let best = DecisionRule.argmax(probabilities, classes)
        if !set.contains(best) { set.insert(best, at: 0) }
        return set
    }
}
