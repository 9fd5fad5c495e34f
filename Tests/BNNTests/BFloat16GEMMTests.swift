import CBNNKernels
import Testing
@testable import BNN

/// The bfloat16 products on AMX (`bnn_sgemm_bf16`, `bnn_sgemm_convolution_bf16`, `MatrixPrecision`).
///
/// Where the machine has AMX-BF16 they must equal an exact model of the arithmetic — both factors rounded
/// to bfloat16 to nearest even, products summed in fp32 — within fp32 summation error, so a wrong tile
/// layout, pairing or rounding mode fails. Elsewhere they must be the fp32 kernels themselves, bit for bit.
@Suite struct BFloat16GEMMTests {
    typealias Case = PortableGEMMTests.Case

    static func bfloat16(_ x: Float) -> Float { MatrixPrecision.roundedToBFloat16(x) }

    @Test func roundingModelIsNearestEven() {
        #expect(Self.bfloat16(1) == 1)
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even neighbour, 1.
        #expect(Self.bfloat16(1 + 0x1p-8) == 1)
        #expect(Self.bfloat16(1 + 0x1p-7 + 0x1p-8) == 1 + 0x1p-6)
        #expect(Self.bfloat16(1 + 0x1p-8 + 0x1p-20) == 1 + 0x1p-7)
        #expect(Self.bfloat16(-3.3) == -3.296875)
        #expect(Self.bfloat16(.infinity) == .infinity)
    }

    /// Runs the bf16 kernel and two references on the same inputs: `exact`, the bf16 arithmetic model
    /// (rounded factors, Double sums), and fp32's. Returns the largest error against the model over the fp32
    /// summation bound (≤ 1 passes), the largest error against fp32 over MatrixPrecision's documented bound
    /// (2⁻⁷ + 2⁻¹⁶)·Σ|a·b| (≤ 1 passes), and whether padding columns of C were left alone.
    static func check(_ t: Case, nanC: Bool = false) -> (model: Float, documented: Float, paddingKept: Bool, c: [Float]) {
        let (m, n, k) = (t.m, t.n, t.k)
        let lda = max(1, (t.transposeA ? m : k) + t.padding), ldb = max(1, (t.transposeB ? k : n) + t.padding)
        let ldc = max(1, n + t.padding)
        let a = PortableGEMMTests.values(lda * (t.transposeA ? k : m) + 1, seed: 11)
        let b = PortableGEMMTests.values(ldb * (t.transposeB ? n : k) + 1, seed: 12)
        let start = nanC ? [Float](repeating: .nan, count: ldc * m + 1) : PortableGEMMTests.values(ldc * m + 1, seed: 13)
        var c = start
        poisonPackingBuffers()
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    bnn_sgemm_bf16(t.transposeA ? 1 : 0, t.transposeB ? 1 : 0, m, n, k, t.alpha, a.baseAddress!, lda,
                                   b.baseAddress!, ldb, t.beta, c.baseAddress!, ldc)
                }
            }
        }
        let rounded = MatrixPrecision.bfloat16IsAvailable && k >= 16  // shallower products stay in fp32
        var model: Float = 0, documented: Float = 0, paddingKept = true
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0, fp32 = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let x = a[t.transposeA ? p * lda + i : i * lda + p], y = b[t.transposeB ? j * ldb + p : p * ldb + j]
                    let (rx, ry) = rounded ? (bfloat16(x), bfloat16(y)) : (x, y)
                    exact += Double(rx) * Double(ry)
                    fp32 += Double(x) * Double(y)
                    magnitude += abs(Double(x) * Double(y))
                }
                let old = t.beta == 0 ? 0 : Double(t.beta) * Double(start[i * ldc + j])
                let got = Double(c[i * ldc + j])
                if got.isNaN { return (.infinity, .infinity, paddingKept, c) }
                let summation = Double(max(k, 1)) * 4 * Double(Float.ulpOfOne) * max(magnitude, 1) + 1e-6
                model = max(model, Float(abs(got - (Double(t.alpha) * exact + old)) / summation))
                let allowed = Double(t.alpha) * ((0x1p-7 + 0x1p-16) * magnitude) + summation
                documented = max(documented, Float(abs(got - (Double(t.alpha) * fp32 + old)) / allowed))
            }
            for j in n..<ldc where !nanC && c[i * ldc + j] != start[i * ldc + j] { paddingKept = false }
        }
        return (model, documented, paddingKept, c)
    }

    /// Leaves NaN in this thread's packing buffers (a product of NaNs larger than any checked one), so a
    /// packer that leaves padding unwritten — zeros past k, past n — shows up as NaN in C.
    static func poisonPackingBuffers() {
        let (m, n, k) = (256, 600, 1000)
        let nan = [Float](repeating: .nan, count: max(m, n) * k)
        var c = [Float](repeating: 0, count: m * n)
        bnn_sgemm_bf16(0, 0, m, n, k, 1, nan, k, nan, n, 0, &c, n)
        bnn_sgemm_bf16(1, 1, m, n, k, 1, nan, m, nan, k, 0, &c, n)
    }

    static var cases: [Case] {
        var all: [Case] = []
        // Tails of every kind: below, at and past one 32 × 32 block and one 32-deep k step; k odd (a half pair);
        // k below 16 (fp32) and at 16.
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (5, 3, 16), (32, 32, 32), (33, 31, 33), (70, 130, 65), (128, 10, 300), (40, 300, 800)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    all.append(Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB))
                    all.append(Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: 0.5, beta: 0.25, padding: 3))
                }
            }
        }
        // Deep enough (k = 2100) that op(B) is converted in several column blocks (96 columns each) and,
        // with 1,000 rows, op(A) in two row blocks.
        all.append(Case(m: 40, n: 150, k: 2100, transposeB: true, alpha: 0.5, beta: 0.25, padding: 1))
        all.append(Case(m: 40, n: 150, k: 2100, transposeA: true))
        all.append(Case(m: 1000, n: 20, k: 2100))
        return all
    }

    @Test(arguments: cases) func matchesTheBFloat16Model(_ t: Case) {
        let result = Self.check(t)
        #expect(result.model <= 1, "\(t): \(result.model)× the fp32 summation bound from the bf16 model")
        #expect(result.documented <= 1, "\(t): \(result.documented)× MatrixPrecision's bound from fp32")
        #expect(result.paddingKept, "\(t): wrote outside C's m × n block")
    }

    /// B packed once (`bnn_bf16_pack_rows`) gives `bnn_sgemm_bf16`'s products to the bit, and the steps of
    /// 32 values of k that are zero in all of a 32-row panel are skipped without changing any value: inputs
    /// with blank steps (some for all rows, some for one row only, one step lit by a single value) match the
    /// arithmetic model, and each row computed alone equals its row in the whole product. Without AMX both
    /// functions decline and leave their outputs alone.
    @Test(arguments: [(1, 20, 16), (33, 70, 100), (70, 1024, 784), (5, 33, 65)])
    func packedProductsMatchAndSkipOnlyZeroSteps(shape: (m: Int, n: Int, k: Int)) {
        let (m, n, k) = shape
        var a = PortableGEMMTests.values(m * k, seed: 21)
        let b = PortableGEMMTests.values(k * n, seed: 22)
        let lone = min(m - 1, 20)  // in the second half of the first panel when there is one
        for i in 0..<m {
            for p in 0..<k {
                let step = p / 32
                // Step 0 blank everywhere but for one value, odd steps blank in every other row.
                if step == 0 && !(i == lone && p == 7) || step % 2 == 1 && i % 2 == 0 { a[i * k + p] = 0 }
            }
        }
        var packed = [UInt16](repeating: 0xFFFF, count: max(1, bnn_bf16_packed_length(k, n)))
        var c = [Float](repeating: -1, count: m * n)
        let didPack = bnn_bf16_pack_rows(b, n, k, n, &packed) != 0
        let didMultiply = bnn_sgemm_bf16_packed(m, n, k, a, k, packed, &c, n) != 0
        guard MatrixPrecision.bfloat16IsAvailable else {
            #expect(!didPack && !didMultiply && c.allSatisfy { $0 == -1 })
            return
        }
        #expect(didPack && didMultiply)
        var direct = [Float](repeating: 0, count: m * n)
        bnn_sgemm_bf16(0, 0, m, n, k, 1, a, k, b, n, 0, &direct, n)
        #expect(c == direct, "packed B against bnn_sgemm_bf16")
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0, magnitude = 0.0
                for p in 0..<k {
                    exact += Double(Self.bfloat16(a[i * k + p])) * Double(Self.bfloat16(b[p * n + j]))
                    magnitude += abs(Double(a[i * k + p]) * Double(b[p * n + j]))
                }
                let summation = Double(k) * 4 * Double(Float.ulpOfOne) * max(magnitude, 1) + 1e-6
                worst = max(worst, abs(Double(c[i * n + j]) - exact) / summation)
            }
            var alone = [Float](repeating: 0, count: n)
            _ = bnn_sgemm_bf16_packed(1, n, k, Array(a[(i * k)..<((i + 1) * k)]), k, packed, &alone, n)
            #expect(alone == Array(c[(i * n)..<((i + 1) * n)]), "row \(i) alone")
        }
        #expect(worst <= 1, "against the bf16 model: \(worst)")
    }

    @Test func betaZeroIgnoresNaNInC() {
        for t in [Case(m: 37, n: 45, k: 19, padding: 2), Case(m: 50, n: 3, k: 9, transposeA: true, transposeB: true)] {
            #expect(Self.check(t, nanC: true).model <= 1, "\(t)")
        }
    }

    /// Each element sums over k in an order fixed by k: a row comes out the same in a product of one row
    /// and in one of 70, and any column range the same as in the whole product (how threads split C).
    @Test func rowsAndColumnsDoNotDependOnTheirNeighbours() {
        let (m, n, k) = (70, 97, 301)
        let a = PortableGEMMTests.values(m * k, seed: 21), b = PortableGEMMTests.values(k * n, seed: 22)
        var whole = [Float](repeating: 0, count: m * n)
        bnn_sgemm_bf16(0, 0, m, n, k, 1, a, k, b, n, 0, &whole, n)
        for row in [0, 33, 69] {
            var single = [Float](repeating: 0, count: n)
            a.withUnsafeBufferPointer { a in bnn_sgemm_bf16(0, 0, 1, n, k, 1, a.baseAddress! + row * k, k, b, n, 0, &single, n) }
            #expect(single == Array(whole[row * n..<(row + 1) * n]), "row \(row)")
        }
        var right = [Float](repeating: 0, count: m * n)
        b.withUnsafeBufferPointer { b in
            right.withUnsafeMutableBufferPointer { c in
                bnn_sgemm_bf16(0, 0, m, n - 40, k, 1, a, k, b.baseAddress! + 40, n, 0, c.baseAddress! + 40, n)
            }
        }
        for i in 0..<m { #expect(Array(right[i * n + 40..<(i + 1) * n]) == Array(whole[i * n + 40..<(i + 1) * n]), "row \(i)") }
    }

    // The convolution's products in bf16 are checked against the stored columns' in ImplicitIm2ColTests.

    /// `PortableGEMM.multiply(precision:)` routes `.bfloat16` to the bf16 kernel (split over threads in 32 × 32
    /// blocks) and `.float32` to the fp32 one, whatever `ComputeSettings.matrixPrecision` says.
    @Test func portableMultiplyHonoursItsPrecision() {
        let (m, n, k) = (96, 260, 200)
        let a = PortableGEMMTests.values(m * k, seed: 41), b = PortableGEMMTests.values(k * n, seed: 42)
        var direct = [Float](repeating: 0, count: m * n), fp32 = direct, bf16 = direct, routed = direct
        bnn_sgemm_bf16(0, 0, m, n, k, 1, a, k, b, n, 0, &direct, n)
        bnn_sgemm(0, 0, m, n, k, 1, a, k, b, n, 0, &fp32, n)
        routed.withUnsafeMutableBufferPointer { c in
            PortableGEMM.multiply(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                                  beta: 0, c: c.baseAddress!, ldc: n, precision: .float32)
        }
        #expect(routed == fp32)
        bf16.withUnsafeMutableBufferPointer { c in
            PortableGEMM.multiply(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                                  beta: 0, c: c.baseAddress!, ldc: n, precision: .bfloat16)
        }
        #expect(bf16 == direct)
        #expect((bf16 != fp32) == MatrixPrecision.bfloat16IsAvailable, "bf16 products differ from fp32 exactly where AMX runs them")
    }

    @Test func effectivePrecision() {
        #expect(MatrixPrecision.float32.effective == .float32)
        #expect(MatrixPrecision.bfloat16.effective == (MatrixPrecision.bfloat16IsAvailable ? .bfloat16 : .float32))
        #expect(MatrixPrecision(rawValue: "bf16") == .bfloat16 && MatrixPrecision(rawValue: "fp32") == .float32)
    }
}
