/// 8-bit grey levels `g` (0…255) read as the values `g / 255` in [0, 1]: how image files store pixels, and
/// how large sets of pixels are held in memory at a quarter of Float32's size (`LabeledImages`).
public enum GreyLevels {
    /// `g / 255` for every level `g`: exactly the Float32 value that dividing gives, as a table.
    public static let values: [Float] = (0...255).map { Float($0) / 255 }

    /// The nearest level to each of `count` values at `source` (values outside [0, 1] clamped, NaN → 0).
    /// Exact (the inverse of `values`) for values that are levels; any other moves by at most 1/510.
    public static func quantize(_ source: UnsafePointer<Float>, count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                let value = source[index] * 255
                buffer[index] = value.isNaN || value <= 0 ? 0 : value >= 255 ? 255 : UInt8(value.rounded())
            }
            initialized = count
        }
    }

    /// `levels[start ..< start + count]` as values `g / 255`, written to `destination`.
    public static func expand(_ levels: [UInt8], from start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(start >= 0 && count >= 0 && start + count <= levels.count,
                     "levels \(start)..<\(start + count) out of 0..<\(levels.count)")
        values.withUnsafeBufferPointer { table in
            levels.withUnsafeBufferPointer { source in
                guard let table = table.baseAddress, let source = source.baseAddress else { return }
                let first = source + start
                for index in 0..<count { destination[index] = table[Int(first[index])] }
            }
        }
    }
}
