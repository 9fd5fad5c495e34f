/// Everything a decision rule's answers rest on, for a batch of inputs.
public struct SampledDecisions: @unchecked Sendable {
    /// The first round's samples, `[samples, count, classes]` (the same S for every input).
    public let probabilities: Tensor
    /// Per input, the summary of all the samples it got (more than S for inputs that were refined).
    public let summary: PredictiveSummary
    /// The rule's answer per input, from `summary`.
    public let decisions: [Decision]
    /// The number of samples each input's answer rests on.
    public let sampleCounts: [Int]
}

/// When to draw more posterior samples for an input: its answer is refined while it lies within Monte
/// Carlo error of the rule's boundary, doubling its samples up to `maximumSamples`.
///
/// With S samples, an input whose score sits near the threshold gets a different answer from one seed to
/// the next. The Monte Carlo standard error of the score is estimated from the samples themselves — by
/// the jackknife for scores that are smooth functions of sample means (entropy, mutual information,
/// 1 − max mean probability, their scaled maximum; Efron & Stein 1981), and for the median and percentile
/// rules by the binomial error of the share of samples above τ — and inputs within `zScore` standard
/// errors of the boundary are sampled again with twice as many samples. Because an input's samples
/// depend only on the input and the seed (`Predictive`), the first S of the larger draw are the ones
/// already seen, and the answer still depends only on the input, the model, S and the seed.
public struct SampleRefinement: Sendable, Equatable {
    /// The most samples any input gets (at least the first round's S; equal to S turns refinement off).
    public var maximumSamples: Int
    /// How many standard errors from the boundary count as "near".
    public var zScore: Float

    public init(maximumSamples: Int, zScore: Float = 2) {
        self.maximumSamples = maximumSamples
        self.zScore = zScore
    }

    /// No refinement: every input gets exactly S samples.
    public static let off = SampleRefinement(maximumSamples: 0)

    /// The default for S first-round samples: up to 8·S, and no more than `Predictive.maximumSamples`
    /// (unless S itself is more).
    public static func standard(samples: Int) -> SampleRefinement {
        SampleRefinement(maximumSamples: min(8 * samples, max(samples, Predictive.maximumSamples)))
    }

    /// The most probabilities one refinement draw holds at once (by default 2²⁶ floats, 256 MB): the inputs
    /// still near the boundary are sampled again in groups of at most this many inputs × samples × classes.
    /// The answers do not depend on it.
    public var probabilitiesPerDraw = 1 << 26

    /// Whether input `input`'s answer under `rule` lies within `zScore` Monte Carlo standard errors of the
    /// rule's boundary, judged from its samples in `probabilities` (`[S, count, classes]`).
    public func isNearBoundary(_ probabilities: Tensor, input: Int, rule: DecisionRule) -> Bool {
        let samples = probabilities.shape[0], count = probabilities.shape[1], classes = probabilities.shape[2]
        guard samples >= 2 else { return false }
        // The input's samples, contiguous: [S, C].
        var values = [Float](repeating: 0, count: samples * classes)
        for s in 0..<samples {
            for c in 0..<classes { values[s * classes + c] = probabilities.pointer[(s * count + input) * classes + c] }
        }
        switch rule {
        case .median(let threshold), .percentile(_, let threshold):
            // Class c is selected when the q-th percentile of p_s(c) exceeds τ, i.e. when more than a share
            // 1 − q/100 of the samples lie above τ: near the boundary when that share is within z binomial
            // standard errors of 1 − q/100.
            let boundary = 1 - Double(rule.percentileLevel ?? 50) / 100
            for c in 0..<classes {
                var above = 0
                for s in 0..<samples where values[s * classes + c] > threshold { above += 1 }
                let share = Double(above) / Double(samples)
                let error = max((share * (1 - share) / Double(samples)).squareRoot(), 0.5 / Double(samples))
                if abs(share - boundary) < Double(zScore) * error { return true }
            }
            return false
        case .mean(let threshold):
            return nearThreshold(values, samples: samples, classes: classes, threshold: 1 - threshold, score: .maxProbability)
        case .entropy(let threshold):
            return nearThreshold(values, samples: samples, classes: classes, threshold: threshold, score: .entropy)
        case .mutualInformation(let threshold):
            return nearThreshold(values, samples: samples, classes: classes, threshold: threshold, score: .mutualInformation)
        case .calibrated(let calibratedScore, let threshold, let scales), .conformal(let calibratedScore, let threshold, let scales, _):
            // The conformal rule: only its acceptance is refined; its set is read from the mean of the
            // samples the input got.
            let score: SmoothScore
            switch calibratedScore {
            case .entropy: score = .entropy
            case .mutualInformation: score = .mutualInformation
            case .maxProbability: score = .maxProbability
            case .entropyOrMutualInformation: score = .scaledMaximum(entropy: scales.entropy, mutualInformation: scales.mutualInformation)
            case .medianProbability, .percentileProbability: return false
            }
            return nearThreshold(values, samples: samples, classes: classes, threshold: threshold, score: score)
        }
    }

    /// The scores that are smooth functions of the mean probabilities p̄ and the mean per-sample entropy E[H].
    enum SmoothScore {
        case entropy, mutualInformation, maxProbability
        case scaledMaximum(entropy: Float, mutualInformation: Float)

        /// The score of the mean `mean` (with `logMean` its logarithms) and the expected entropy `expected`.
        func value(_ mean: UnsafePointer<Float>, _ logMean: UnsafePointer<Float>, classes: Int, expected: Float) -> Float {
            var entropy: Float = 0
            switch self {
            case .maxProbability:
                var largest = mean[0]
                for c in 1..<classes { largest = max(largest, mean[c]) }
                return 1 - largest
            default:
                for c in 0..<classes where mean[c] > 0 { entropy -= mean[c] * logMean[c] }
            }
            switch self {
            case .entropy: return entropy
            case .mutualInformation: return entropy - expected
            case .scaledMaximum(let entropyScale, let informationScale):
                return max(entropy / entropyScale, (entropy - expected) / informationScale)
            case .maxProbability: return 0
            }
        }
    }

    /// The inputs of `probabilities` (`[S, count, classes]`) that are near the boundary, in increasing order
    /// (the test of `isNearBoundary`, split over the threads).
    func inputsNearBoundary(_ probabilities: Tensor, rule: DecisionRule) -> [Int] {
        let count = probabilities.shape[1]
        var flags = [Bool](repeating: false, count: count)
        flags.withUnsafeMutableBufferPointer { buffer in
            let shared = SendablePointer(buffer.baseAddress!)
            Parallel.forChunks(of: count, minimumChunk: 256) { inputs in
                for input in inputs { shared.pointer[input] = isNearBoundary(probabilities, input: input, rule: rule) }
            }
        }
        return (0..<count).filter { flags[$0] }
    }

    /// The jackknife test: θ = score(p̄, E[H]) against its leave-one-out values θ₍ₛ₎ (p̄ and E[H] without
    /// sample s); standard error √((S − 1)/S · Σₛ (θ₍ₛ₎ − θ̄₍·₎)²); near when |θ − threshold| < z · error.
    /// The logarithms are taken in two vectorised calls.
    private func nearThreshold(_ values: [Float], samples: Int, classes: Int, threshold: Float, score: SmoothScore) -> Bool {
        let n = Float(samples)
        let smallest = Float.leastNormalMagnitude
        var logs = values.map { max($0, smallest) }
        logs.withUnsafeMutableBufferPointer { VectorMath.log($0.baseAddress!, $0.baseAddress!, count: $0.count) }
        var total = [Float](repeating: 0, count: classes)
        var entropies = [Float](repeating: 0, count: samples)
        for s in 0..<samples {
            var entropy: Float = 0
            for c in 0..<classes {
                let p = values[s * classes + c]
                total[c] += p
                if p > 0 { entropy -= p * logs[s * classes + c] }
            }
            entropies[s] = entropy
        }
        let entropySum = entropies.reduce(0, +)
        // Row `samples` holds the full mean; rows s < samples the mean without sample s.
        var means = [Float](repeating: 0, count: (samples + 1) * classes)
        for s in 0..<samples {
            for c in 0..<classes { means[s * classes + c] = max((total[c] - values[s * classes + c]) / (n - 1), 0) }
        }
        for c in 0..<classes { means[samples * classes + c] = total[c] / n }
        var logMeans = means.map { max($0, smallest) }
        logMeans.withUnsafeMutableBufferPointer { VectorMath.log($0.baseAddress!, $0.baseAddress!, count: $0.count) }
        return means.withUnsafeBufferPointer { mean in
            logMeans.withUnsafeBufferPointer { logMean in
                let full = score.value(mean.baseAddress! + samples * classes, logMean.baseAddress! + samples * classes,
                                       classes: classes, expected: entropySum / n)
                var leaveOneOut = [Float](repeating: 0, count: samples)
                for s in 0..<samples {
                    leaveOneOut[s] = score.value(mean.baseAddress! + s * classes, logMean.baseAddress! + s * classes, classes: classes,
                                                 expected: (entropySum - entropies[s]) / (n - 1))
                }
                let average = leaveOneOut.reduce(0, +) / n
                let spread = leaveOneOut.reduce(0) { $0 + ($1 - average) * ($1 - average) }
                let error = ((n - 1) / n * spread).squareRoot()
                return abs(full - threshold) < zScore * error
            }
        }
    }
}

extension Predictive {
    /// Samples every input S times, applies `rule`, and, for the inputs whose answer lies within Monte
    /// Carlo error of the rule's boundary, draws again with 2S, 4S, … samples (up to
    /// `refinement.maximumSamples`) and answers from those. The seed comes from `generator`.
    public func decide(_ images: Tensor, rule: DecisionRule, samples: Int, refinement: SampleRefinement,
                       generator: inout RandomGenerator) -> SampledDecisions {
        precondition(samples > 0, "samples must be positive, got \(samples)")
        let seed = generator.next()
        let count = images.rows, features = images.count / max(count, 1)
        let probabilities = sampleProbabilities(images, samples: 0..<samples, seed: seed)
        var summary = PredictiveSummary(probabilities: probabilities, percentile: rule.percentileLevel ?? 10)
        if rule.readsConformalKeys {
            let keys = SampleKeys(seed: seed)
            summary.conformalKeys = InputIdentity.identities(of: images).map(keys.conformal)
        }
        var decisions = (0..<count).map { rule.decide(summary, index: $0) }
        var sampleCounts = [Int](repeating: samples, count: count)
        var current = samples
        // When the samples already hold each of the network's distinct samples equally often, more add nothing.
        let exhausted = distinctSampleCount.map { samples % $0 == 0 } ?? false
        var near = current < refinement.maximumSamples && !exhausted ? refinement.inputsNearBoundary(probabilities, rule: rule) : []
        while !near.isEmpty && current < refinement.maximumSamples {
            current = min(refinement.maximumSamples, current * 2)
            let classes = summary.classes
            let group = max(1, refinement.probabilitiesPerDraw / max(1, current * classes))
            var stillNear: [Int] = []
            for first in stride(from: 0, to: near.count, by: group) {
                let inputs = Array(near[first..<min(near.count, first + group)])
                let subset = Tensor(shape: [inputs.count] + Array(images.shape.dropFirst()))
                for (i, input) in inputs.enumerated() {
                    (subset.pointer + i * features).update(from: images.pointer + input * features, count: features)
                }
                let more = sampleProbabilities(subset, samples: 0..<current, seed: seed)
                let refined = PredictiveSummary(probabilities: more, percentile: rule.percentileLevel ?? 10)
                for (i, input) in inputs.enumerated() {
                    summary.replaceInput(input, with: refined, input: i)
                    decisions[input] = rule.decide(summary, index: input)
                    sampleCounts[input] = current
                }
                stillNear += refinement.inputsNearBoundary(more, rule: rule).map { inputs[$0] }
            }
            near = stillNear
        }
        return SampledDecisions(probabilities: probabilities, summary: summary, decisions: decisions, sampleCounts: sampleCounts)
    }
}
