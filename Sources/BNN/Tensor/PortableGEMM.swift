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
/// panels into a reusable per-thread buffer. With `ComputeSettings.matrixPrecision` at `.bfloat16` on a
/// machine with AMX, the products run in bfloat16 on AMX tiles instead (`MatrixPrecision`).
public enum PortableGEMM {
    /// Problems below this many multiply-adds run on the calling thread: dispatch would cost more.
    static let parallelThreshold = 1 << 18

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major; see the type's documentation.
    public static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, precision: MatrixPrecision = ComputeSettings.matrixPrecision
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "PortableGEMM: negative size m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        let kernel = precision.effective == .bfloat16 ? bnn_sgemm_bf16 : bnn_sgemm
        forEachBlock(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                     c: c, ldc: ldc, precision: precision) { part in
            kernel(transposeA ? 1 : 0, transposeB ? 1 : 0, part.m, part.n, k, alpha, part.a, lda, part.b, ldb, beta, part.c, ldc)
        }
    }

    /// Runs `multiply` on all of C on the calling thread when one thread is set or the product is small,
    /// else on blocks of C split over the threads in whole micro-tiles of `precision`'s kernel (so that no
    /// tile straddles two threads), each block with the matching parts of A and B.
    static func forEachBlock(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        precision: MatrixPrecision, _ multiply: @Sendable (MatrixMultiply.Part) -> Void
    ) {
        if ComputeSettings.threads == 1 || m * n * max(k, 1) < parallelThreshold {
            multiply(MatrixMultiply.Part(m: m, n: n, a: a, b: b, c: c))
            return
        }
        var tileRows: Int32 = 0
        var tileColumns: Int32 = 0
        if precision.effective == .bfloat16 {
            bnn_sgemm_bf16_micro_tile(&tileRows, &tileColumns)
        } else {
            bnn_sgemm_micro_tile(&tileRows, &tileColumns)
        }
        // Every tile-sized piece is worth a thread (the threshold above already kept small problems here).
        MatrixMultiply.splitAcrossThreads(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
            pieceRows: Int(tileRows), pieceColumns: Int(tileColumns), minimumPieces: 1, multiply)
    }

    /// The instruction set the kernels run with on this machine: "avx512", "avx2" or "plain".
    public static var instructionSet: String { String(cString: bnn_kernels_isa_name()) }
}
