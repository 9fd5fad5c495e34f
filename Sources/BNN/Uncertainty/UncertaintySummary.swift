import CBNNKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Summary statistics of the sampled class probabilities for one input.
///
/// Given S sampled probability vectors p₁ … p_S over C classes (from S sampled networks):
/// - mean p̄(c) = (1/S) Σₛ pₛ(c), the predictive distribution;
/// - median and percentiles of pₛ(c) over s, per class (see `percentile(sorted:level:)`);
/// - predictive entropy H[p̄] = −Σ_c p̄(c) ln p̄(c) (total uncertainty, nats);
/// - expected entropy E[H p] = (1/S) Σₛ −Σ_c pₛ(c) ln pₛ(c) (aleatoric part);
/// - mutual information I = H[p̄] − E[H p] ≥ 0 (epistemic part: how much the samples disagree;
///   Houlsby et al. 2011, "Bayesian Active Learning by Disagreement"), clamped at 0 against round-off.
/// Entropies use 0 · ln 0 = 0; non-positive probabilities contribute nothing. The uniform
/// distribution over C classes has entropy ln C.
public struct UncertaintySummary: Sendable, Equatable {
    /// S, the number of sampled probability vectors.
    public let sampleCount: Int
    /// C, the number of classes.
    public let classCount: Int
    /// p̄(c), per class.
    public let mean: [Float]
    /// The median (50th percentile) of pₛ(c) over samples, per class.
    public let median: [Float]
    /// The percentile levels (0…100) of `percentiles`, as requested.
    public let percentileLevels: [Float]
    /// `percentiles[k][c]` is the `percentileLevels[k]`-th percentile of pₛ(c) over samples.
    public let percentiles: [[Float]]
    /// H[p̄] in nats.
    public let predictiveEntropy: Float
    /// E[H p] in nats.
    public let expectedEntropy: Float
    /// H[p̄] − E[H p] in nats, at least 0.
    public let mutualInformation: Float

    /// Summarises S × C sampled probabilities stored row-major (`probabilities[s * C + c]`).
    ///
    /// - Precondition: `probabilities.count == sampleCount * classCount`, S ≥ 1, C ≥ 1, levels in 0…100.
    public init(probabilities: [Float], sampleCount: Int, classCount: Int, percentiles levels: [Float] = [5, 50, 95]) {
        precondition(sampleCount >= 1 && classCount >= 1, "need S ≥ 1 and C ≥ 1, got S = \(sampleCount), C = \(classCount)")
        precondition(probabilities.count == sampleCount * classCount,
                     "expected S × C = \(sampleCount) × \(classCount) probabilities, got \(probabilities.count)")
        let input = Tensor(shape: [sampleCount, 1, classCount], values: probabilities)
        let mean = Tensor(shape: [1, classCount])
        let outputs = ([50] + levels).map { _ in Tensor(shape: [1, classCount]) }
        let entropy = Tensor(shape: [1]), expected = Tensor(shape: [1]), information = Tensor(shape: [1])
        Self.summarize(probabilities: input, percentiles: [50] + levels, mean: mean, percentileOutputs: outputs,
                       entropy: entropy, expectedEntropy: expected, mutualInformation: information)
        self.sampleCount = sampleCount
        self.classCount = classCount
        self.mean = mean.array
        self.median = outputs[0].array
        self.percentileLevels = levels
        self.percentiles = outputs.dropFirst().map(\.array)
        self.predictiveEntropy = entropy[0]
        self.expectedEntropy = expected[0]
        self.mutualInformation = information[0]
    }

    /// The per-class percentile at `level`, if it was requested.
    public func percentile(_ level: Float) -> [Float]? {
        percentileLevels.firstIndex(of: level).map { percentiles[$0] }
    }

    // MARK: Building blocks

    /// Entropy −Σᵢ pᵢ ln pᵢ in nats, with 0 · ln 0 = 0 (non-positive entries contribute nothing).
    public static func entropy(_ probabilities: [Float]) -> Float {
        var total = 0.0
        for p in probabilities where p > 0 { total -= Double(p) * log(Double(p)) }
        return Float(total)
    }

    /// The percentile of sorted values by linear interpolation between order statistics (numpy's
    /// default `method="linear"`, Hyndman & Fan type 7):
    ///
    ///     h = (n − 1) · q / 100,  result = x₍⌊h⌋₎ + (h − ⌊h⌋) · (x₍⌊h⌋+1₎ − x₍⌊h⌋₎)
    ///
    /// with 0-based order statistics x₍₀₎ ≤ … ≤ x₍ₙ₋₁₎. So q = 0 is the minimum, q = 100 the maximum,
    /// q = 50 the median (the mean of the two middle values when n is even).
    ///
    /// - Precondition: `sorted` is non-empty and ascending; 0 ≤ `level` ≤ 100.
    public static func percentile(sorted: [Float], level: Float) -> Float {
        precondition(!sorted.isEmpty, "percentile of no values")
        let (lower, fraction) = interpolationPoint(count: sorted.count, level: level)
        return interpolate(sorted[lower], sorted[min(lower + 1, sorted.count - 1)], fraction)
    }

    /// The percentile of unsorted values (see `percentile(sorted:level:)`).
    public static func percentile(of values: [Float], level: Float) -> Float {
        percentile(sorted: values.sorted { sortKey($0) < sortKey($1) }, level: level)
    }

    static func interpolationPoint(count: Int, level: Float) -> (lower: Int, fraction: Double) {
        precondition(level >= 0 && level <= 100, "percentile level must be in 0…100, got \(level)")
        let h = Double(count - 1) * Double(level) / 100
        let lower = min(Int(h.rounded(.down)), count - 1)
        return (lower, h - Double(lower))
    }

    @inline(__always)
    static func interpolate(_ low: Float, _ high: Float, _ fraction: Double) -> Float {
        if fraction == 0 { return low }
        return Float(Double(low) + fraction * (Double(high) - Double(low)))
    }

    /// NaN sorts last (as the largest value) so that sorting never meets an inconsistent order.
    @inline(__always) static func sortKey(_ value: Float) -> Float { value.isNaN ? .infinity : value }

    // MARK: Batched

    /// Summarises a batch: `probabilities` is `[S, N, C]` (sample-major, as a predictive sampler
    /// produces it); results go into preallocated tensors, one row per input:
    /// `mean` and each of `percentileOutputs` are `[N, C]` (`percentileOutputs[k]` receives level
    /// `percentiles[k]`), `entropy` (H[p̄]), `expectedEntropy` (E[H p]) and `mutualInformation` are `[N]`.
    ///
    /// Inputs are split across `ComputeSettings.threads` threads; each thread allocates its scratch
    /// once, so the per-input loop does not allocate. Percentiles need only a few order statistics: up to
    /// 128 samples are sorted by a network in AVX-512 registers (`bnn_sort_small`); otherwise each class's S
    /// values are partially ordered by a three-way quickselect rather than fully sorted.
    public static func summarize(
        probabilities: Tensor, percentiles levels: [Float], mean: Tensor, percentileOutputs: [Tensor],
        entropy: Tensor, expectedEntropy: Tensor, mutualInformation: Tensor
    ) {
        precondition(probabilities.shape.count == 3, "expected probabilities [S, N, C], got \(probabilities.shape)")
        let (samples, inputs, classes) = (probabilities.shape[0], probabilities.shape[1], probabilities.shape[2])
        precondition(samples >= 1 && classes >= 1, "need S ≥ 1 and C ≥ 1, got shape \(probabilities.shape)")
        precondition(mean.count == inputs * classes, "mean needs \(inputs)×\(classes) elements, has shape \(mean.shape)")
        precondition(levels.count == percentileOutputs.count,
                     "\(levels.count) percentile levels but \(percentileOutputs.count) outputs")
        for output in percentileOutputs {
            precondition(output.count == inputs * classes, "percentile output needs \(inputs)×\(classes) elements, has shape \(output.shape)")
        }
        for output in [entropy, expectedEntropy, mutualInformation] {
            precondition(output.count == inputs, "per-input output needs \(inputs) elements, has shape \(output.shape)")
        }

        let points = levels.map { interpolationPoint(count: samples, level: $0) }
        // The order statistics the levels need, ascending and unique.
        var ranks = Set<Int>()
        for point in points {
            ranks.insert(point.lower)
            if point.fraction > 0 { ranks.insert(min(point.lower + 1, samples - 1)) }
        }
        let neededRanks = ranks.sorted()

        let source = SendablePointer(probabilities.pointer)
        let meanOut = SendablePointer(mean.pointer)
        let percentileOut = percentileOutputs.map { SendablePointer($0.pointer) }
        let entropyOut = SendablePointer(entropy.pointer)
        let expectedOut = SendablePointer(expectedEntropy.pointer)
        let informationOut = SendablePointer(mutualInformation.pointer)
        let work = samples * classes

        Parallel.forChunks(of: inputs, minimumChunk: max(1, 20_000 / max(1, work))) { range in
            // Per-thread scratch: the input's samples transposed to [C, S], per-class sums, and
            // unsafe copies of the small tables so that the loop touches no reference counts.
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: work)
            let partitionBuffer = UnsafeMutablePointer<Float>.allocate(capacity: samples)
            let logarithms = UnsafeMutablePointer<Float>.allocate(capacity: work)
            let averages = UnsafeMutablePointer<Float>.allocate(capacity: classes)
            let averageLogarithms = UnsafeMutablePointer<Float>.allocate(capacity: classes)
            let sums = UnsafeMutablePointer<Double>.allocate(capacity: classes)
            let rankTable = UnsafeMutablePointer<Int>.allocate(capacity: max(1, neededRanks.count))
            let lowerTable = UnsafeMutablePointer<Int>.allocate(capacity: max(1, points.count))
            let fractionTable = UnsafeMutablePointer<Double>.allocate(capacity: max(1, points.count))
            let outputTable = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: max(1, points.count))
            defer {
                scratch.deallocate(); partitionBuffer.deallocate(); sums.deallocate(); rankTable.deallocate()
                logarithms.deallocate(); averages.deallocate(); averageLogarithms.deallocate()
                lowerTable.deallocate(); fractionTable.deallocate(); outputTable.deallocate()
            }
            for (i, rank) in neededRanks.enumerated() { rankTable[i] = rank }
            for (k, point) in points.enumerated() {
                lowerTable[k] = point.lower
                fractionTable[k] = point.fraction
                outputTable[k] = percentileOut[k].pointer
            }
            let (rankCount, levelCount) = (neededRanks.count, points.count)
            let sampleStride = inputs * classes
            for n in range {
                sums.update(repeating: 0, count: classes)
                for s in 0..<samples {
                    let row = source.pointer + s * sampleStride + n * classes
                    for c in 0..<classes {
                        let p = row[c]
                        scratch[c * samples + s] = p
                        sums[c] += Double(p)
                    }
                }
                // All the input's logarithms in one vectorised call (scalar logf was half of this loop).
                VectorMath.log(scratch, logarithms, count: work)
                var entropySum = 0.0
                for s in 0..<samples {
                    var rowEntropy: Float = 0
                    for c in 0..<classes {
                        let p = scratch[c * samples + s]
                        if p > 0 { rowEntropy -= p * logarithms[c * samples + s] }
                    }
                    entropySum += Double(rowEntropy)
                }
                // The same Float arithmetic (and logarithm) as the per-sample entropies, so that identical
                // samples give a mutual information of exactly 0.
                var predictive: Float = 0
                for c in 0..<classes { averages[c] = Float(sums[c] / Double(samples)) }
                VectorMath.log(averages, averageLogarithms, count: classes)
                for c in 0..<classes {
                    let average = averages[c]
                    meanOut.pointer[n * classes + c] = average
                    if average > 0 { predictive -= average * averageLogarithms[c] }
                }
                let expected = Float(entropySum / Double(samples))
                entropyOut.pointer[n] = predictive
                expectedOut.pointer[n] = expected
                informationOut.pointer[n] = max(0, predictive - expected)

                for c in 0..<classes {
                    let values = scratch + c * samples
                    // A sorting network in registers where the CPU has one (up to 128 values, no NaN).
                    if bnn_sort_small(values, samples) == 0 {
                        selectOrderStatistics(values, buffer: partitionBuffer, lower: 0, upper: samples, ranks: rankTable, rankLower: 0, rankUpper: rankCount)
                    }
                    for k in 0..<levelCount {
                        let lower = lowerTable[k]
                        let value = interpolate(values[lower], values[min(lower + 1, samples - 1)], fractionTable[k])
                        outputTable[k][n * classes + c] = value
                    }
                }
            }
        }
    }

    /// Rearranges `values[lower..<upper]` so that, for every rank r in `ranks[rankLower..<rankUpper]`
    /// (ascending, within the range), `values[r]` holds the value a full ascending sort would put there.
    /// `buffer` is scratch with room for `upper` elements.
    ///
    /// Quickselect over several ranks with a median-of-three pivot. Each partition is branch-free
    /// (every element is written to both ends of `buffer` and only the matching end advances), because
    /// on random probabilities a branchy partition mispredicts on every other element. Elements equal to the pivot go right; when nothing is less than the pivot, a
    /// second pass splits off the elements equal to it, which are then final. If neither pass makes
    /// progress (NaN pivot) the range is insertion-sorted, so every input terminates.
    static func selectOrderStatistics(
        _ values: UnsafeMutablePointer<Float>, buffer: UnsafeMutablePointer<Float>, lower: Int, upper: Int,
        ranks: UnsafePointer<Int>, rankLower: Int, rankUpper: Int
    ) {
        var (lower, upper, rankLower, rankUpper) = (lower, upper, rankLower, rankUpper)
        while rankLower < rankUpper {
            if upper - lower <= 8 {
                insertionSort(values, lower: lower, upper: upper)
                return
            }
            let middle = lower + (upper - lower) / 2
            let pivot = medianOfThree(values[lower], values[middle], values[upper - 1])
            // [lower, split) < pivot, [split, upper) ≥ pivot.
            var split = partition(values, buffer: buffer, lower: lower, upper: upper) { $0 < pivot }
            var rightStart = split
            if split == lower {
                // Nothing below the pivot: [lower, rightStart) == pivot are final, [rightStart, upper) > pivot.
                rightStart = partition(values, buffer: buffer, lower: lower, upper: upper) { $0 <= pivot }
                if rightStart == lower {
                    insertionSort(values, lower: lower, upper: upper)
                    return
                }
                split = lower
            }
            var leftEnd = rankLower
            while leftEnd < rankUpper && ranks[leftEnd] < split { leftEnd += 1 }
            var rightRank = leftEnd
            while rightRank < rankUpper && ranks[rightRank] < rightStart { rightRank += 1 }
            let hasLeft = leftEnd > rankLower, hasRight = rightRank < rankUpper
            if hasLeft && hasRight {
                selectOrderStatistics(values, buffer: buffer, lower: lower, upper: split,
                                      ranks: ranks, rankLower: rankLower, rankUpper: leftEnd)
            }
            if hasRight {
                (lower, rankLower) = (rightStart, rightRank)
            } else if hasLeft {
                (upper, rankUpper) = (split, leftEnd)
            } else {
                return
            }
        }
    }

    /// Stable-left branch-free partition of `values[lower..<upper]` by `isLeft`; returns the split.
    @inline(__always)
    private static func partition(
        _ values: UnsafeMutablePointer<Float>, buffer: UnsafeMutablePointer<Float>, lower: Int, upper: Int,
        _ isLeft: (Float) -> Bool
    ) -> Int {
        var left = lower, right = upper - 1
        for index in lower..<upper {
            let value = values[index]
            // A Bool is one byte holding 0 or 1: arithmetic on it keeps the loop free of branches.
            let step = Int(unsafeBitCast(isLeft(value), to: UInt8.self))
            buffer[left] = value
            buffer[right] = value
            left &+= step
            right &-= 1 &- step
        }
        (values + lower).update(from: buffer + lower, count: upper - lower)
        return left
    }

    private static func insertionSort(_ values: UnsafeMutablePointer<Float>, lower: Int, upper: Int) {
        guard upper - lower > 1 else { return }
        for i in (lower + 1)..<upper {
            let value = values[i]
            var j = i
            while j > lower && values[j - 1] > value {
                values[j] = values[j - 1]
                j -= 1
            }
            values[j] = value
        }
    }

    @inline(__always)
    private static func medianOfThree(_ a: Float, _ b: Float, _ c: Float) -> Float {
        if a < b {
            if b < c { return b }
            return a < c ? c : a
        }
        if a < c { return a }
        return b < c ? c : b
    }
}
