import Foundation

/// The prior over every parameter of a mean-field posterior block: the same zero-mean distribution for each
/// weight, independently.
///
/// - `normal(sigma:)`: `p(w) = N(w; 0, s²)`. Its KL divergence from a Normal posterior has a closed form
///   (`GaussianKL`).
/// - `scaleMixture(pi:sigma1:sigma2:)`: `p(w) = π·N(w; 0, σ₁²) + (1 − π)·N(w; 0, σ₂²)` (Blundell et al. 2015,
///   "Weight Uncertainty in Neural Networks", eq. 7): a wide component for the weights that matter and a
///   narrow one (σ₂ ≪ σ₁) that pulls the others towards 0. Its KL divergence has no closed form and is
///   estimated by Monte Carlo (`ScaleMixtureKL`).
///
/// In JSON (model files, `TrainingConfiguration`): `{"kind": "normal", "sigma": s}` or
/// `{"kind": "scaleMixture", "pi": π, "sigma1": σ₁, "sigma2": σ₂}`.
public enum Prior: Sendable, Equatable, Codable {
    case normal(sigma: Float)
    case scaleMixture(pi: Float, sigma1: Float, sigma2: Float)

    /// Blundell et al.'s mixture as we use it: π = ½, σ₁ = 1 (the Normal prior of our recipes) and
    /// σ₂ = e⁻⁶ ≈ 0.0025 (among the values the paper searched, and below the 0.01–0.03 that our He-initialised
    /// posteriors start at, so that the narrow component pulls only the weights that shrink).
    public static let defaultScaleMixture = Prior.scaleMixture(pi: 0.5, sigma1: 1, sigma2: Float(Foundation.exp(-6.0)))

    /// Whether KL(q ‖ p) from a Normal posterior has a closed form (else it is estimated by sampling).
    public var hasClosedFormKL: Bool {
        if case .normal = self { return true }
        return false
    }

    /// The prior's standard deviation: `s`, or `√(π σ₁² + (1 − π) σ₂²)` for the mixture.
    public var standardDeviation: Float {
        switch self {
        case .normal(let sigma): return sigma
        case .scaleMixture(let pi, let sigma1, let sigma2): return (pi * sigma1 * sigma1 + (1 - pi) * sigma2 * sigma2).squareRoot()
        }
    }

    /// What is wrong with the prior's settings, as "σ₁ is -1; must be a positive number", or nil when it is usable.
    public var invalidSetting: String? {
        func positive(_ value: Float) -> Bool { value.isFinite && value > 0 }
        switch self {
        case .normal(let sigma):
            return positive(sigma) ? nil : "the prior σ is \(sigma); must be a positive number"
        case .scaleMixture(let pi, let sigma1, let sigma2):
            if !(pi.isFinite && pi > 0 && pi < 1) {
                return "the mixture weight π is \(pi); must be strictly between 0 and 1 (π = 1 is the Normal prior N(0, σ₁²))"
            }
            if !positive(sigma1) { return "the mixture's σ₁ is \(sigma1); must be a positive number" }
            if !positive(sigma2) { return "the mixture's σ₂ is \(sigma2); must be a positive number" }
            return nil
        }
    }

    /// A short description for logs: "N(0, 1)" or "0.5·N(0, 1²) + 0.5·N(0, 0.00248²)".
    public var summary: String {
        switch self {
        case .normal(let sigma): return "N(0, \(sigma)²)"
        case .scaleMixture(let pi, let sigma1, let sigma2):
            return String(format: "%g·N(0, %g²) + %g·N(0, %g²)", pi, sigma1, 1 - pi, sigma2)
        }
    }

    private enum CodingKeys: String, CodingKey { case kind, sigma, pi, sigma1, sigma2 }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        switch kind {
        case "normal":
            self = .normal(sigma: try container.decode(Float.self, forKey: .sigma))
        case "scaleMixture":
            self = .scaleMixture(pi: try container.decode(Float.self, forKey: .pi),
                                 sigma1: try container.decode(Float.self, forKey: .sigma1),
                                 sigma2: try container.decode(Float.self, forKey: .sigma2))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container,
                                                   debugDescription: "unknown prior kind '\(kind)'; expected normal or scaleMixture")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .normal(let sigma):
            try container.encode("normal", forKey: .kind)
            try container.encode(sigma, forKey: .sigma)
        case .scaleMixture(let pi, let sigma1, let sigma2):
            try container.encode("scaleMixture", forKey: .kind)
            try container.encode(pi, forKey: .pi)
            try container.encode(sigma1, forKey: .sigma1)
            try container.encode(sigma2, forKey: .sigma2)
        }
    }
}
