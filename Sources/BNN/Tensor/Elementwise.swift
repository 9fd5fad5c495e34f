/// Small element-wise and reduction loops shared by the layers. Each works on raw pointers with simple
/// counted loops that the compiler vectorises; none allocates.
public enum Elementwise {
    /// `matrix[r, :] += row` for every row of a `rows × columns` matrix.
    @inlinable
    public static func addRow(_ row: UnsafePointer<Float>, to matrix: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let line = matrix + r * columns
            for c in 0..<columns { line[c] += row[c] }
        }
    }

    /// `result[c] = Σ_r matrix[r, c]` (overwrites `result`).
    @inlinable
    public static func sumRows(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into result: UnsafeMutablePointer<Float>) {
        result.update(repeating: 0, count: columns)
        for r in 0..<rows {
            let line = matrix + r * columns
            for c in 0..<columns { result[c] += line[c] }
        }
    }

    /// `destination[i] = source[i]²`.
    @inlinable
    public static func square(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = source[i] * source[i] }
    }

    /// `destination[i] = max(source[i], 0)`.
    @inlinable
    public static func relu(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = max(source[i], 0) }
    }

    /// `destination[i] = mean[i] + std[i] · noise[i]`.
    @inlinable
    public static func affineNoise(mean: UnsafePointer<Float>, std: UnsafePointer<Float>, noise: UnsafePointer<Float>,
                                   into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = mean[i] + std[i] * noise[i] }
    }
}
