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

    /// `destination[i] = a[i] · b[i]` (masks, sign flips).
    @inlinable
    public static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                                count: Int) {
        for i in 0..<count { destination[i] = a[i] * b[i] }
    }

    /// `values[i] *= factors[i]`.
    @inlinable
    public static func scale(_ values: UnsafeMutablePointer<Float>, by factors: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { values[i] *= factors[i] }
    }

    /// `destination[i] = max(source[i], 0)`.
    @inlinable
    public static func relu(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = max(source[i], 0) }
    }

    /// `destination[i] = gradient[i]` where `output[i] > 0`, else 0: the ReLU's backward pass, given its
    /// output. Written with explicit 16-lane vectors (the compiler left the scalar select unvectorised).
    @inlinable
    public static func reluGradient(output: UnsafePointer<Float>, gradient: UnsafePointer<Float>,
                                    into destination: UnsafeMutablePointer<Float>, count: Int) {
        typealias Vector = SIMD16<Float>
        let lanes = Vector.scalarCount
        var i = 0
        while i + lanes <= count {
            let y = UnsafeRawPointer(output + i).loadUnaligned(as: Vector.self)
            let g = UnsafeRawPointer(gradient + i).loadUnaligned(as: Vector.self)
            UnsafeMutableRawPointer(destination + i).storeBytes(of: g.replacing(with: 0, where: y .<= 0), as: Vector.self)
            i += lanes
        }
        while i < count {
            destination[i] = output[i] > 0 ? gradient[i] : 0
            i += 1
        }
    }

    /// `destination[i] = mean[i] + std[i] · noise[i]`.
    @inlinable
    public static func affineNoise(mean: UnsafePointer<Float>, std: UnsafePointer<Float>, noise: UnsafePointer<Float>,
                                   into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = mean[i] + std[i] * noise[i] }
    }
}
