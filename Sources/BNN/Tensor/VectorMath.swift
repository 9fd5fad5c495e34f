import CBNNKernels

/// Element-wise transcendental functions over buffers, vectorised (AVX-512, AVX2 or plain SIMD chosen
/// at run time) with polynomial approximations instead of libm calls.
///
/// Accuracy: within about 2e-6 relative of the correctly rounded result (1e-7 absolute where results
/// cross 0), over the whole float range, including subnormal results. IEEE specials behave as in libm:
/// NaN propagates, `exp(-200) == 0`, `exp(100) == +∞`, `log(0) == -∞`, `log(-1)` is NaN.
/// `source` may equal `destination` (in place); otherwise the buffers must not overlap.
/// Large buffers are split over `ComputeSettings.threads`.
public enum VectorMath {
    /// Below this many elements the work runs on the calling thread.
    static let parallelThreshold = 1 << 16

    private static func apply(
        _ kernel: @Sendable (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void,
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        precondition(count >= 0, "VectorMath: negative count \(count)")
        if count < parallelThreshold || ComputeSettings.threads == 1 {
            kernel(source, destination, count)
            return
        }
        let input = SendablePointer(UnsafeMutablePointer(mutating: source))
        let output = SendablePointer(destination)
        // Chunks of whole cache lines, so that threads never write the same line.
        let blocks = (count + 15) / 16
        Parallel.forChunks(of: blocks) { range in
            let first = range.lowerBound * 16
            let last = min(count, range.upperBound * 16)
            kernel(input.pointer + first, output.pointer + first, last - first)
        }
    }

    /// `destination[i] = log(1 + exp(source[i]))`, computed as `max(x, 0) + log1p(exp(−|x|))` so it
    /// never overflows: `softplus(100) == 100`, `softplus(−100) ≈ 3.7e-44`.
    public static func softplus(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        apply({ bnn_vsoftplus($0, $1, $2) }, source, destination, count: count)
    }

    /// `destination[i] = 1 / (1 + exp(−source[i]))`, as `e / (1 + e)` with `e = exp(x)` for negative x,
    /// so that neither tail overflows or loses relative accuracy.
    public static func sigmoid(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        apply({ bnn_vsigmoid($0, $1, $2) }, source, destination, count: count)
    }

    /// `destination[i] = exp(source[i])` (Cody–Waite reduction `x = n·ln2 + r`, degree-7 polynomial, `2ⁿ`).
    public static func exp(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        apply({ bnn_vexp($0, $1, $2) }, source, destination, count: count)
    }

    /// `destination[i] = log(source[i])` (`x = 2ᵉ·m`, `log m = 2·atanh((m − 1)/(m + 1))` as a series).
    public static func log(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        apply({ bnn_vlog($0, $1, $2) }, source, destination, count: count)
    }

    /// `destination[i] = log(1 + source[i])`, accurate for tiny arguments (`log1p(1e-10) == 1e-10`).
    public static func log1p(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        apply({ bnn_vlog1p($0, $1, $2) }, source, destination, count: count)
    }
}
