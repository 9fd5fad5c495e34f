/// The keys of one predictive call's random draws, derived from its seed: sample s always gets the same
/// keys, however many samples the call draws and in whatever order.
///
/// Each key is `SampleKeys.mix(seed, tag)` for a tag that names its use, so keys for different samples,
/// uses and groups are distinct inputs to a bijective 64-bit mixer.
struct SampleKeys: Sendable {
    let seed: UInt64

    /// The key of sample s's hidden-layer noise vector (fast path).
    func hidden(_ sample: Int) -> UInt64 { Self.mix(seed, UInt64(sample) &* 4) }
    /// The key of sample s's output-layer noise vector (fast path).
    func output(_ sample: Int) -> UInt64 { Self.mix(seed, UInt64(sample) &* 4 &+ 1) }
    /// The seed of sample s's network for the inputs of `group` (whole-network path).
    func network(_ sample: Int, group: UInt64) -> UInt64 {
        Self.mix(Self.mix(seed, UInt64(sample) &* 4 &+ 2), group)
    }
    /// The key of the uniform u that randomises an input's conformal set (APS, RAPS), from its identity:
    /// like its noise, u depends on what the input is and the seed, not on its place in a batch.
    func conformal(_ identity: UInt64) -> UInt64 { Self.mix(Self.mix(seed, 3), identity) }

    /// The seed of member k's samples in a mixture (`Predictive`'s ensemble path).
    func member(_ index: Int) -> UInt64 { Self.mix(seed, UInt64(index) &* 4 &+ 3) }

    /// SplitMix64's finaliser (Steele, Lea & Flood 2014) of `key + (tag + 1)·φ`: a bijection of the sum,
    /// so distinct tags under one key give distinct, well-mixed values.
    static func mix(_ key: UInt64, _ tag: UInt64) -> UInt64 {
        var z = key &+ (tag &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A 64-bit identity of an input: a hash of its values' bit patterns, so that its random draws can be
/// keyed by what the input is rather than by where it sits in a batch. Equal inputs get equal identities;
/// different inputs collide with probability about 2⁻⁶⁴.
public enum InputIdentity {
    /// The identity of the `count` values at `values`: FNV-1a over the 32-bit patterns, then SplitMix64's
    /// finaliser (FNV alone leaves the low bits, which pick the group, poorly mixed).
    public static func identity(of values: UnsafePointer<Float>, count: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<count {
            hash = (hash ^ UInt64(values[i].bitPattern)) &* 0x0000_0100_0000_01B3
        }
        return SampleKeys.mix(hash, UInt64(count))
    }

    /// The identity of every row of `images` (`[count, features]`).
    public static func identities(of images: Tensor) -> [UInt64] {
        let count = images.rows, features = images.count / max(count, 1)
        return (0..<count).map { identity(of: images.pointer + $0 * features, count: features) }
    }
}
