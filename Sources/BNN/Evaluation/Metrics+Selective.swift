/// The outcome of a classifier that may refuse: how much it refused and how well it did on the rest.
public struct SelectiveResult: Sendable, Equatable, Codable {
    /// The number of examples.
    public let count: Int
    /// The number of refused examples.
    public let refusedCount: Int
    /// The number of accepted examples whose prediction is correct.
    public let acceptedCorrect: Int

    /// The share of examples refused, refused / N (NaN when N = 0).
    public var refusedShare: Double { count > 0 ? Double(refusedCount) / Double(count) : .nan }
    /// The share accepted (the coverage), 1 − `refusedShare`.
    public var coverage: Double { count > 0 ? Double(count - refusedCount) / Double(count) : .nan }
    /// Accuracy on the accepted examples, correct-and-accepted / accepted; `nil` when nothing was
    /// accepted (there is no accuracy to report, and `nil` encodes as JSON null where NaN cannot).
    public var acceptedAccuracy: Double? {
        let accepted = count - refusedCount
        return accepted > 0 ? Double(acceptedCorrect) / Double(accepted) : nil
    }
}

/// One point of a risk–coverage curve.
public struct RiskCoveragePoint: Sendable, Equatable, Codable {
    /// Examples with score ≤ `threshold` are accepted.
    public let threshold: Float
    /// The share of examples accepted.
    public let coverage: Double
    /// The error rate among the accepted examples.
    public let risk: Double
}

extension Metrics {
    /// Selective-classification counts from per-example correctness and refusal flags.
    public static func selective(correct: [Bool], refused: [Bool]) -> SelectiveResult {
        precondition(correct.count == refused.count, "\(correct.count) correctness flags for \(refused.count) refusal flags")
        var refusedCount = 0, acceptedCorrect = 0
        for (isCorrect, isRefused) in zip(correct, refused) {
            if isRefused { refusedCount += 1 } else if isCorrect { acceptedCorrect += 1 }
        }
        return SelectiveResult(count: correct.count, refusedCount: refusedCount, acceptedCorrect: acceptedCorrect)
    }

    /// The risk–coverage curve (El-Yaniv & Wiener 2010; Geifman & El-Yaniv 2017) of the rule
    /// "accept when score ≤ t", for every distinct score t in ascending order:
    ///
    ///     coverage(t) = #{i : sᵢ ≤ t} / N,    risk(t) = #{i : sᵢ ≤ t, wrong} / #{i : sᵢ ≤ t}
    ///
    /// Examples with equal scores are accepted together (no threshold separates them), so the curve
    /// has one point per distinct score and ends at coverage 1. NaN scores count as +∞. Empty input
    /// gives an empty curve.
    public static func riskCoverage(scores: [Float], correct: [Bool]) -> [RiskCoveragePoint] {
        precondition(scores.count == correct.count, "\(scores.count) scores for \(correct.count) correctness flags")
        let keyed = scores.map { $0.isNaN ? Float.infinity : $0 }
        let order = keyed.indices.sorted { keyed[$0] < keyed[$1] }
        var points: [RiskCoveragePoint] = []
        var errors = 0
        for (position, index) in order.enumerated() {
            if !correct[index] { errors += 1 }
            let accepted = position + 1
            if accepted == order.count || keyed[order[accepted]] != keyed[index] {
                points.append(RiskCoveragePoint(
                    threshold: keyed[index], coverage: Double(accepted) / Double(order.count),
                    risk: Double(errors) / Double(accepted)))
            }
        }
        return points
    }

    /// The threshold t such that the share `coverage` of the given (in-distribution) `scores` is
    /// ≤ t, used to calibrate "refuse when score > t" on a validation split:
    ///
    ///     t = s₍k₎, the k-th smallest score, k = ⌈coverage · n⌉ (1-based)
    ///
    /// i.e. the smallest observed score that accepts at least `coverage` of the scores (the "inverted
    /// CDF" quantile, numpy's `method="inverted_cdf"`). With ties at t the accepted share can exceed
    /// `coverage`. Coverage 0 gives −∞ (refuse everything). NaN scores count as +∞. `nil` for no scores.
    public static func threshold(forCoverage coverage: Double, scores: [Float]) -> Float? {
        precondition(coverage >= 0 && coverage <= 1, "coverage must be in 0…1, got \(coverage)")
        guard !scores.isEmpty else { return nil }
        let sorted = sortedScores(scores)
        // A tiny slack so that 0.975 × 40 = 39 is not pushed to 40 by rounding.
        let rank = min(sorted.count, Int((coverage * Double(sorted.count) - 1e-9).rounded(.up)))
        return rank <= 0 ? -.infinity : sorted[rank - 1]
    }
}

extension Metrics {
    /// Area under the risk–coverage curve (Geifman, Uziel & El-Yaniv 2019) of "accept when score ≤ t":
    /// the risk integrated over coverage as a step function of `riskCoverage`'s points,
    ///
    ///     AURC = Σⱼ (coverageⱼ − coverageⱼ₋₁) · riskⱼ,   coverage₀ = 0,
    ///
    /// which without ties is (1/N) Σₖ risk(k), the mean error rate of the k most confident examples over
    /// k = 1…N. Lower is better. NaN for no examples.
    public static func areaUnderRiskCoverage(scores: [Float], correct: [Bool]) -> Double {
        let points = riskCoverage(scores: scores, correct: correct)
        guard !points.isEmpty else { return .nan }
        var area = 0.0, previous = 0.0
        for point in points {
            area += (point.coverage - previous) * point.risk
            previous = point.coverage
        }
        return area
    }

    /// The AURC of a perfect ranking (every correct example before every wrong one) for these
    /// correctness flags: (1/N) Σ_{k = c+1}^{N} (k − c)/k with c correct examples. NaN for no examples.
    public static func optimalAreaUnderRiskCoverage(correct: [Bool]) -> Double {
        guard !correct.isEmpty else { return .nan }
        let count = correct.count, right = correct.filter { $0 }.count
        var area = 0.0
        for k in stride(from: right + 1, through: count, by: 1) { area += Double(k - right) / Double(k) }
        return area / Double(count)
    }

    /// Excess AURC: AURC minus that of a perfect ranking of the same predictions, so that it measures
    /// the ranking alone (0 = the score orders every mistake after every correct answer).
    public static func excessAreaUnderRiskCoverage(scores: [Float], correct: [Bool]) -> Double {
        areaUnderRiskCoverage(scores: scores, correct: correct) - optimalAreaUnderRiskCoverage(correct: correct)
    }

    /// The accuracy when accepting the most confident share `coverage` of the examples: 1 − risk at the
    /// first point of the risk–coverage curve whose coverage reaches `coverage` (ties at the boundary are
    /// accepted together, so the accepted share can be a little larger). NaN for no examples.
    public static func accuracy(atCoverage coverage: Double, scores: [Float], correct: [Bool]) -> Double {
        precondition(coverage > 0 && coverage <= 1, "coverage must be in (0, 1], got \(coverage)")
        let points = riskCoverage(scores: scores, correct: correct)
        // A tiny slack so that 0.95 × 20 = 19 counts as reaching 95%.
        guard let point = points.first(where: { $0.coverage >= coverage - 1e-12 }) else { return .nan }
        return 1 - point.risk
    }
}
