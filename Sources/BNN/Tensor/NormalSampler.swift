import CBNNKernels

/// Bulk Normal draws from a counter-based generator: a pure function of `key` and the element index.
///
/// Element `i` comes from Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
/// as 1, 2, 3", SC 2011) applied to counter `16·⌊i/64⌋ + i mod 16` under the 64-bit `key`; two of its four
/// 32-bit words give `u1 ∈ (0, 1]` and an angle `θ = 2π·u2`, and the Box–Muller transform (Box & Muller,
/// 1958) gives `z = √(−2 ln u1)·cos θ` (or `sin θ` for the partner word pair). The result is
/// `mean + standardDeviation · z`.
///
/// Because no state is carried from one element to the next, `fill` can be split over any number of
/// threads and chunks without changing a single value, and `fill(count: 1000)` equals the first 1000
/// values of `fill(count: 5000)` with the same key. The logarithm, square root and sine/cosine are
/// vectorised polynomials (relative error ≲ 1e-6); `u1` is never 0, so every draw is finite, with
/// `|z| ≤ 6.7`. Across instruction sets (AVX-512, AVX2, plain) the stream is the same up to the last
/// bit or so of rounding, since only FMA contraction differs.
public enum NormalSampler {
    /// Below this many draws the fill runs on the calling thread.
    static let parallelThreshold = 1 << 16

    /// Writes `count` draws of `Normal(mean, standardDeviation²)` for `key` to `destination`.
    ///
    /// `destination[i] = mean + standardDeviation · z_key(i)` for `0 ≤ i < count`.
    public static func fill(
        _ destination: UnsafeMutablePointer<Float>, count: Int, key: UInt64, mean: Float = 0, standardDeviation: Float = 1
    ) {
        precondition(count >= 0, "NormalSampler.fill: negative count \(count)")
        fill(destination, start: 0, count: count, key: key, mean: mean, standardDeviation: standardDeviation)
    }

    /// Elements `start ..< start + count` of the stream of `key`, written to `destination[0 ..< count]`.
    public static func fill(
        _ destination: UnsafeMutablePointer<Float>, start: Int, count: Int, key: UInt64,
        mean: Float = 0, standardDeviation: Float = 1
    ) {
        precondition(count >= 0 && start >= 0, "NormalSampler.fill: bad range start=\(start) count=\(count)")
        if count == 0 { return }
        if count < parallelThreshold || ComputeSettings.threads == 1 {
            bnn_normal_fill(destination, start, count, key, mean, standardDeviation)
            return
        }
        // Chunks of whole 64-element groups, so that no group is generated twice.
        let groups = (count + 63) / 64
        let shared = SendablePointer(destination)
        Parallel.forChunks(of: groups) { range in
            let first = range.lowerBound * 64
            let last = min(count, range.upperBound * 64)
            bnn_normal_fill(shared.pointer + first, start + first, last - first, key, mean, standardDeviation)
        }
    }
}
