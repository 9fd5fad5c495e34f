extension Metrics {
    /// Area under the ROC curve for telling out-of-distribution inputs (positives) from
    /// in-distribution ones (negatives) by a score where higher means "more likely OOD".
    ///
    /// Computed exactly as the Mann–Whitney statistic, with ties counted one half:
    ///
    ///     AUROC = (1 / (n·m)) Σᵢ Σⱼ [1(oodⱼ > inᵢ) + ½ · 1(oodⱼ = inᵢ)]
    ///
    /// in O((n + m) log n) by sorting the in-distribution scores and locating each OOD score with
    /// binary search. 1 separates perfectly, 0.5 is chance (and the value when all scores tie), 0 is
    /// perfectly reversed. NaN scores count as +∞. NaN when either set is empty.
    public static func auroc(inDistribution: [Float], outOfDistribution: [Float]) -> Double {
        guard !inDistribution.isEmpty, !outOfDistribution.isEmpty else { return .nan }
        let negatives = sortedScores(inDistribution)
        var total = 0.0
        for raw in outOfDistribution {
            let score = raw.isNaN ? Float.infinity : raw
            let below = lowerBound(negatives, score)      // in-distribution scores < score
            let belowOrEqual = upperBound(negatives, score) // in-distribution scores ≤ score
            total += Double(below) + 0.5 * Double(belowOrEqual - below)
        }
        return total / (Double(negatives.count) * Double(outOfDistribution.count))
    }

    /// The false-positive rate at a true-positive rate of at least `truePositiveRate` (95% by
    /// default), detecting OOD inputs (positives) by "score ≥ t":
    ///
    ///     t* = the largest threshold with TPR(t) = #{oodⱼ ≥ t} / m ≥ rate
    ///        = the k-th largest OOD score, k = ⌈rate · m⌉
    ///     FPR = #{inᵢ ≥ t*} / n
    ///
    /// This is the FPR at the first point of the ROC curve whose TPR reaches the rate (scikit-learn's
    /// `roc_curve` without interpolation). Lower is better. NaN scores count as +∞. NaN when either
    /// set is empty.
    public static func falsePositiveRate(
        atTruePositiveRate rate: Double = 0.95, inDistribution: [Float], outOfDistribution: [Float]
    ) -> Double {
        precondition(rate > 0 && rate <= 1, "true-positive rate must be in (0, 1], got \(rate)")
        guard !inDistribution.isEmpty, !outOfDistribution.isEmpty else { return .nan }
        let positives = sortedScores(outOfDistribution)
        // A tiny slack so that a rate like 0.95 × 20 = 19 is not pushed to 20 by rounding.
        let needed = min(positives.count, max(1, Int((rate * Double(positives.count) - 1e-9).rounded(.up))))
        let threshold = positives[positives.count - needed]
        let negatives = sortedScores(inDistribution)
        let falsePositives = negatives.count - lowerBound(negatives, threshold)
        return Double(falsePositives) / Double(negatives.count)
    }

    /// The number of elements of ascending `values` that are < `value`.
    static func lowerBound(_ values: [Float], _ value: Float) -> Int {
        var (low, high) = (0, values.count)
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The number of elements of ascending `values` that are ≤ `value`.
    static func upperBound(_ values: [Float], _ value: Float) -> Int {
        var (low, high) = (0, values.count)
        while low < high {
            let middle = (low + high) / 2
            if values[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension Metrics {
    /// Area under the precision–recall curve for detecting out-of-distribution inputs (positives) by
    /// "score ≥ t", as average precision over the distinct thresholds t₁ > t₂ > … (ties form one step):
    ///
    ///     AUPR = Σₖ (Rₖ − Rₖ₋₁) · Pₖ,   Rₖ = #{oodⱼ ≥ tₖ} / m,   Pₖ = #{oodⱼ ≥ tₖ} / #{all scores ≥ tₖ}
    ///
    /// with R₀ = 0 (scikit-learn's `average_precision_score`). 1 is perfect; a score that says nothing
    /// gives the share of positives, m / (n + m). NaN scores count as +∞. NaN when either set is empty.
    public static func aupr(inDistribution: [Float], outOfDistribution: [Float]) -> Double {
        guard !inDistribution.isEmpty, !outOfDistribution.isEmpty else { return .nan }
        let keyed = (outOfDistribution.map { ($0.isNaN ? Float.infinity : $0, true) }
                     + inDistribution.map { ($0.isNaN ? Float.infinity : $0, false) })
            .sorted { $0.0 > $1.0 }
        let positives = Double(outOfDistribution.count)
        var truePositives = 0, seen = 0, total = 0.0, previousRecall = 0.0
        for (position, (score, isPositive)) in keyed.enumerated() {
            seen += 1
            if isPositive { truePositives += 1 }
            // One step per distinct score: only at the last of a run of equal scores.
            guard position + 1 == keyed.count || keyed[position + 1].0 != score else { continue }
            let recall = Double(truePositives) / positives
            total += (recall - previousRecall) * Double(truePositives) / Double(seen)
            previousRecall = recall
        }
        return total
    }
}
