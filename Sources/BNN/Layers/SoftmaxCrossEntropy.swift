import Foundation

/// Softmax and the categorical negative log-likelihood of labels under it.
public enum SoftmaxCrossEntropy {
    /// Log-softmax of each row of a `rows × classes` matrix: `log p_c = z_c − log Σ_k e^{z_k}`,
    /// computed with the row maximum subtracted so that it never overflows.
    public static func logSoftmax(_ logits: UnsafePointer<Float>, into result: UnsafeMutablePointer<Float>, rows: Int, classes: Int) {
        for r in 0..<rows {
            let z = logits + r * classes, out = result + r * classes
            var maximum = -Float.infinity
            for c in 0..<classes { maximum = max(maximum, z[c]) }
            var sum: Float = 0
            for c in 0..<classes { sum += Foundation.exp(z[c] - maximum) }
            let logSum = maximum + Foundation.log(sum)
            for c in 0..<classes { out[c] = z[c] - logSum }
        }
    }

    /// The summed negative log-likelihood `−Σ_r log softmax(z_r)[y_r]`, the number of rows whose arg-max
    /// equals the label, and the gradient of `scale ·` that sum with respect to the logits,
    /// `scale · (softmax(z) − onehot(y))`, written into `gradient`.
    public static func lossAndGradient(
        logits: Tensor, labels: UnsafePointer<Int>, scale: Float, gradient: Tensor
    ) -> (loss: Double, correct: Int) {
        precondition(gradient.count == logits.count, "gradient shape \(gradient.shape) ≠ logits shape \(logits.shape)")
        return lossAndGradient(logits: logits.pointer, rows: logits.rows, classes: logits.columns, labels: labels, scale: scale,
                               gradient: gradient.pointer)
    }

    /// `lossAndGradient` for the first `rows` rows of a `classes`-column matrix.
    public static func lossAndGradient(
        logits: UnsafePointer<Float>, rows: Int, classes: Int, labels: UnsafePointer<Int>, scale: Float,
        gradient: UnsafeMutablePointer<Float>
    ) -> (loss: Double, correct: Int) {
        var loss = 0.0
        var correct = 0
        for r in 0..<rows {
            let z = logits + r * classes, g = gradient + r * classes
            var maximum = -Float.infinity
            var best = 0
            for c in 0..<classes where z[c] > maximum { maximum = z[c]; best = c }
            var sum: Float = 0
            for c in 0..<classes {
                let e = Foundation.exp(z[c] - maximum)
                g[c] = e
                sum += e
            }
            let label = labels[r]
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            loss += Double(maximum + Foundation.log(sum) - z[label])
            if best == label { correct += 1 }
            let inverse = scale / sum
            for c in 0..<classes { g[c] *= inverse }
            g[label] -= scale
        }
        return (loss, correct)
    }

    /// The summed cross-entropy of each row's softmax to the uniform distribution,
    /// `Σ_r (log Σ_k e^{z_rk} − (1/C) Σ_c z_rc)` (outlier exposure's target for non-digits), and the
    /// gradient of `scale ·` that sum, `scale · (softmax(z_r) − 1/C)`, written over `gradient`.
    public static func uniformTargetLossAndGradient(
        logits: UnsafePointer<Float>, rows: Int, classes: Int, scale: Float, gradient: UnsafeMutablePointer<Float>
    ) -> Double {
        var loss = 0.0
        let uniform = 1 / Float(classes)
        for r in 0..<rows {
            let z = logits + r * classes, g = gradient + r * classes
            var maximum = -Float.infinity
            var total: Float = 0
            for c in 0..<classes {
                maximum = max(maximum, z[c])
                total += z[c]
            }
            var sum: Float = 0
            for c in 0..<classes {
                let e = Foundation.exp(z[c] - maximum)
                g[c] = e
                sum += e
            }
            loss += Double(maximum + Foundation.log(sum) - total * uniform)
            let inverse = scale / sum
            for c in 0..<classes { g[c] = g[c] * inverse - scale * uniform }
        }
        return loss
    }
}
