import Foundation

/// Element-wise transcendental functions over buffers (placeholder: scalar Foundation calls).
public enum VectorMath {
    /// `destination[i] = log(1 + exp(source[i]))`, computed without overflow.
    public static func softplus(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = source[i]
            destination[i] = x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x))
        }
    }

    /// `destination[i] = 1 / (1 + exp(-source[i]))`.
    public static func sigmoid(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = 1 / (1 + Foundation.exp(-source[i])) }
    }

    /// `destination[i] = exp(source[i])`.
    public static func exp(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = Foundation.exp(source[i]) }
    }

    /// `destination[i] = log(source[i])`.
    public static func log(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = Foundation.log(source[i]) }
    }
}
