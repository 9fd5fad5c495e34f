import Foundation
import CBNNKernels

/// How the posterior parameters start.
public enum PosteriorInitialization: String, Codable, Sendable {
    /// μ ~ N(0, 2/fan-in) (He et al. 2015) for weights, μ = 0 for biases, and σ = `initialSigma` everywhere.
    case he
    /// μ ~ N(0, 1) and ρ ~ N(0, 1), σ = softplus(ρ): the Pyro tutorial's initialisation.
    case standardNormal
}

/// A mean-field Normal posterior over one tensor of parameters, with a zero-mean prior:
/// `θ ~ N(μ, σ²)` element-wise, `σ = softplus(ρ) = log(1 + e^ρ)` so that ρ is unconstrained, and the prior
/// `N(0, s²)` or a scale mixture of two such Normals (`Prior`; Blundell et al. 2015).
///
/// The block owns μ and ρ (the trained parameters, saved as `<name>.mu` and `<name>.rho`), the values
/// derived from ρ (σ, σ² and sigmoid(ρ) = ∂σ/∂ρ, each recomputed only when read after ρ changed), its
/// initialisation, its KL divergence to the prior and the KL's gradient, and the noise ε of its last
/// weight sample (and, for a prior without a closed-form KL, the draws of the KL's Monte Carlo estimate).
/// A Bayesian layer holds one block per parameter tensor and only does its forward and
/// backward passes with them; optimisers (`Adam`) update the blocks directly.
///
/// **Gradients.** A layer's `backward` writes ∂L/∂μ of the data term into `mu.gradient`, and the data term's
/// gradient for ρ in whichever form its pass produces most cheaply, declared with `rhoGradient` (see
/// `RhoGradient`). `Adam` finishes the chain rule inside its fused step; anything else reads
/// `completeRhoGradient()` first.
public final class MeanFieldNormal: @unchecked Sendable {
    /// What `rho.gradient` holds after a layer's backward pass.
    public enum RhoGradient: Sendable {
        /// ∂L/∂ρ itself.
        case rho
        /// ∂L/∂σ² (local reparameterisation, where the output variance is linear in σ²):
        /// ∂L/∂ρ = ∂L/∂σ² · 2σ · sigmoid(ρ).
        case variance
        /// Nothing: the parameters were sampled as θ = μ + σ ⊙ ε (`sample`), so ∂L/∂θ = ∂L/∂μ and
        /// ∂L/∂ρ = ∂L/∂μ · ε · sigmoid(ρ) follow from `mu.gradient` and `noise`.
        case noise
        /// ∂L/∂σ (flipout, where the perturbation σ ⊙ ε is used apart from μ): ∂L/∂ρ = ∂L/∂σ · sigmoid(ρ).
        case sigma
    }

    /// The block's name within its layer, e.g. `weight`.
    public let name: String
    /// The posterior means.
    public let mu: Parameter
    /// The unconstrained scales, σ = softplus(ρ).
    public let rho: Parameter
    /// The prior over every parameter of the block.
    public let prior: Prior
    /// The prior's standard deviation (`Prior.standardDeviation`).
    public var priorSigma: Float { prior.standardDeviation }
    /// The Monte Carlo KL of a scale-mixture prior; nil for the Normal prior (closed form).
    let scaleMixture: ScaleMixtureKL?
    /// ε of the KL estimate's draw w = μ + σ ⊙ ε (`drawKLNoise`), for a prior without a closed-form KL.
    private let klNoise: Tensor?
    /// The number of inputs each parameter's unit sums over, for He initialisation; 0 for biases (μ = 0).
    public let fanIn: Int
    /// ε of the last `sample` call. Allocated on first use: training with local reparameterisation and
    /// the MLP's fast predictive path never sample weights.
    public private(set) lazy var noise = Tensor(shape: mu.value.shape)
    /// The form of the data gradient in `rho.gradient`, set by the layer's backward pass.
    public var rhoGradient: RhoGradient = .rho

    private let sigmaValues: Tensor
    private let varianceValues: Tensor
    /// Allocated when first read (only the `weights` estimator and the scale-mixture prior read it).
    private lazy var sigmoidValues = Tensor(shape: mu.value.shape)

    /// Which values derived from ρ are up to date. Each reader refreshes only what it reads, so that the
    /// fused training step (which writes σ² or σ itself) never pays for the others.
    struct Derived: OptionSet {
        let rawValue: UInt8
        static let sigma = Derived(rawValue: 1)
        static let variance = Derived(rawValue: 2)
        static let sigmoid = Derived(rawValue: 4)
        static let bfloat16Panels = Derived(rawValue: 8)
        static let sparsePanel = Derived(rawValue: 16)
    }
    private(set) var current: Derived = []
    /// μ and σ² packed for bfloat16 products (`bfloat16Panels(rows:columns:)`), allocated when first asked for.
    private var packedPanels: BFloat16Panels?
    /// μ and σ² packed for the sparse moments (`sparsePanel(rows:columns:)`), allocated when first asked for.
    private var packedSparsePanel: SparsePanel?

    /// A block of `shape` parameters named `name` (`<name>.mu`, `<name>.rho`), with prior N(0, `priorSigma`²).
    public convenience init(name: String, shape: [Int], fanIn: Int, priorSigma: Float = 1) {
        precondition(priorSigma > 0 && priorSigma.isFinite, "MeanFieldNormal needs a positive prior σ, got \(priorSigma)")
        self.init(name: name, shape: shape, fanIn: fanIn, prior: .normal(sigma: priorSigma))
    }

    /// A block of `shape` parameters named `name` (`<name>.mu`, `<name>.rho`), with `prior` on each.
    public init(name: String, shape: [Int], fanIn: Int, prior: Prior) {
        precondition(prior.invalidSetting == nil, "MeanFieldNormal: \(prior.invalidSetting ?? "")")
        self.name = name
        self.prior = prior
        scaleMixture = ScaleMixtureKL(prior)
        klNoise = prior.hasClosedFormKL ? nil : Tensor(shape: shape)
        self.fanIn = fanIn
        mu = Parameter(name: "\(name).mu", value: Tensor(shape: shape))
        rho = Parameter(name: "\(name).rho", value: Tensor(shape: shape))
        sigmaValues = Tensor(shape: shape)
        varianceValues = Tensor(shape: shape)
    }

    /// The number of parameters.
    public var count: Int { mu.value.count }

    /// σ = softplus(ρ), current.
    public var sigma: Tensor { refresh(.sigma); return sigmaValues }
    /// σ², current.
    public var variance: Tensor { refresh(.variance); return varianceValues }
    /// sigmoid(ρ) = ∂σ/∂ρ, current.
    public var sigmoid: Tensor { refresh(.sigmoid); return sigmoidValues }

    /// Initialises μ and ρ; `he` draws μ ~ N(0, 2/`fanIn`) (μ = 0 when `fanIn` is 0) and sets σ = `initialSigma`.
    public func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator) {
        switch initialization {
        case .he:
            if fanIn > 0 {
                generator.fillNormal(mu.value, standardDeviation: (2 / Float(fanIn)).squareRoot())
            } else {
                mu.value.fill(0)
            }
            rho.value.fill(inverseSoftplus(initialSigma))
        case .standardNormal:
            generator.fillNormal(mu.value)
            generator.fillNormal(rho.value)
        }
        parametersDidChange()
    }

    /// μ and σ², as a `rows × columns` row-major B (the layout of a dense layer's weights), rounded to
    /// bfloat16 and packed for `bnn_sgemm_bf16_packed`: packed once and again only after the parameters
    /// change, so that prediction does not convert the weights on every call. Nil where products cannot run
    /// in bfloat16 (`MatrixPrecision.bfloat16IsAvailable`) or for fewer than 16 rows.
    func bfloat16Panels(rows: Int, columns: Int) -> BFloat16Panels? {
        precondition(rows * columns == count, "\(name): \(rows) × \(columns) panels of \(count) parameters")
        if current.contains(.bfloat16Panels), let packed = packedPanels, packed.rows == rows { return packed }
        let panels = packedPanels.flatMap { $0.rows == rows ? $0 : nil } ?? BFloat16Panels(rows: rows, columns: columns)
        guard bnn_bf16_pack_rows(mu.value.pointer, columns, rows, columns, panels.mu) != 0,
              bnn_bf16_pack_rows(variance.pointer, columns, rows, columns, panels.variance) != 0 else { return nil }
        packedPanels = panels
        current.insert(.bfloat16Panels)
        return panels
    }

    /// μ and σ², as a `rows × columns` row-major matrix (a dense layer's weights), packed side by side in
    /// blocks of 32 columns for `bnn_sparse_moments` (`bnn_sparse_pack_panel`): packed once per change of
    /// the parameters, by all threads, instead of by every call for every block of rows. Nil below 32
    /// columns (nothing to pack).
    func sparsePanel(rows: Int, columns: Int) -> UnsafePointer<Float>? {
        precondition(rows * columns == count, "\(name): a \(rows) × \(columns) panel of \(count) parameters")
        let length = bnn_sparse_panel_length(rows, columns)
        guard length > 0 else { return nil }
        if current.contains(.sparsePanel), let packed = packedSparsePanel, packed.rows == rows { return UnsafePointer(packed.values) }
        let panel = packedSparsePanel.flatMap { $0.rows == rows ? $0 : nil } ?? SparsePanel(rows: rows, columns: columns, length: length)
        let mu = SendablePointer(mu.value.pointer), variance = SendablePointer(variance.pointer)
        let values = SendablePointer(panel.values)
        Parallel.forChunks(of: columns / Int(BNN_SPARSE_PANEL_COLUMNS)) { blocks in
            bnn_sparse_pack_panel(mu.pointer, variance.pointer, rows, columns, values.pointer, blocks.lowerBound, blocks.upperBound)
        }
        packedSparsePanel = panel
        current.insert(.sparsePanel)
        return UnsafePointer(panel.values)
    }

    /// The sparse moments' panel once packed, for an optimiser step to refresh with the new μ and σ²
    /// (`bnn_fused_adam_arguments.panel`); nil until `sparsePanel(rows:columns:)` is first asked for.
    var sparsePanelForStep: SparsePanel? { packedSparsePanel }

    /// Call after changing μ or ρ other than through an optimiser step (loading, tests).
    public func parametersDidChange() { current = [] }

    /// Recomputes whichever of σ, σ² and sigmoid(ρ) in `needed` is stale, in one pass over ρ.
    func refresh(_ needed: Derived) {
        let missing = needed.subtracting(current)
        if missing.isEmpty { return }
        let count = rho.value.count
        let rhoPointer = SendablePointer(rho.value.pointer)
        let sigma = SendablePointer(sigmaValues.pointer), variance = SendablePointer(varianceValues.pointer)
        let sigmoid = missing.contains(.sigmoid) ? SendablePointer(sigmoidValues.pointer) : nil
        // Whole cache lines per thread, so that the two threads never write the same line.
        Parallel.forChunks(of: (count + 15) / 16, minimumChunk: 1 << 12) { blocks in
            let first = blocks.lowerBound * 16, last = min(count, blocks.upperBound * 16)
            bnn_fused_refresh(rhoPointer.pointer + first, missing.contains(.sigma) ? sigma.pointer + first : nil,
                              missing.contains(.variance) ? variance.pointer + first : nil,
                              sigmoid.map { $0.pointer + first }, last - first)
        }
        current.formUnion(missing)
    }

    /// Draws θ = μ + σ ⊙ ε into `sampled` (shaped like μ), keeping ε in `noise` for the backward pass. The
    /// noise is `generator.fillNormal`'s stream, drawn and used in one pass (`bnn_fused_sample_weights`).
    public func sample(into sampled: Tensor, generator: inout RandomGenerator) {
        precondition(sampled.count == count, "\(name): sample into \(sampled.count) values, the block has \(count)")
        refresh(.sigma)
        let key = generator.next()
        let count = count
        let mean = SendablePointer(mu.value.pointer), sigma = SendablePointer(sigmaValues.pointer)
        let noise = SendablePointer(noise.pointer), output = SendablePointer(sampled.pointer)
        // Whole 64-draw groups of the stream per thread, so that no group is generated twice.
        Parallel.forChunks(of: (count + 63) / 64, minimumChunk: 1 << 10) { groups in
            let first = groups.lowerBound * 64, last = min(count, groups.upperBound * 64)
            bnn_fused_sample_weights(mean.pointer, sigma.pointer, noise.pointer, output.pointer, first, last - first, key)
        }
    }

    /// Draws ΔW = σ ⊙ ε into `perturbation` (shaped like μ), keeping ε in `noise`: the weight sample less
    /// its mean, for flipout (same stream as `sample`).
    public func samplePerturbation(into perturbation: Tensor, generator: inout RandomGenerator) {
        precondition(perturbation.count == count, "\(name): sample into \(perturbation.count) values, the block has \(count)")
        refresh(.sigma)
        let key = generator.next()
        let count = count
        let sigma = SendablePointer(sigmaValues.pointer)
        let noise = SendablePointer(noise.pointer), output = SendablePointer(perturbation.pointer)
        Parallel.forChunks(of: (count + 63) / 64, minimumChunk: 1 << 10) { groups in
            let first = groups.lowerBound * 64, last = min(count, groups.upperBound * 64)
            bnn_fused_sample_weights(nil, sigma.pointer, noise.pointer, output.pointer, first, last - first, key)
        }
    }

    /// Turns the data gradient in `rho.gradient` into ∂L/∂ρ (see `RhoGradient`), for callers other than
    /// `Adam`'s fused step.
    public func completeRhoGradient() {
        let gradient = rho.gradient.pointer, n = count
        switch rhoGradient {
        case .rho:
            return
        case .variance:
            let s = sigma.pointer, d = sigmoid.pointer
            for i in 0..<n { gradient[i] *= 2 * s[i] * d[i] }
        case .noise:
            let gm = mu.gradient.pointer, e = noise.pointer, d = sigmoid.pointer
            for i in 0..<n { gradient[i] = gm[i] * e[i] * d[i] }
        case .sigma:
            Elementwise.scale(gradient, by: sigmoid.pointer, count: n)
        }
        rhoGradient = .rho
    }

    /// KL(q ‖ p) summed over the block, in nats: exact for the Normal prior (`GaussianKL`), a Monte Carlo
    /// estimate from a fixed seed for the scale mixture (`ScaleMixtureKL.divergence`, the same value for the
    /// same posterior).
    public func klDivergence() -> Double {
        if let scaleMixture { return scaleMixture.divergence(mu: mu.value, sigma: sigma) }
        guard case .normal(let priorSigma) = prior else { preconditionFailure("a prior without a closed-form KL has no ScaleMixtureKL") }
        return GaussianKL.divergence(mu: mu.value, sigma: sigma, priorSigma: priorSigma)
    }

    /// Draws the ε of the next KL gradient's one-sample Monte Carlo estimate, for a prior without a
    /// closed-form KL (nothing otherwise, so that the generator's stream is untouched). Independent of the
    /// data term's noise, so that the two estimates are independent and each unbiased; the trainer calls
    /// it once per step.
    public func drawKLNoise(generator: inout RandomGenerator) {
        if let klNoise { generator.fillNormal(klNoise) }
    }

    /// Adds `scale · ∂KL/∂θ` to the gradients of μ and ρ; `rho.gradient` must hold ∂L/∂ρ (`completeRhoGradient`).
    /// For the scale mixture, the gradient of the one-draw estimate with the draws of the last `drawKLNoise`.
    public func accumulateKLGradient(scale: Float) {
        precondition(rhoGradient == .rho, "\(name): complete the ρ gradient before adding the KL gradient")
        if let scaleMixture, let klNoise {
            scaleMixture.accumulateGradient(mu: mu, rho: rho, sigma: sigma, sigmoid: sigmoid, noise: klNoise, scale: scale)
        } else if case .normal(let priorSigma) = prior {
            GaussianKL.accumulateGradient(mu: mu, rho: rho, sigma: sigma, sigmoid: sigmoid, priorSigma: priorSigma, scale: scale)
        }
    }

    /// The one-draw KL estimate with the draws of the last `drawKLNoise` (scale mixture only; for tests
    /// of its gradient).
    func klEstimateWithDrawnNoise() -> Double? {
        guard let scaleMixture, let klNoise else { return nil }
        return scaleMixture.estimate(mu: mu.value, sigma: sigma, noise: klNoise)
    }

    /// What the fused optimiser step refreshes from the new ρ: σ², which the local-reparameterisation
    /// pass reads, when the gradient came from it, else σ, which weight sampling reads.
    var refreshedByStep: Derived { rhoGradient == .variance ? .variance : .sigma }

    /// The storage of a derived value, for the fused optimiser step.
    func storage(_ value: Derived) -> Tensor {
        switch value {
        case .sigma: return sigmaValues
        case .variance: return varianceValues
        default: return sigmoidValues
        }
    }

    /// Records that an optimiser step changed μ and ρ and wrote `refreshed` from the new ρ.
    func stepDidUpdate(refreshed: Derived) {
        current = refreshed
        rhoGradient = .rho
    }
}

/// softplus⁻¹(σ) = log(e^σ − 1), the ρ that gives standard deviation σ.
@inlinable
public func inverseSoftplus(_ sigma: Float) -> Float {
    sigma > 20 ? sigma : Foundation.log(Foundation.expm1(sigma))
}

/// A block's μ and σ² rounded to bfloat16 in the panel layout of `bnn_sgemm_bf16_packed` (see
/// `MeanFieldNormal.bfloat16Panels(rows:columns:)`).
final class BFloat16Panels: @unchecked Sendable {
    let rows: Int, columns: Int
    let mu: UnsafeMutablePointer<UInt16>
    let variance: UnsafeMutablePointer<UInt16>

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        let length = max(1, bnn_bf16_packed_length(rows, columns))
        mu = .allocate(capacity: length)
        variance = .allocate(capacity: length)
    }

    deinit {
        mu.deallocate()
        variance.deallocate()
    }
}

/// A block's μ and σ² packed for `bnn_sparse_moments` (see `MeanFieldNormal.sparsePanel(rows:columns:)`),
/// aligned to cache lines.
final class SparsePanel: @unchecked Sendable {
    let rows: Int, columns: Int
    let values: UnsafeMutablePointer<Float>

    init(rows: Int, columns: Int, length: Int) {
        self.rows = rows
        self.columns = columns
        values = UnsafeMutableRawPointer.allocate(byteCount: length * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: length)
    }

    deinit { values.deallocate() }
}
