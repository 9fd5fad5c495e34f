import Foundation

/// The KL divergence of a mean-field Normal posterior from the scale-mixture prior
/// `p(w) = π·N(w; 0, σ₁²) + (1 − π)·N(w; 0, σ₂²)` (Blundell et al. 2015, eq. 7), estimated by Monte Carlo,
/// and the gradient of the estimate; used by `MeanFieldNormal` when its prior is `Prior.scaleMixture`.
///
/// The KL has no closed form. Per weight, with `q = N(μ, σ²)`,
///
///     KL(q ‖ p) = E_q[log q(w)] − E_q[log p(w)] = −log σ − ½·log(2π) − ½ − E_ε[log p(μ + σε)],   ε ~ N(0, 1).
///
/// The first part (minus q's entropy) is exact, so only the prior's expectation is sampled: the
/// "closed-form entropy" estimator, with lower variance than sampling `log q(w) − log p(w)` as a whole
/// (Kingma & Welling 2014, "Auto-Encoding Variational Bayes", §2.3, eq. 7; Roeder, Wu & Duvenaud 2017).
/// With one draw ε per weight the estimate and its gradient are
///
///     KL̂ = Σ −log σ − ½·log(2π) − ½ − log p(w),   w = μ + σ·ε,
///     ∂KL̂/∂μ = −ψ(w),   ∂KL̂/∂σ = −1/σ − ψ(w)·ε,   ∂KL̂/∂ρ = ∂KL̂/∂σ · sigmoid(ρ),
///
/// where `ψ(w) = d log p / dw = −w·(r₁/σ₁² + r₂/σ₂²)` and `r₁, r₂` are the components' responsibilities for w
/// (`r₁ = π N₁(w) / p(w)`). Both are unbiased for the KL and its gradient (the reparameterisation trick,
/// Kingma & Welling 2014). The responsibilities are computed from the log-odds
/// `d = log(r₂/r₁) = log((1 − π)σ₁ / (πσ₂)) − w²·(1/σ₂² − 1/σ₁²)/2`, so that neither component's density
/// underflows (for σ₂ = e⁻⁶ and w = 0.1, N₂(w) ≈ e⁻⁸⁰⁰).
public struct ScaleMixtureKL: Sendable {
    public let pi: Float
    public let sigma1: Float
    public let sigma2: Float
    /// log((1 − π)σ₁ / (πσ₂)) and (1/σ₂² − 1/σ₁²)/2: d = logOddsAtZero − logOddsSlope·w².
    let logOddsAtZero: Double
    let logOddsSlope: Double
    /// 1/σ₁² and 1/σ₂².
    let precision1: Double
    let precision2: Double

    /// The Monte Carlo draws per weight of `divergence(mu:sigma:)`, the value training reports: 8 draws
    /// from a fixed seed, so that the same posterior always reports the same value. Summed over
    /// thousands of weights, the estimate's relative standard deviation is far below the reported digits.
    public static let reportingSamples = 8
    /// The seed of the reporting estimate's draws.
    public static let reportingSeed: UInt64 = 0x4B4C_5F4D_4958  // "KL_MIX"

    public init(pi: Float, sigma1: Float, sigma2: Float) {
        precondition(Prior.scaleMixture(pi: pi, sigma1: sigma1, sigma2: sigma2).invalidSetting == nil,
                     "invalid scale mixture π = \(pi), σ₁ = \(sigma1), σ₂ = \(sigma2)")
        self.pi = pi
        self.sigma1 = sigma1
        self.sigma2 = sigma2
        let (p, s1, s2) = (Double(pi), Double(sigma1), Double(sigma2))
        precision1 = 1 / (s1 * s1)
        precision2 = 1 / (s2 * s2)
        logOddsAtZero = Foundation.log((1 - p) * s1 / (p * s2))
        logOddsSlope = 0.5 * (precision2 - precision1)
    }

    /// The mixture of `prior`, or nil for a prior with a closed-form KL.
    public init?(_ prior: Prior) {
        guard case .scaleMixture(let pi, let sigma1, let sigma2) = prior else { return nil }
        self.init(pi: pi, sigma1: sigma1, sigma2: sigma2)
    }

    /// log p(w), in Double: log(π N₁(w)) + log(1 + e^d), written so that neither term overflows.
    public func logDensity(_ w: Double) -> Double {
        let logFirst = Foundation.log(Double(pi)) - Foundation.log(Double(sigma1)) - 0.5 * w * w * precision1 - 0.5 * Foundation.log(2 * Double.pi)
        let d = logOddsAtZero - logOddsSlope * w * w
        return d > 0 ? logFirst + d + Foundation.log1p(Foundation.exp(-d)) : logFirst + Foundation.log1p(Foundation.exp(d))
    }

    /// −log σ − ½·log(2π) − ½: E_q[log q(w)] of one weight.
    @inline(__always)
    static func negativeEntropy(_ sigma: Double) -> Double { -Foundation.log(sigma) - 0.5 * Foundation.log(2 * Double.pi) - 0.5 }

    /// The one-draw estimate KL̂ with the draws `noise` (ε, one per weight), summed, in Double.
    public func estimate(mu: Tensor, sigma: Tensor, noise: Tensor) -> Double {
        precondition(mu.count == sigma.count && noise.count == mu.count, "μ, σ and ε must have the same size")
        let m = mu.pointer, s = sigma.pointer, e = noise.pointer
        var total = 0.0
        for i in 0..<mu.count {
            let sigmaValue = Double(s[i])
            total += Self.negativeEntropy(sigmaValue) - logDensity(Double(m[i]) + sigmaValue * Double(e[i]))
        }
        return total
    }

    /// The estimate averaged over `reportingSamples` draws per weight from `reportingSeed` (what
    /// `MeanFieldNormal.klDivergence()` reports).
    public func divergence(mu: Tensor, sigma: Tensor) -> Double {
        var generator = RandomGenerator(seed: Self.reportingSeed)
        let noise = Tensor(shape: [mu.count])
        var total = 0.0
        for _ in 0..<Self.reportingSamples {
            generator.fillNormal(noise)
            total += estimate(mu: mu, sigma: sigma, noise: noise)
        }
        return total / Double(Self.reportingSamples)
    }

    /// Adds `scale · ∂KL̂/∂μ` to `mu.gradient` and `scale · ∂KL̂/∂ρ` to `rho.gradient` for the one-draw
    /// estimate with draws `noise`, given σ and sigmoid(ρ) already computed from ρ.
    ///
    /// Blocks of 1,024 weights, split over the threads: the log-odds of a block go through
    /// `VectorMath.exp` at once, then one vectorisable pass finishes the gradient.
    public func accumulateGradient(mu: Parameter, rho: Parameter, sigma: Tensor, sigmoid: Tensor, noise: Tensor, scale: Float) {
        let count = mu.value.count
        precondition(rho.value.count == count && sigma.count == count && sigmoid.count == count && noise.count == count,
                     "μ, ρ, σ, sigmoid(ρ) and ε must have the same size")
        let m = SendablePointer(mu.value.pointer), s = SendablePointer(sigma.pointer), d = SendablePointer(sigmoid.pointer)
        let e = SendablePointer(noise.pointer), gm = SendablePointer(mu.gradient.pointer), gr = SendablePointer(rho.gradient.pointer)
        let atZero = Float(logOddsAtZero), slope = Float(logOddsSlope)
        let precision1 = Float(precision1), precision2 = Float(precision2)
        let block = 1024
        Parallel.forChunks(of: (count + block - 1) / block, minimumChunk: 16) { blocks in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { scratch in
                let weight = scratch.baseAddress!, odds = weight + block
                for index in blocks {
                    let first = index * block, n = min(block, count - first)
                    let mu = m.pointer + first, sigma = s.pointer + first, noise = e.pointer + first
                    for i in 0..<n {
                        let w = mu[i] + sigma[i] * noise[i]
                        weight[i] = w
                        odds[i] = atZero - slope * w * w
                    }
                    VectorMath.exp(odds, odds, count: n)
                    let sigmoid = d.pointer + first, muGradient = gm.pointer + first, rhoGradient = gr.pointer + first
                    for i in 0..<n {
                        // r₁ = 1/(1 + e^d), r₂ = e^d/(1 + e^d), each from the side that keeps its relative accuracy.
                        let ratio = odds[i]
                        let first = 1 / (1 + ratio)
                        let second = ratio > 1 ? 1 - first : ratio * first
                        let score = -weight[i] * (first * precision1 + second * precision2)  // ψ(w)
                        muGradient[i] += scale * -score
                        rhoGradient[i] += scale * (-1 / sigma[i] - score * noise[i]) * sigmoid[i]
                    }
                }
            }
        }
    }
}
