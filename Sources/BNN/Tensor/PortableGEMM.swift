import CBNNKernels

/// Single-precision matrix multiply without BLAS: a thin Swift threading layer over the packed,
/// cache-blocked SIMD GEMM of `CBNNKernels`.
///
/// Computes `C = alpha · op(A) · op(B) + beta · C` in row-major storage, with `op(A)` of shape `m × k`
/// (A stored `k × m` when `transposeA`), `op(B)` of shape `k × n` and `C` of shape `m × n`. When
/// `beta == 0`, C is only written, so NaN or garbage in C does not leak into the result.
///
/// The kernel follows Goto & van de Geijn, "Anatomy of high-performance matrix multiplication"
/// (ACM TOMS 34(3), 2008): op(A) and op(B) are packed into cache-sized panels and an MR × NR
/// register-blocked micro-kernel (AVX-512 12 × 32, AVX2 6 × 16, or a plain 4 × 16 fallback, chosen at
/// run time) accumulates with fused multiply-adds. Work is split over `ComputeSettings.threads` by
/// columns of C (or rows, when C is taller than wide), in whole micro-tiles; every thread packs its own
/// panels into a reusable per-thread buffer.
public enum PortableGEMM {
    /// Problems below this many multiply-adds run on the calling thread: dispatch would cost more.
    static let parallelThreshold = 1 << 18

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major; see the type's documentation.
    public static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "PortableGEMM: negative size m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        let threads = ComputeSettings.threads
        if threads == 1 || m * n * max(k, 1) < parallelThreshold {
            bnn_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        var tileRows: Int32 = 0
        var tileColumns: Int32 = 0
        bnn_sgemm_micro_tile(&tileRows, &tileColumns)
        // Pointers cross into @Sendable closures; each chunk writes a disjoint block of C.
        let aShared = SendablePointer(UnsafeMutablePointer(mutating: a))
        let bShared = SendablePointer(UnsafeMutablePointer(mutating: b))
        let cShared = SendablePointer(c)
        if n >= m {
            // Split the columns of C (and of op(B)) in whole micro-tiles, so no tile straddles threads.
            let step = Int(tileColumns)
            let tiles = (n + step - 1) / step
            Parallel.forChunks(of: tiles) { range in
                let first = range.lowerBound * step
                let last = min(n, range.upperBound * step)
                let bBlock = transposeB ? bShared.pointer + first * ldb : bShared.pointer + first
                bnn_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, last - first, k, alpha,
                          aShared.pointer, lda, bBlock, ldb, beta, cShared.pointer + first, ldc)
            }
        } else {
            let step = Int(tileRows)
            let tiles = (m + step - 1) / step
            Parallel.forChunks(of: tiles) { range in
                let first = range.lowerBound * step
                let last = min(m, range.upperBound * step)
                let aBlock = transposeA ? aShared.pointer + first : aShared.pointer + first * lda
                bnn_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, last - first, n, k, alpha,
                          aBlock, lda, bShared.pointer, ldb, beta, cShared.pointer + first * ldc, ldc)
            }
        }
    }

    /// The instruction set the kernels run with on this machine: "avx512", "avx2" or "plain".
    public static var instructionSet: String { String(cString: bnn_kernels_isa_name()) }
}
