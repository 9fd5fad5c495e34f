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
        let rows = logits.rows, classes = logits.columns
        precondition(gradient.count == logits.count, "gradient shape \(gradient.shape) ≠ logits shape \(logits.shape)")
        var loss = 0.0
        var correct = 0
        for r in 0..<rows {
            let z = logits.pointer + r * classes, g = gradient.pointer + r * classes
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
}
