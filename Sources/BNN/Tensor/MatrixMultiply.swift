#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Single-precision matrix multiply, `C = alpha · op(A) · op(B) + beta · C`, row-major.
///
/// Three implementations stand behind one entry point:
/// - `blas`: `cblas_sgemm` from a BLAS library found at run time with `dlopen` (OpenBLAS's
///   `libopenblas.so.0` on Linux, Accelerate on macOS). Nothing links against it, so the package builds
///   and runs where no BLAS is installed.
/// - `portable`: the pure-Swift driver over the SIMD kernels of `CBNNKernels` (see `PortableGEMM`).
/// - `reference`: a plain triple loop, the oracle for tests.
///
/// `op(A)` is `m × k` (A stored `k × m` when `transposeA`), `op(B)` is `k × n`, `C` is `m × n`.
public enum MatrixMultiply {
    /// A matrix-multiply implementation.
    public enum Path: String, Sendable, CaseIterable {
        case blas, portable, reference
    }

    nonisolated(unsafe) private static var _preferred: Path? = nil

    /// The path used by `gemm` when none is named: BLAS when it was found with kernels for this CPU
    /// (`BLASLibrary.hasVectorKernels`), else `portable`. Setting it (for benchmarks and tests) overrides
    /// the choice; `nil` restores the default.
    public static var preferredPath: Path {
        get { _preferred ?? (BLASLibrary.shared?.hasVectorKernels == true ? .blas : .portable) }
        set { _preferred = newValue }
    }

    /// The path for a multiply when the caller names none: `preferredPath`, except that with BLAS as the
    /// default, products with all of m, n and k at least 64 go to the portable kernels. Those match or
    /// beat OpenBLAS on large products (Xᵀ·G, which OpenBLAS also clears with a separate β pass) and run
    /// on the same threads as the element-wise passes of a training step; OpenBLAS keeps the narrow
    /// products (a 10-class layer, the first convolution's 32 filters), where its small-matrix kernels are
    /// faster (docs/performance.md has the measurements). A fixed rule, not timing at run time, so that
    /// results never depend on the machine's load.
    static func automaticPath(m: Int, n: Int, k: Int) -> Path {
        guard _preferred == nil, BLASLibrary.shared?.hasVectorKernels == true else { return preferredPath }
        return m >= 64 && n >= 64 && k >= 64 ? .portable : .blas
    }

    /// The path for products whose rows must come out the same whatever the other rows (prediction: an
    /// input's answer must not depend on the batch it shares). The portable kernels sum every element of C
    /// in the same order for any m and n and any split over threads; BLAS libraries pick their kernels
    /// by shape. `preferredPath`, when set, still wins (tests and benchmarks compare paths with it).
    public static var rowStablePath: Path { _preferred ?? .portable }

    /// The paths available on this machine.
    public static var availablePaths: [Path] {
        BLASLibrary.shared != nil ? [.blas, .portable, .reference] : [.portable, .reference]
    }

    /// A human-readable name of the BLAS library found, e.g. "openblas 0.3.21 (SkylakeX)", or nil.
    public static var blasDescription: String? { BLASLibrary.shared?.description }

    /// What multiplies matrices by default, for logs: e.g. "openblas 0.3.21 (SkylakeX) and the portable
    /// kernels (avx512)", or "the portable kernels (avx512); openblas 0.3.21 (Prescott) not used: no vector
    /// kernels for this CPU".
    public static var engineDescription: String {
        let bfloat16 = ComputeSettings.matrixPrecision.effective == .bfloat16
        let portable = "the portable kernels (\(PortableGEMM.instructionSet)\(bfloat16 ? ", bf16 on AMX" : ""))"
        guard let blas = BLASLibrary.shared else { return portable }
        if _preferred != nil { return preferredPath == .blas ? blas.description : portable }
        return blas.hasVectorKernels ? "\(blas.description) and \(portable)"
            : "\(portable); \(blas.description) not used: no vector kernels for this CPU"
    }

    /// `C = alpha · op(A) · op(B) + beta · C` (row-major), on `path` or the preferred path.
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        path: Path? = nil
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, transposeA ? m : k), "gemm: lda=\(lda) too small")
        precondition(ldb >= max(1, transposeB ? k : n), "gemm: ldb=\(ldb) too small")
        precondition(ldc >= max(1, n), "gemm: ldc=\(ldc) too small")
        if m == 0 || n == 0 { return }
        switch path ?? automaticPath(m: m, n: n, k: k) {
        case .blas:
            if let blas = BLASLibrary.shared {
                splitAcrossThreads(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                   a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc) { part in
                    blas.sgemm(transposeA: transposeA, transposeB: transposeB, m: part.m, n: part.n, k: k, alpha: alpha,
                               a: part.a, lda: lda, b: part.b, ldb: ldb, beta: beta, c: part.c, ldc: ldc)
                }
            } else {
                PortableGEMM.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                      alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            }
        case .portable:
            PortableGEMM.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                  alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .reference:
            referenceGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                          alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// One block of C and the parts of A and B it reads.
    struct Part {
        var m: Int, n: Int
        var a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>
        /// Where the block starts in C.
        var firstRow = 0, firstColumn = 0
    }

    /// Runs a single-threaded multiply on each of `ComputeSettings.threads` blocks of C, on the threads of
    /// `Parallel` (the same threads as every other parallel loop): columns when C is at least as wide as
    /// it is tall, else rows, in whole pieces of `pieceColumns` columns or `pieceRows` rows (the portable
    /// kernels pass their micro-tile, so that no tile straddles two threads). Both GEMM paths split work
    /// here. BLAS itself runs single-threaded: its own worker threads spin (`sched_yield`) for a while
    /// after each call and took CPU from the element-wise passes between multiplies (docs/performance.md).
    ///
    /// - Parameter minimumPieces: the fewest pieces worth a thread of their own; by default, the pieces
    ///   that make about 2 MFLOP, below which a second thread costs more than it saves.
    static func splitAcrossThreads(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        pieceRows: Int = 16, pieceColumns: Int = 16, minimumPieces: Int? = nil, threads: Int? = nil,
        _ multiply: @Sendable (Part) -> Void
    ) {
        let byColumns = n >= m
        let step = byColumns ? pieceColumns : pieceRows
        let pieces = ((byColumns ? n : m) + step - 1) / step
        let minimumPieces = minimumPieces ?? max(1, (1 << 20) / max(1, step * k * (byColumns ? m : n)))
        let shared = SendableOperands(a: a, b: b, c: c)
        Parallel.forChunks(of: pieces, minimumChunk: minimumPieces, threads: threads) { range in
            let first = range.lowerBound * step
            if byColumns {
                let last = min(n, range.upperBound * step)
                multiply(Part(m: m, n: last - first, a: shared.a, b: transposeB ? shared.b + first * ldb : shared.b + first,
                              c: shared.c + first, firstColumn: first))
            } else {
                let last = min(m, range.upperBound * step)
                multiply(Part(m: last - first, n: n, a: transposeA ? shared.a + first : shared.a + first * lda, b: shared.b,
                              c: shared.c + first * ldc, firstRow: first))
            }
        }
    }

    /// The naive triple loop (accumulating in Double), kept as the oracle that fast paths are tested against.
    public static func referenceGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                let old = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * Float(sum) + old
            }
        }
    }
}

/// The operands of one multiply, shared by the threads that split it (each writes its own block of C).
struct SendableOperands: @unchecked Sendable {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>
}

/// `cblas_sgemm` and friends, loaded with `dlopen` so that BLAS is optional at run time.
final class BLASLibrary: @unchecked Sendable {
    typealias SgemmFunction = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float,
        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void
    typealias GetConfigFunction = @convention(c) () -> UnsafePointer<CChar>?

    let handle: UnsafeMutableRawPointer
    let sgemmFunction: SgemmFunction
    let setThreadsFunction: SetThreadsFunction?
    let description: String
    /// False when OpenBLAS runs the SSE-only kernels of an old core (e.g. "Prescott", what OpenBLAS 0.3.21
    /// falls back to on CPUs newer than it knows, such as some virtual machines): those are several times
    /// slower than the portable kernels even on narrow products, so nothing is sent to them by default.
    let hasVectorKernels: Bool

    /// OpenBLAS core names whose kernels use no AVX (lower-cased).
    static let coresWithoutVectorKernels: Set<String> = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "opteron", "opteron_sse3", "barcelona",
        "bobcat", "katmai", "coppermine", "northwood", "banias", "athlon", "generic",
    ]

    /// The BLAS found on this machine, or nil. `BNN_BLAS=none` disables it; `BNN_BLAS=/path/lib.so`
    /// names a library to try first.
    static let shared: BLASLibrary? = {
        let environment = getenv("BNN_BLAS").map { String(cString: $0) }
        if environment == "none" { return nil }
        var candidates: [String] = []
        if let environment, !environment.isEmpty { candidates.append(environment) }
        #if os(macOS)
        candidates.append("/System/Library/Frameworks/Accelerate.framework/Accelerate")
        #else
        candidates += ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libblis.so.4", "libcblas.so.3", "libblas.so.3"]
        #endif
        for name in candidates {
            if let library = BLASLibrary(path: name) {
                // Single-threaded: `MatrixMultiply.splitAcrossThreads` spreads the work over the cores.
                library.setThreads(1)
                return library
            }
        }
        return nil
    }()

    private init?(path: String) {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { return nil }
        guard let symbol = dlsym(handle, "cblas_sgemm") else {
            dlclose(handle)
            return nil
        }
        self.handle = handle
        self.sgemmFunction = unsafeBitCast(symbol, to: SgemmFunction.self)
        self.setThreadsFunction = dlsym(handle, "openblas_set_num_threads").map {
            unsafeBitCast($0, to: SetThreadsFunction.self)
        }
        var name = path
        var core: String? = nil
        if let configSymbol = dlsym(handle, "openblas_get_config") {
            // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH … Cooperlake MAX_THREADS=64" → "openblas 0.3.21 (Cooperlake)"
            let config = unsafeBitCast(configSymbol, to: GetConfigFunction.self)
            let words = config().map { String(cString: $0) }?.split(separator: " ") ?? []
            name = "openblas" + (words.count > 1 ? " \(words[1])" : "")
            if let coreSymbol = dlsym(handle, "openblas_get_corename"),
               let coreName = unsafeBitCast(coreSymbol, to: GetConfigFunction.self)() {
                core = String(cString: coreName)
                name += " (\(core!))"
            }
        } else if path.contains("Accelerate") {
            name = "accelerate"
        }
        self.description = name
        self.hasVectorKernels = core.map { !Self.coresWithoutVectorKernels.contains($0.lowercased()) } ?? true
    }

    func setThreads(_ count: Int) {
        setThreadsFunction?(Int32(count))
    }

    // CBLAS constants: row-major 101, no-transpose 111, transpose 112.
    func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemmFunction(101, transposeA ? 112 : 111, transposeB ? 112 : 111,
                      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
