/// A Bayesian layer that folds the per-step work on its parameters — the closed-form KL gradient, the
/// chain rule from σ or σ² to ρ, Adam on μ and ρ, and the refresh of σ = softplus(ρ) for the next forward
/// pass — into one pass per tensor, instead of `accumulateKLGradient`, `Adam.step` and
/// `parametersDidChange` walking the same multi-megabyte arrays one after the other.
///
/// The arithmetic is the unfused sequence's, term for term (see `bnn_fused_bayes_adam`); only the
/// memory traffic differs. `Trainer` uses it for the layers that have it and the generic sequence for
/// the others (e.g. `BayesianConv2D`).
protocol FusedAdamLayer: BayesianLayer {
    /// While true, `backward` leaves the data gradient of ρ in the raw form that `fusedAdamStep` finishes
    /// (∂L/∂σ², or nothing beside the kept weight noise) instead of ∂L/∂ρ. Only a caller that follows
    /// every `backward` with `fusedAdamStep` may set it.
    var defersRhoGradient: Bool { get set }
    /// Adds `klScale · ∂KL/∂θ` to the data gradients, applies the Adam update with `constants` to every
    /// parameter of the layer (moments from `optimizer`), and refreshes the derived σ values.
    func fusedAdamStep(klScale: Float, optimizer: Adam, constants: Adam.StepConstants)
}
