import Foundation
import CBNNKernels
import Testing
@testable import BNN

@Suite struct UncertaintySummaryTests {
    @Test func uniformTenClassHasEntropyLnTen() {
        let uniform = [Float](repeating: 0.1, count: 10)
        let summary = UncertaintySummary(probabilities: uniform + uniform + uniform, sampleCount: 3, classCount: 10)
        #expect(abs(summary.predictiveEntropy - Float(log(10.0))) < 2e-6)
        #expect(abs(summary.expectedEntropy - Float(log(10.0))) < 2e-6)
        #expect(summary.mutualInformation == 0)
        #expect(abs(UncertaintySummary.entropy(uniform) - Float(log(10.0))) < 1e-6)
        #expect(summary.mean.allSatisfy { abs($0 - 0.1) < 1e-8 })
    }

    @Test func oneHotHasZeroEntropy() {
        let oneHot: [Float] = [0, 0, 1, 0]
        let summary = UncertaintySummary(probabilities: oneHot + oneHot, sampleCount: 2, classCount: 4)
        #expect(summary.predictiveEntropy == 0)
        #expect(summary.expectedEntropy == 0)
        #expect(summary.mutualInformation == 0)
        #expect(summary.mean == oneHot && summary.median == oneHot)
        #expect(UncertaintySummary.entropy(oneHot) == 0)
    }

    @Test func identicalSamplesHaveZeroMutualInformation() {
        let p: [Float] = [0.7, 0.2, 0.05, 0.05]
        let summary = UncertaintySummary(probabilities: Array([[Float]](repeating: p, count: 7).joined()), sampleCount: 7, classCount: 4)
        #expect(summary.mutualInformation == 0)
        // H = −(0.7 ln 0.7 + 0.2 ln 0.2 + 2 · 0.05 ln 0.05) = 0.871 794 …
        let expected = -(0.7 * log(0.7) + 0.2 * log(0.2) + 0.1 * log(0.05))
        #expect(abs(Double(summary.predictiveEntropy) - expected) < 1e-6)
        #expect(summary.predictiveEntropy == summary.expectedEntropy)
    }

    @Test func twoDisagreeingOneHotSamplesGiveLnTwo() {
        let summary = UncertaintySummary(probabilities: [1, 0, 0, 1], sampleCount: 2, classCount: 2)
        #expect(summary.mean == [0.5, 0.5])
        #expect(summary.expectedEntropy == 0)
        #expect(abs(summary.predictiveEntropy - Float(log(2.0))) < 1e-7)
        #expect(abs(summary.mutualInformation - Float(log(2.0))) < 1e-7)
        #expect(summary.median == [0.5, 0.5]) // mean of the two middle (only) values
    }

    @Test func medianOfOddAndEvenSampleCounts() {
        // Class 0 over 5 samples: 0.3 0.1 0.5 0.2 0.4 → median 0.3; class 1 is 1 − class 0 → 0.7.
        let odd: [Float] = [0.3, 0.7, 0.1, 0.9, 0.5, 0.5, 0.2, 0.8, 0.4, 0.6]
        #expect(UncertaintySummary(probabilities: odd, sampleCount: 5, classCount: 2).median == [0.3, 0.7])
        // 4 samples: 0.4 0.1 0.3 0.2 → (0.2 + 0.3) / 2 = 0.25; class 1: (0.7 + 0.8) / 2 = 0.75.
        let even: [Float] = [0.4, 0.6, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8]
        let median = UncertaintySummary(probabilities: even, sampleCount: 4, classCount: 2).median
        let low: Double = 0.5 * (Double(Float(0.2)) + Double(Float(0.3)))
        let high: Double = 0.5 * (Double(Float(0.7)) + Double(Float(0.8)))
        #expect(median == [Float(low), Float(high)])
        #expect(abs(median[0] - 0.25) < 1e-7 && abs(median[1] - 0.75) < 1e-7)
    }

    @Test func percentileInterpolationByHand() {
        // Sorted 1 2 4 8 16 (n = 5): h = 4q/100.
        let values: [Float] = [16, 1, 8, 2, 4]
        #expect(UncertaintySummary.percentile(of: values, level: 0) == 1)
        #expect(UncertaintySummary.percentile(of: values, level: 100) == 16)
        #expect(UncertaintySummary.percentile(of: values, level: 50) == 4)
        #expect(UncertaintySummary.percentile(of: values, level: 10) == 1.4)   // h = 0.4: 1 + 0.4 · 1
        #expect(UncertaintySummary.percentile(of: values, level: 90) == 12.8)  // h = 3.6: 8 + 0.6 · 8
        #expect(UncertaintySummary.percentile(of: values, level: 62.5) == 6)   // h = 2.5: 4 + 0.5 · 4
        #expect(UncertaintySummary.percentile(of: [3], level: 37) == 3)

        // Through the summary: the same five values as samples of one class.
        let summary = UncertaintySummary(probabilities: values, sampleCount: 5, classCount: 1, percentiles: [10, 90, 62.5])
        #expect(summary.percentiles == [[1.4], [12.8], [6]])
        #expect(summary.percentile(90) == [12.8])
        #expect(summary.percentile(42) == nil)
        #expect(summary.median == [4])

        // S = 100 values k/128: the 5th percentile has h = 4.95 → (4 + 0.95) / 128.
        let hundred = (0..<100).map { Float($0) / 128 }.reversed()
        let wide = UncertaintySummary(probabilities: Array(hundred), sampleCount: 100, classCount: 1)
        let expected: [[Float]] = [[Float(4.95 / 128)], [Float(49.5 / 128)], [Float(94.05 / 128)]]
        #expect(wide.percentiles == expected)
    }

    /// The batched path against a plain per-input computation (full sort, Double entropy): up to 128 samples
    /// the sorting network on an AVX-512 CPU, beyond it (and elsewhere) the quickselect.
    @Test(arguments: [1, 2, 3, 17, 100, 129, 300])
    func batchedMatchesPlainComputation(samples: Int) {
        let (inputs, classes) = (23, 7)
        let levels: [Float] = [50, 5, 95, 10, 0, 100]
        var generator = RandomGenerator(seed: UInt64(samples))
        let probabilities = Tensor(shape: [samples, inputs, classes])
        for s in 0..<samples {
            for n in 0..<inputs {
                // Quantised values so that ties are common; some zeros.
                var row = (0..<classes).map { _ in Float(generator.next() % 5) }
                let total = max(1, row.reduce(0, +))
                row = row.map { $0 / total }
                for c in 0..<classes { probabilities.pointer[(s * inputs + n) * classes + c] = row[c] }
            }
        }
        let mean = Tensor(shape: [inputs, classes])
        let outputs = levels.map { _ in Tensor(shape: [inputs, classes]) }
        let entropy = Tensor(shape: [inputs]), expected = Tensor(shape: [inputs]), information = Tensor(shape: [inputs])
        UncertaintySummary.summarize(probabilities: probabilities, percentiles: levels, mean: mean, percentileOutputs: outputs,
                                     entropy: entropy, expectedEntropy: expected, mutualInformation: information)

        var worstEntropy = 0.0
        for n in 0..<inputs {
            func p(_ s: Int, _ c: Int) -> Float { probabilities.pointer[(s * inputs + n) * classes + c] }
            var meanRow = [Double](repeating: 0, count: classes)
            var expectedEntropy = 0.0
            for s in 0..<samples {
                let row = (0..<classes).map { p(s, $0) }
                expectedEntropy += Double(UncertaintySummary.entropy(row)) / Double(samples)
                for c in 0..<classes { meanRow[c] += Double(row[c]) / Double(samples) }
            }
            let predictive = -meanRow.reduce(0.0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
            let differences: [Double] = [
                abs(predictive - Double(entropy[n])),
                abs(expectedEntropy - Double(expected[n])),
                abs(max(0, predictive - expectedEntropy) - Double(information[n])),
            ]
            worstEntropy = max(worstEntropy, differences.max() ?? 0)
            for c in 0..<classes {
                #expect(abs(Double(mean[n * classes + c]) - meanRow[c]) < 1e-6)
                let sorted = (0..<samples).map { p($0, c) }.sorted()
                for (k, level) in levels.enumerated() {
                    #expect(outputs[k][n * classes + c] == UncertaintySummary.percentile(sorted: sorted, level: level),
                            "input \(n) class \(c) level \(level)")
                }
            }
        }
        #expect(worstEntropy < 2e-6, "largest entropy difference \(worstEntropy)")
    }

    @Test func orderStatisticsOnAwkwardInputs() {
        var generator = RandomGenerator(seed: 3)
        for count in [1, 2, 16, 17, 18, 50, 257] {
            for pattern in 0..<4 {
                var values: [Float] = (0..<count).map { i in
                    switch pattern {
                    case 0: return Float(generator.next() % 1000)
                    case 1: return Float(i)                 // ascending
                    case 2: return Float(count - i)         // descending
                    default: return Float(generator.next() % 3) // many ties
                    }
                }
                let sorted = values.sorted()
                let ranks = Array(Set([0, count / 3, count / 2, count - 1])).sorted()
                var scratch = [Float](repeating: 0, count: count)
                values.withUnsafeMutableBufferPointer { buffer in
                    ranks.withUnsafeBufferPointer { rankBuffer in
                        UncertaintySummary.selectOrderStatistics(
                            buffer.baseAddress!, buffer: &scratch, lower: 0, upper: count,
                            ranks: rankBuffer.baseAddress!, rankLower: 0, rankUpper: ranks.count)
                    }
                }
                for rank in ranks { #expect(values[rank] == sorted[rank], "count \(count) pattern \(pattern) rank \(rank)") }
            }
        }
    }

    /// `bnn_sort_small` against Swift's sort at every length it takes, on values with ties, infinities, ±0
    /// and negatives; lengths over 128 and inputs with NaN are declined with the values untouched.
    @Test func sortingNetworkSortsOrDeclines() {
        let network = String(cString: bnn_kernels_isa_name()) == "avx512"
        var generator = RandomGenerator(seed: 11)
        func randomValue() -> Float {
            switch generator.next() % 8 {
            case 0: return Float(generator.next() % 4)          // ties
            case 1: return .infinity
            case 2: return -.infinity
            case 3: return generator.next() % 2 == 0 ? 0 : -0.0
            default: return Float(Int(generator.next() % 2_000_001) - 1_000_000) / 1_000
            }
        }
        for count in 0...130 {
            for _ in 0..<20 {
                let original = (0..<count).map { _ in randomValue() }
                var values = original
                let sorted = values.withUnsafeMutableBufferPointer { bnn_sort_small($0.baseAddress, count) } == 1
                if count <= 1 {
                    #expect(sorted && values == original)
                } else if network && count <= 128 {
                    // == treats +0 and −0 as equal, as the order does.
                    #expect(sorted && values == original.sorted(), "count \(count)")
                } else {
                    #expect(!sorted && values.elementsEqual(original) { $0.bitPattern == $1.bitPattern }, "count \(count)")
                }
            }
        }
        for count in [2, 17, 100, 128] {
            for position in [0, count / 2, count - 1] {
                var values = (0..<count).map { Float(count - $0) }
                values[position] = .nan
                let before = values.map(\.bitPattern)
                let declined = values.withUnsafeMutableBufferPointer { bnn_sort_small($0.baseAddress, count) } == 0
                #expect(declined && values.map(\.bitPattern) == before, "count \(count), NaN at \(position)")
            }
        }
    }

    @Test func nanInputDoesNotCrash() {
        let summary = UncertaintySummary(probabilities: [.nan, 0.5, 0.2, .nan, 0.3, 0.3, .nan, .nan, 1], sampleCount: 3, classCount: 3)
        #expect(summary.mean[0].isNaN)
        #expect(summary.percentiles.count == 3)
        // Long enough for the quickselect path, with NaN pivots among the candidates.
        for stride in [1, 2, 3] {
            let values: [Float] = (0..<60).map { $0 % stride == 0 ? .nan : Float($0) / 60 }
            let long = UncertaintySummary(probabilities: values, sampleCount: 60, classCount: 1)
            #expect(long.percentiles.count == 3 && long.mean[0].isNaN)
        }
    }
}

