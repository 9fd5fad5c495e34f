import Testing
@testable import BNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The vectorised functions against libm evaluated in Double (then rounded), over wide ranges and specials.
@Suite struct VectorMathTests {
    typealias Kernel = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    static func run(_ kernel: Kernel, _ input: [Float], inPlace: Bool = false) -> [Float] {
        if inPlace {
            var buffer = input
            buffer.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, $0.baseAddress!, $0.count) }
            return buffer
        }
        var output = [Float](repeating: -7, count: input.count)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { kernel(source.baseAddress!, $0.baseAddress!, source.count) }
        }
        return output
    }

    /// Evenly spaced points in [low, high], an odd count so the vector tail path runs too.
    static func grid(_ low: Float, _ high: Float, count: Int = 20_001) -> [Float] {
        (0..<count).map { low + (high - low) * Float($0) / Float(count - 1) }
    }

    /// Largest error in units of `relative·|want| + absolute` (≤ 1 passes); NaN must match NaN.
    static func worst(_ got: [Float], _ want: [Double], relative: Double = 2e-6, absolute: Double = 1e-7)
        -> (Double, Int)
    {
        var worst = 0.0, at = -1
        for i in got.indices {
            let g = Double(got[i]), w = want[i]
            if w.isNaN || g.isNaN {
                if !(w.isNaN && g.isNaN) { return (.infinity, i) }
                continue
            }
            if w.isInfinite || g.isInfinite {
                if g != w { return (.infinity, i) }
                continue
            }
            let error = abs(g - w) / (relative * abs(w) + absolute)
            if error > worst { (worst, at) = (error, i) }
        }
        return (worst, at)
    }

    static func softplusReference(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }
    static func sigmoidReference(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    static let specials: [Float] = [0, -0.0, 1, -1, 1e-30, -1e-30, .leastNonzeroMagnitude, 1e-7, -1e-7,
                                    100, -100, 200, -200, 88.7, 88.8, -87.3, -103, -104, -110, 1e30, -1e30,
                                    .infinity, -.infinity, .nan, .greatestFiniteMagnitude]

    @Test func expMatchesLibm() {
        let input = Self.grid(-110, 89) + Self.grid(-2, 2) + Self.specials
        let got = Self.run(VectorMath.exp, input)
        // Subnormal results carry fewer bits: allow half their spacing on top of the relative bound.
        let (error, index) = Self.worst(got, input.map { Double(Float(exp(Double($0)))) },
                                        absolute: Double(Float.leastNonzeroMagnitude))
        #expect(error <= 1, "worst at x=\(index >= 0 ? input[index] : 0): \(error)")
        let specials = Self.run(VectorMath.exp, [-200, 100, .nan, -.infinity, .infinity, 0])
        #expect(specials[0] == 0 && specials[1] == .infinity && specials[2].isNaN)
        #expect(specials[3] == 0 && specials[4] == .infinity && specials[5] == 1)
    }

    @Test func logMatchesLibm() {
        let positive = (0..<20_001).map { Float(pow(10.0, -44 + 82 * Double($0) / 20_000)) }
        let input = positive + Self.grid(0.5, 2) + Self.specials
        let got = Self.run(VectorMath.log, input)
        let (error, index) = Self.worst(got, input.map { Double(Float(log(Double($0)))) })
        #expect(error <= 1, "worst at x=\(index >= 0 ? input[index] : 0): \(error)")
        let specials = Self.run(VectorMath.log, [0, -1, .infinity, .nan, 1])
        #expect(specials[0] == -.infinity && specials[1].isNaN && specials[2] == .infinity)
        #expect(specials[3].isNaN && specials[4] == 0)
    }

    @Test func log1pMatchesLibm() {
        let tiny = (0..<5001).map { Float(pow(10.0, -30 + 30 * Double($0) / 5000)) }
        let input = tiny + tiny.map { -$0 / 2 } + Self.grid(-0.999, 100) + [-1, -2, .nan, .infinity]
        let got = Self.run(VectorMath.log1p, input)
        let (error, index) = Self.worst(got, input.map { Double(Float(log1p(Double($0)))) }, absolute: 1e-30)
        #expect(error <= 1, "worst at x=\(index >= 0 ? input[index] : 0): \(error)")
    }

    @Test func softplusMatchesLibmAndNeverOverflows() {
        let input = Self.grid(-100, 100) + Self.grid(-3, 3) + Self.specials
        let got = Self.run(VectorMath.softplus, input)
        let (error, index) = Self.worst(got, input.map { Double(Float(Self.softplusReference(Double($0)))) },
                                        absolute: 1e-38)
        #expect(error <= 1, "worst at x=\(index >= 0 ? input[index] : 0): \(error)")
        let specials = Self.run(VectorMath.softplus, [100, -100, 1e30, -1e30, .nan])
        #expect(specials[0] == 100 && specials[1] > 0 && Double(specials[1]) < 1e-43)
        #expect(specials[2] == 1e30 && specials[3] == 0 && specials[4].isNaN)
    }

    @Test func sigmoidMatchesLibmAndIsStable() {
        let input = Self.grid(-100, 100) + Self.grid(-3, 3) + Self.specials
        let got = Self.run(VectorMath.sigmoid, input)
        let (error, index) = Self.worst(got, input.map { Double(Float(Self.sigmoidReference(Double($0)))) },
                                        absolute: 1e-38)
        #expect(error <= 1, "worst at x=\(index >= 0 ? input[index] : 0): \(error)")
        let specials = Self.run(VectorMath.sigmoid, [100, -100, 0, .infinity, -.infinity, .nan])
        #expect(specials[0] == 1 && specials[1] > 0 && Double(specials[1]) < 1e-43 && specials[2] == 0.5)
        #expect(specials[3] == 1 && specials[4] == 0 && specials[5].isNaN)
    }

    @Test func inPlaceEqualsOutOfPlace() {
        let input = Self.grid(-20, 20, count: 1001)
        let positive = input.map { abs($0) + 0.01 }
        #expect(Self.run(VectorMath.exp, input, inPlace: true) == Self.run(VectorMath.exp, input))
        #expect(Self.run(VectorMath.log, positive, inPlace: true) == Self.run(VectorMath.log, positive))
        #expect(Self.run(VectorMath.softplus, input, inPlace: true) == Self.run(VectorMath.softplus, input))
        #expect(Self.run(VectorMath.sigmoid, input, inPlace: true) == Self.run(VectorMath.sigmoid, input))
    }

    @Test func largeBuffersSplitOverThreadsGiveTheSameValues() {
        let saved = ComputeSettings.threads
        defer { ComputeSettings.threads = saved }
        let input = Self.grid(-30, 30, count: 200_003)
        ComputeSettings.threads = 1
        let one = Self.run(VectorMath.softplus, input)
        ComputeSettings.threads = 2
        #expect(Self.run(VectorMath.softplus, input) == one)
    }
}
