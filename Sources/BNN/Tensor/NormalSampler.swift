import Foundation

/// Bulk standard-Normal draws from a counter-based generator (placeholder: scalar Box–Muller).
///
/// `fill(_:count:key:)` is a pure function of `key` and the element index, so it can be split over
/// threads without changing the values.
public enum NormalSampler {
    public static func fill(
        _ destination: UnsafeMutablePointer<Float>, count: Int, key: UInt64, mean: Float = 0, standardDeviation: Float = 1
    ) {
        var generator = RandomGenerator(seed: key)
        var index = 0
        while index < count {
            let u1 = max(Double(generator.next() >> 11) * 0x1.0p-53, 1e-300)
            let u2 = Double(generator.next() >> 11) * 0x1.0p-53
            let radius = (-2 * Foundation.log(u1)).squareRoot()
            destination[index] = mean + standardDeviation * Float(radius * Foundation.cos(2 * Double.pi * u2))
            if index + 1 < count {
                destination[index + 1] = mean + standardDeviation * Float(radius * Foundation.sin(2 * Double.pi * u2))
            }
            index += 2
        }
    }
}
