/// The pure-Swift matrix multiply used when no BLAS is installed (placeholder: reference loop).
public enum PortableGEMM {
    public static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        MatrixMultiply.referenceGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                     alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
