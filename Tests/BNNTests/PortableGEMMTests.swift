import CBNNKernels
import Foundation
import Testing
@testable import BNN

/// The packed SIMD GEMM (and BLAS, when present) against the double-accumulating reference loop.
@Suite struct PortableGEMMTests {
    struct Case: CustomStringConvertible, Sendable {
        var m: Int, n: Int, k: Int
        var transposeA = false, transposeB = false
        var alpha: Float = 1, beta: Float = 0
        var padding = 0  // extra columns in every leading dimension
        var description: String {
            "m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB) alpha=\(alpha) beta=\(beta) pad=\(padding)"
        }
    }

    static var cases: [Case] {
        var all: [Case] = []
        let shapes = [(1, 1, 1), (0, 4, 3), (4, 0, 3), (3, 4, 0), (3, 5, 7), (17, 33, 65), (129, 257, 31),
                      (128, 10, 70), (7, 200, 13), (40, 3, 300)]
        for (m, n, k) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    all.append(Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB))
                    all.append(Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                    alpha: 0.5, beta: 0.25, padding: 3))
                }
            }
        }
        return all
    }

    /// Fills with a fixed pseudo-random sequence in [−1, 1) (an LCG: independent of the code under test).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
    }

    /// Runs `path` and the reference on the same inputs; returns the largest error divided by the
    /// allowed `4·k·ε + 1e-6` (so ≤ 1 passes), or infinity on NaN or a write outside the m × n block.
    static func check(_ testCase: Case, path: MatrixMultiply.Path, nanC: Bool = false) -> Float {
        let (m, n, k) = (testCase.m, testCase.n, testCase.k)
        let lda = max(1, (testCase.transposeA ? m : k) + testCase.padding)
        let ldb = max(1, (testCase.transposeB ? k : n) + testCase.padding)
        let ldc = max(1, n + testCase.padding)
        let a = values(lda * (testCase.transposeA ? k : m) + 1, seed: 1)
        let b = values(ldb * (testCase.transposeB ? n : k) + 1, seed: 2)
        var c = nanC ? [Float](repeating: .nan, count: ldc * m + 1) : values(ldc * m + 1, seed: 3)
        var expected = c
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                expected.withUnsafeMutableBufferPointer { e in
                    MatrixMultiply.referenceGEMM(
                        transposeA: testCase.transposeA, transposeB: testCase.transposeB, m: m, n: n, k: k,
                        alpha: testCase.alpha, a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb,
                        beta: testCase.beta, c: e.baseAddress!, ldc: ldc)
                }
                c.withUnsafeMutableBufferPointer { c in
                    MatrixMultiply.gemm(
                        transposeA: testCase.transposeA, transposeB: testCase.transposeB, m: m, n: n, k: k,
                        alpha: testCase.alpha, a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb,
                        beta: testCase.beta, c: c.baseAddress!, ldc: ldc, path: path)
                }
            }
        }
        // Inputs are in [−1, 1), so every |product sum| ≤ k; float accumulation error grows ~ k·ε.
        let bound = Float(max(k, 1)) * 4 * Float.ulpOfOne + 1e-6
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                let got = c[i * ldc + j], want = expected[i * ldc + j]
                if got.isNaN || want.isNaN { return .infinity }
                worst = max(worst, abs(got - want) / bound)
            }
            // Padding columns of C must stay untouched.
            for j in n..<ldc where !nanC {
                if c[i * ldc + j] != expected[i * ldc + j] { return .infinity }
            }
        }
        return worst
    }

    @Test(arguments: cases) func portableMatchesReference(_ testCase: Case) {
        #expect(Self.check(testCase, path: .portable) <= 1, "\(testCase)")
    }

    @Test func betaZeroIgnoresNaNInC() {
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let testCase = Case(m: 37, n: 45, k: 19, transposeA: transposeA, transposeB: transposeB, padding: 2)
                #expect(Self.check(testCase, path: .portable, nanC: true) <= 1, "\(testCase)")
                let narrow = Case(m: 50, n: 3, k: 9, transposeA: transposeA, transposeB: transposeB)
                #expect(Self.check(narrow, path: .portable, nanC: true) <= 1, "\(narrow)")
            }
        }
    }

    @Test func sameResultOnOneAndTwoThreads() {
        let saved = ComputeSettings.threads
        defer { ComputeSettings.threads = saved }
        for threads in [1, 2] {
            ComputeSettings.threads = threads
            for testCase in [Case(m: 96, n: 200, k: 50), Case(m: 200, n: 40, k: 60, transposeA: true, beta: 0.5),
                             Case(m: 130, n: 129, k: 300, transposeB: true, alpha: 2, padding: 1)] {
                #expect(Self.check(testCase, path: .portable) <= 1, "threads=\(threads) \(testCase)")
            }
        }
    }

    /// `splitAcrossThreads` hands each thread a block of C with the matching parts of A and B: by columns
    /// (n ≥ m) or by rows, for every transpose and with padded leading dimensions. Each part is
    /// multiplied by the reference loop, so only the splitting is under test; the shapes are large
    /// enough to be split on two threads.
    @Test(arguments: [Case(m: 64, n: 700, k: 300, transposeB: true, padding: 3), Case(m: 64, n: 700, k: 300),
                      Case(m: 700, n: 48, k: 300, transposeA: true, padding: 2), Case(m: 700, n: 48, k: 300)])
    func splitAcrossThreadsCoversC(_ testCase: Case) {
        let (m, n, k, ta, tb) = (testCase.m, testCase.n, testCase.k, testCase.transposeA, testCase.transposeB)
        let lda = (ta ? m : k) + testCase.padding, ldb = (tb ? k : n) + testCase.padding, ldc = n + testCase.padding
        let a = Self.values(lda * (ta ? k : m), seed: 1), b = Self.values(ldb * (tb ? n : k), seed: 2)
        var whole = [Float](repeating: 0, count: ldc * m), split = whole
        let parts = Counter()
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                whole.withUnsafeMutableBufferPointer { c in
                    MatrixMultiply.referenceGEMM(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1, a: a.baseAddress!,
                                                 lda: lda, b: b.baseAddress!, ldb: ldb, beta: 0, c: c.baseAddress!, ldc: ldc)
                }
                split.withUnsafeMutableBufferPointer { c in
                    MatrixMultiply.splitAcrossThreads(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.baseAddress!, lda: lda,
                                                      b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: ldc, threads: 2) { part in
                        parts.increment()
                        MatrixMultiply.referenceGEMM(transposeA: ta, transposeB: tb, m: part.m, n: part.n, k: k, alpha: 1, a: part.a,
                                                     lda: lda, b: part.b, ldb: ldb, beta: 0, c: part.c, ldc: ldc)
                    }
                }
            }
        }
        #expect(parts.value == 2, "\(testCase) was not split over two threads")
        #expect(split == whole, "\(testCase)")
    }

    /// Which path `gemm` takes when none is named: OpenBLAS (when present with vector kernels for this
    /// CPU) for products with any of m, n, k under 64, the portable kernels for the others and for
    /// everything when OpenBLAS runs an SSE-only core; an explicit preference always wins.
    @Test func automaticPathRule() {
        #expect(MatrixMultiply.automaticPath(m: 128, n: 1024, k: 784) == .portable)
        #expect(MatrixMultiply.automaticPath(m: 784, n: 1024, k: 128) == .portable)
        let narrow = BLASLibrary.shared?.hasVectorKernels == true ? MatrixMultiply.Path.blas : .portable
        #expect(MatrixMultiply.automaticPath(m: 128, n: 10, k: 1024) == narrow)
        #expect(MatrixMultiply.automaticPath(m: 128, n: 1024, k: 10) == narrow)
        #expect(MatrixMultiply.automaticPath(m: 32, n: 25_088, k: 25) == narrow)
        #expect(MatrixMultiply.engineDescription.contains("portable kernels"))
        if let blas = BLASLibrary.shared {
            #expect(MatrixMultiply.engineDescription.contains(blas.description))
            #expect(blas.hasVectorKernels != blas.description.lowercased().contains("(prescott)"))
        }
        #expect(BLASLibrary.coresWithoutVectorKernels.contains("prescott") && !BLASLibrary.coresWithoutVectorKernels.contains("skylakex"))
    }

    /// AVX2's in-register 8 × 8 transposes pack a panel whose columns lie along k exactly as the columns
    /// read one value at a time: whole blocks of 8 and a tail, columns apart by more than their length.
    /// (It runs wherever the CPU has AVX2, also where the AVX-512 kernels are in use.)
    @Test(arguments: [1, 7, 8, 9, 16, 61])
    func transposingPackCopiesEveryColumn(kc: Int) {
        let stride = kc + 5
        let b = Self.values(16 * stride, seed: UInt64(kc))
        #expect(b.withUnsafeBufferPointer { bnn_transposing_pack_disagrees($0.baseAddress, stride, kc) } == 0)
    }

    @Test func blasMatchesReferenceWhenAvailable() {
        guard MatrixMultiply.availablePaths.contains(.blas) else { return }  // no BLAS: nothing to test
        for testCase in Self.cases where testCase.k > 0 || testCase.beta == 0 {
            #expect(Self.check(testCase, path: .blas) <= 1, "\(testCase)")
        }
    }
}

/// A thread-safe count of calls (the parts of a split multiply run concurrently).
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
