import CBNNKernels
import Testing
@testable import BNN

@Suite struct NormalSamplerTests {
    static func draws(_ count: Int, key: UInt64, mean: Float = 0, standardDeviation: Float = 1) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            NormalSampler.fill(buffer.baseAddress!, count: count, key: key, mean: mean,
                               standardDeviation: standardDeviation)
            initialized = count
        }
    }

    /// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
    @Test func philoxKnownAnswers() {
        let vectors: [([UInt32], [UInt32], [UInt32])] = [
            ([0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
            ([.max, .max, .max, .max], [.max, .max], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
            ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0],
             [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]),
        ]
        for (counter, key, expected) in vectors {
            var output = [UInt32](repeating: 0, count: 4)
            bnn_philox4x32_10(counter, key, &output)
            #expect(output == expected)
        }
    }

    /// The vector path uses the same Philox words as the scalar reference (checks the layout).
    @Test func vectorStreamMatchesScalarBoxMuller() {
        let key: UInt64 = 0x1234_5678_9abc_def0
        // 600 draws: groups of 64 taken four at a time (indices 0–511), then one at a time, then a part.
        let values = Self.draws(600, key: key)
        for index in [0, 1, 15, 16, 17, 31, 32, 47, 48, 63, 64, 130, 199, 255, 256, 300, 447, 511, 512, 575, 576, 599] {
            let group = index / 64, word = (index % 64) / 16, lane = index % 16
            let counter = UInt64(group * 16 + lane)
            var output = [UInt32](repeating: 0, count: 4)
            bnn_philox4x32_10([UInt32(truncatingIfNeeded: counter), UInt32(counter >> 32), 0, 0],
                              [UInt32(truncatingIfNeeded: key), UInt32(key >> 32)], &output)
            let pair = word / 2
            let u1 = (Double(output[2 * pair] >> 1) + 0.5) * 0x1p-31
            let angle = 2 * Double.pi * Double(output[2 * pair + 1] >> 8) * 0x1p-24
            let radius = (-2 * _log(u1)).squareRoot()
            let expected = word % 2 == 0 ? radius * _cos(angle) : radius * _sin(angle)
            #expect(abs(Double(values[index]) - expected) <= 2e-6 * max(1, abs(expected)), "index \(index)")
        }
    }

    @Test func momentsOfAMillionDraws() {
        let count = 1_000_000
        let values = Self.draws(count, key: 42)
        var sum = 0.0, sum2 = 0.0, sum3 = 0.0, sum4 = 0.0
        var beyondThree = 0
        for value in values {
            #expect(value.isFinite)
            let x = Double(value)
            sum += x; sum2 += x * x; sum3 += x * x * x; sum4 += x * x * x * x
            if abs(x) > 3 { beyondThree += 1 }
        }
        let n = Double(count)
        let mean = sum / n
        let variance = sum2 / n - mean * mean
        let skew = (sum3 / n) / power(variance, 1.5)
        let kurtosis = (sum4 / n) / (variance * variance)
        // Standard errors at n = 1e6: mean 0.001, variance 0.0014, skew 0.0024, kurtosis 0.005; ~5σ bounds.
        #expect(abs(mean) < 0.005, "mean \(mean)")
        #expect(abs(variance - 1) < 0.007, "variance \(variance)")
        #expect(abs(skew) < 0.012, "skew \(skew)")
        #expect(abs(kurtosis - 3) < 0.025, "kurtosis \(kurtosis)")
        // P(|z| > 3) = 0.0026998; binomial standard error ≈ 5.2e-5.
        let fraction = Double(beyondThree) / n
        #expect(abs(fraction - 0.0026998) < 0.0003, "fraction beyond 3σ \(fraction)")
    }

    @Test func meanAndStandardDeviationAreApplied() {
        let standard = Self.draws(1000, key: 5)
        let shifted = Self.draws(1000, key: 5, mean: 3, standardDeviation: 0.5)
        for (z, x) in zip(standard, shifted) {
            #expect(abs(x - (3 + 0.5 * z)) <= 1e-5)
        }
    }

    @Test func deterministicAndPrefixConsistent() {
        let long = Self.draws(5000, key: 99)
        #expect(Self.draws(5000, key: 99) == long)
        for count in [1, 7, 63, 64, 65, 1000] {
            #expect(Array(long.prefix(count)) == Self.draws(count, key: 99), "count \(count)")
        }
        #expect(Self.draws(100, key: 100) != Array(long.prefix(100)))
        // Any window of the stream equals the same slice of the full stream.
        var window = [Float](repeating: 0, count: 777)
        NormalSampler.fill(&window, start: 1234, count: 777, key: 99)
        #expect(window == Array(long[1234..<2011]))
    }

    @Test func independentOfThreadCount() {
        let saved = ComputeSettings.threads
        defer { ComputeSettings.threads = saved }
        ComputeSettings.threads = 1
        let one = Self.draws(300_001, key: 7)
        ComputeSettings.threads = 2
        let two = Self.draws(300_001, key: 7)
        #expect(one == two)
        #expect(one.allSatisfy { $0.isFinite })
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func _log(_ x: Double) -> Double { log(x) }
private func _sin(_ x: Double) -> Double { sin(x) }
private func _cos(_ x: Double) -> Double { cos(x) }
private func power(_ x: Double, _ y: Double) -> Double { pow(x, y) }
