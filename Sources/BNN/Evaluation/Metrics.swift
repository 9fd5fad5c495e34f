#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Evaluation metrics for classifiers that may refuse to answer.
///
/// Conventions shared by every function:
/// - `probabilities` is a `[N, C]` tensor of predictive probabilities (for a Bayesian model, the mean
///   over samples p̄), `labels` holds N true classes in `0..<C`.
/// - The prediction is the arg-max of a row (the first of equal maxima); the confidence is that maximum.
/// - Uncertainty scores follow "higher = more likely out of distribution / to be refused".
/// - Metrics are `Double`. A metric over no examples is NaN (accuracy, NLL, Brier, ECE, AUROC) or `nil`
///   where the type says so; shape mismatches and out-of-range labels are programmer errors
///   (preconditions).
public enum Metrics {
    /// The share of predictions equal to the labels: (1/N) Σᵢ 1[ŷᵢ = yᵢ]. NaN when N = 0.
    public static func accuracy(predictions: [Int], labels: [Int]) -> Double {
        precondition(predictions.count == labels.count, "\(predictions.count) predictions for \(labels.count) labels")
        guard !labels.isEmpty else { return .nan }
        let correct = zip(predictions, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        return Double(correct) / Double(labels.count)
    }

    /// The accuracy of the arg-max of each row of `probabilities` (`[N, C]`).
    public static func accuracy(probabilities: Tensor, labels: [Int]) -> Double {
        let (_, classes) = checkShape(probabilities, labels)
        return accuracy(predictions: (0..<labels.count).map { argmax(probabilities.pointer + $0 * classes, classes) }, labels: labels)
    }

    /// Per-example correctness of the arg-max prediction: `correct[i] = (argmax pᵢ == yᵢ)`.
    public static func correctness(probabilities: Tensor, labels: [Int]) -> [Bool] {
        let (_, classes) = checkShape(probabilities, labels)
        return labels.indices.map { argmax(probabilities.pointer + $0 * classes, classes) == labels[$0] }
    }

    /// Mean negative log-likelihood of the true class, in nats:
    ///
    ///     NLL = −(1/N) Σᵢ ln max(pᵢ(yᵢ), 10⁻¹²)
    ///
    /// The clamp keeps a confidently wrong prediction finite (at most ln 10¹² ≈ 27.6 per example).
    /// NaN when N = 0.
    public static func negativeLogLikelihood(probabilities: Tensor, labels: [Int]) -> Double {
        let (count, classes) = checkShape(probabilities, labels)
        guard count > 0 else { return .nan }
        var total = 0.0
        for (i, label) in labels.enumerated() {
            total -= log(max(Double(probabilities.pointer[i * classes + label]), 1e-12))
        }
        return total / Double(count)
    }

    /// Multi-class Brier score (Brier 1950), summed over classes and averaged over examples:
    ///
    ///     BS = (1/N) Σᵢ Σ_c (pᵢ(c) − 1[c = yᵢ])²
    ///
    /// 0 for perfect one-hot predictions, 2 for confidently wrong ones. NaN when N = 0.
    public static func brierScore(probabilities: Tensor, labels: [Int]) -> Double {
        let (count, classes) = checkShape(probabilities, labels)
        guard count > 0 else { return .nan }
        var total = 0.0
        for (i, label) in labels.enumerated() {
            for c in 0..<classes {
                let difference = Double(probabilities.pointer[i * classes + c]) - (c == label ? 1 : 0)
                total += difference * difference
            }
        }
        return total / Double(count)
    }

    /// The index of the largest of `count` values (the first when several are equal; NaN is skipped).
    static func argmax(_ values: UnsafePointer<Float>, _ count: Int) -> Int {
        var best = 0
        for i in 1..<max(count, 1) where values[i] > values[best] || values[best].isNaN { best = i }
        return best
    }

    /// Checks that `probabilities` is `[N, C]` with N = `labels.count` and labels in `0..<C`.
    static func checkShape(_ probabilities: Tensor, _ labels: [Int]) -> (count: Int, classes: Int) {
        precondition(probabilities.shape.count == 2 && probabilities.shape[0] == labels.count,
                     "expected probabilities [\(labels.count), C], got \(probabilities.shape)")
        let classes = probabilities.shape[1]
        precondition(classes >= 1, "need at least one class, got \(probabilities.shape)")
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            preconditionFailure("label \(bad) is outside 0..<\(classes)")
        }
        return (labels.count, classes)
    }

    /// Scores in ascending order with NaN treated as +∞ (most uncertain), so sorting is well defined.
    static func sortedScores(_ scores: [Float]) -> [Float] {
        scores.map { $0.isNaN ? .infinity : $0 }.sorted()
    }
}
