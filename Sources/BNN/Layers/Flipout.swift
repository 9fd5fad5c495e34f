/// The pieces of the flipout estimator (Wen, Vicol, Ba, Tran & Grosse 2018, "Flipout: Efficient
/// Pseudo-Independent Weight Perturbations on Mini-Batches") shared by `BayesianDense` and `BayesianConv2D`.
///
/// One weight perturbation ΔW = σ ⊙ ε is drawn per minibatch; example n sees it multiplied by the rank-one
/// sign matrix r_n s_nᵀ, i.e. the weights W_n = μ + ΔW ⊙ (r_n s_nᵀ), so that
///
///     y_n = x_n·μ + ((x_n ⊙ s_n)·ΔW) ⊙ r_n
///
/// with independent random signs s_n (one per input) and r_n (one per output). Since ε is symmetric, each
/// W_n has exactly the posterior's distribution, and the examples' perturbations are nearly independent,
/// so the gradient's variance falls with the batch size as it does for independent weight samples
/// (paper, §3.1–3.2), at the cost of one more matrix multiply than a shared weight sample.
enum Flipout {
    /// Writes `count` independent random signs ±1, one bit of `generator`'s stream each.
    static func fillSigns(_ destination: UnsafeMutablePointer<Float>, count: Int, generator: inout RandomGenerator) {
        var start = 0
        while start < count {
            let bits = generator.next()
            let line = destination + start
            for j in 0..<min(64, count - start) {
                // 1.0's bit pattern with the sign bit set from bit j: exact ±1, no branch.
                line[j] = Float(bitPattern: 0x3F80_0000 | (UInt32(truncatingIfNeeded: bits >> UInt64(j)) & 1) << 31)
            }
            start += 64
        }
    }
}
