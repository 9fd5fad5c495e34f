import Foundation

/// The KL divergence of a mean-field Normal posterior from a zero-mean Normal prior, and its gradient,
/// used by `MeanFieldNormal`; its one C twin is the KL term of `bnn_fused_bayes_adam` (tested against it).
///
/// Per parameter, with σ = softplus(ρ) and prior N(0, s²):
///
///     KL(N(μ, σ²) ‖ N(0, s²)) = log(s/σ) + (σ² + μ²) / (2s²) − ½,
///     ∂KL/∂μ = μ / s²,   ∂KL/∂ρ = (σ/s² − 1/σ) · sigmoid(ρ).
///
/// (Blundell et al. 2015, with the Gaussian prior in closed form.)
public enum GaussianKL {
    /// Σ KL over `mu.count` parameters, accumulated in Double.
    public static func divergence(mu: Tensor, sigma: Tensor, priorSigma: Float) -> Double {
        precondition(mu.count == sigma.count, "μ has \(mu.count) values, σ has \(sigma.count)")
        let inversePriorVariance = 1 / (Double(priorSigma) * Double(priorSigma))
        let logPrior = Foundation.log(Double(priorSigma))
        let m = mu.pointer, s = sigma.pointer
        var total = 0.0
        for i in 0..<mu.count {
            let sigmaValue = Double(s[i]), muValue = Double(m[i])
            total += logPrior - Foundation.log(sigmaValue) + 0.5 * (sigmaValue * sigmaValue + muValue * muValue) * inversePriorVariance - 0.5
        }
        return total
    }

    /// Adds `scale · ∂KL/∂μ` to `mu.gradient` and `scale · ∂KL/∂ρ` to `rho.gradient`, given σ and
    /// sigmoid(ρ) already computed from ρ.
    public static func accumulateGradient(mu: Parameter, rho: Parameter, sigma: Tensor, sigmoid: Tensor, priorSigma: Float, scale: Float) {
        precondition(mu.value.count == rho.value.count && sigma.count == mu.value.count && sigmoid.count == mu.value.count,
                     "μ, ρ, σ and sigmoid(ρ) must have the same size")
        let inversePriorVariance = 1 / (priorSigma * priorSigma)
        let m = mu.value.pointer, s = sigma.pointer, d = sigmoid.pointer
        let gm = mu.gradient.pointer, gr = rho.gradient.pointer
        for i in 0..<mu.value.count {
            gm[i] += scale * m[i] * inversePriorVariance
            gr[i] += scale * (s[i] * inversePriorVariance - 1 / s[i]) * d[i]
        }
    }
}
