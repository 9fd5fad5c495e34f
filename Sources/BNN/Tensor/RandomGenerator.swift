/// A seeded pseudo-random generator (xoshiro256**, Blackman & Vigna 2018).
///
/// Every random draw in swift-bnn flows from one seed through generators passed in explicitly;
/// there is no hidden global generator. Bulk Normal draws (`fillNormal`) take a fresh 64-bit key
/// from this generator and hand it to the counter-based `NormalSampler`, so the values depend only
/// on the seed and the order of calls, not on the number of threads.
public struct RandomGenerator: Sendable {
    @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The next 64 random bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    @usableFromInline @inline(__always)
    func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform draw from [0, 1) with 24 random bits.
    @inlinable
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift, unbiased for practical purposes).
    @inlinable
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0, "integer(below:) needs a positive bound, got \(bound)")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// One standard Normal draw (Box–Muller); use `fillNormal` for bulk draws.
    public mutating func normal() -> Float {
        var value: Float = 0
        fillNormal(&value, count: 1)
        return value
    }

    /// Fills `count` values with independent standard Normal draws, times `standardDeviation`, plus `mean`.
    public mutating func fillNormal(
        _ destination: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, standardDeviation: Float = 1
    ) {
        NormalSampler.fill(destination, count: count, key: next(), mean: mean, standardDeviation: standardDeviation)
    }

    /// Fills a tensor with Normal draws.
    public mutating func fillNormal(_ tensor: Tensor, mean: Float = 0, standardDeviation: Float = 1) {
        fillNormal(tensor.pointer, count: tensor.count, mean: mean, standardDeviation: standardDeviation)
    }

    /// Fills `count` values with uniform draws from [low, high).
    public mutating func fillUniform(_ destination: UnsafeMutablePointer<Float>, count: Int, low: Float = 0, high: Float = 1) {
        let scale = high - low
        for index in 0..<count { destination[index] = low + scale * uniform() }
    }

    /// Shuffles an array in place (Fisher–Yates).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for index in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(index, integer(below: index + 1))
        }
    }

    /// A new generator with a stream independent of this one (seeded from it).
    public mutating func split() -> RandomGenerator { RandomGenerator(seed: next()) }
}
