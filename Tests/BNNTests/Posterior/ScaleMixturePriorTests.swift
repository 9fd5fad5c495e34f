import Foundation
import Testing
@testable import BNN

/// The scale-mixture prior (Blundell et al. 2015, eq. 7): its density against hand values, its Monte Carlo
/// KL and gradient against finite differences (same draws) and against a numerically integrated KL, and
/// its storage in configurations and model files.
@Suite struct ScaleMixturePriorTests {
    let mixture = ScaleMixtureKL(pi: 0.3, sigma1: 0.8, sigma2: 0.05)

    /// KL(N(μ, σ²) ‖ p) of one weight by quadrature: −log σ − ½log(2π) − ½ − ∫ N(ε) log p(μ + σε) dε, the
    /// integral by Simpson's rule on [−12, 12] with 24,000 intervals (the integrand is smooth; the tails
    /// beyond 12 weigh less than 1e-30).
    func integratedKL(mu: Double, sigma: Double, _ mixture: ScaleMixtureKL) -> Double {
        let intervals = 24_000, low = -12.0, high = 12.0, h = (high - low) / Double(intervals)
        var sum = 0.0
        for k in 0...intervals {
            let e = low + Double(k) * h
            let weight: Double = k == 0 || k == intervals ? 1 : (k % 2 == 1 ? 4 : 2)
            sum += weight * Foundation.exp(-0.5 * e * e) / (2 * Double.pi).squareRoot() * mixture.logDensity(mu + sigma * e)
        }
        return -Foundation.log(sigma) - 0.5 * Foundation.log(2 * Double.pi) - 0.5 - sum * h / 3
    }

    func block(count: Int, prior: Prior, seed: UInt64) -> MeanFieldNormal {
        let block = MeanFieldNormal(name: "weight", shape: [count], fanIn: 0, prior: prior)
        var generator = RandomGenerator(seed: seed)
        generator.fillNormal(block.mu.value, standardDeviation: 0.2)
        generator.fillNormal(block.rho.value, mean: -3, standardDeviation: 1)
        block.parametersDidChange()
        return block
    }

    @Test func densityAgainstHandValues() {
        // π = ½, σ₁ = 1, σ₂ = e⁻⁶ at w = 0: log(½·φ(0)·(1 + e⁶)), φ(0) = 1/√(2π).
        let blundell = ScaleMixtureKL(pi: 0.5, sigma1: 1, sigma2: Float(exp(-6.0)))
        let sigma2 = Double(Float(exp(-6.0)))
        #expect(abs(blundell.logDensity(0) - log(0.5 / (2 * Double.pi).squareRoot() * (1 + 1 / sigma2))) < 1e-9)
        // Far from 0 only the wide component counts: log(½·N(3; 0, 1)) (the narrow one is e^(−e¹²·4.5)).
        #expect(abs(blundell.logDensity(3) - (log(0.5) - 4.5 - 0.5 * log(2 * Double.pi))) < 1e-9)
        // Equal components are one Normal, whatever π.
        let equal = ScaleMixtureKL(pi: 0.2, sigma1: 0.5, sigma2: 0.5)
        #expect(abs(equal.logDensity(0.7) - (-log(0.5) - 0.5 * log(2 * Double.pi) - 0.5 * 0.49 / 0.25)) < 1e-9)
    }

    /// With two equal components the mixture is N(0, s²): the quadrature KL must equal the closed form,
    /// which checks the quadrature used below.
    @Test func integratedKLOfEqualComponentsIsTheClosedForm() {
        let equal = ScaleMixtureKL(pi: 0.4, sigma1: 0.7, sigma2: 0.7)
        let s = Double(Float(0.7))
        for (mu, sigma) in [(0.0, 0.7), (0.3, 0.1), (-1.2, 2.0)] {
            let closed = log(s / sigma) + (sigma * sigma + mu * mu) / (2 * s * s) - 0.5
            #expect(abs(integratedKL(mu: mu, sigma: sigma, equal) - closed) < 1e-8, "μ \(mu), σ \(sigma)")
        }
    }

    /// The gradient of the one-draw estimate against central differences of the estimate with the same draws.
    @Test func gradientMatchesFiniteDifferencesWithFixedDraws() {
        let prior = Prior.scaleMixture(pi: 0.3, sigma1: 0.8, sigma2: 0.05)
        let block = block(count: 40, prior: prior, seed: 3)
        var generator = RandomGenerator(seed: 8)
        block.drawKLNoise(generator: &generator)
        block.mu.gradient.fill(0)
        block.rho.gradient.fill(0)
        block.accumulateKLGradient(scale: 1)
        let estimate = { () -> Double in block.parametersDidChange(); return block.klEstimateWithDrawnNoise()! }
        var worst: Float = 0
        for parameter in [block.mu, block.rho] {
            for index in 0..<block.count {
                let numeric = centralDifference(estimate, in: parameter.value, at: index, step: 1e-3)
                let exact = parameter.gradient.pointer[index]
                let error = abs(exact - numeric) / max(1, abs(numeric))
                worst = max(worst, error)
                #expect(error < 5e-3, "\(parameter.name)[\(index)]: analytic \(exact), numeric \(numeric)")
            }
        }
        block.parametersDidChange()
        #expect(worst > 0)  // the check compared numbers, not two zeros
    }

    /// The one-draw gradient is unbiased: its mean over many draws against central differences of the
    /// integrated KL of a single weight, within four standard errors, at weights where either component
    /// dominates and between them.
    @Test(arguments: [(0.0, 0.03), (0.04, 0.02), (0.3, 0.1), (-1.0, 0.5)])
    func meanGradientMatchesIntegratedKL(mu: Float, sigma: Float) {
        let prior = Prior.scaleMixture(pi: 0.3, sigma1: 0.8, sigma2: 0.05)
        let block = MeanFieldNormal(name: "w", shape: [1], fanIn: 0, prior: prior)
        block.mu.value[0] = mu
        block.rho.value[0] = inverseSoftplus(sigma)
        block.parametersDidChange()
        let sigmaValue = Double(block.sigma[0]), sigmoid = Double(block.sigmoid[0])
        var generator = RandomGenerator(seed: 21)
        let draws = 40_000
        var sums = (mu: 0.0, rho: 0.0), squares = (mu: 0.0, rho: 0.0)
        for _ in 0..<draws {
            block.drawKLNoise(generator: &generator)
            block.mu.gradient.fill(0)
            block.rho.gradient.fill(0)
            block.accumulateKLGradient(scale: 1)
            let gm = Double(block.mu.gradient[0]), gr = Double(block.rho.gradient[0])
            sums.mu += gm; sums.rho += gr
            squares.mu += gm * gm; squares.rho += gr * gr
        }
        let n = Double(draws)
        let mean = (mu: sums.mu / n, rho: sums.rho / n)
        let standardError = (mu: ((squares.mu / n - mean.mu * mean.mu) / n).squareRoot(),
                             rho: ((squares.rho / n - mean.rho * mean.rho) / n).squareRoot())
        let h = 1e-5
        let exactMu = (integratedKL(mu: Double(mu) + h, sigma: sigmaValue, mixture)
                       - integratedKL(mu: Double(mu) - h, sigma: sigmaValue, mixture)) / (2 * h)
        let exactSigma = (integratedKL(mu: Double(mu), sigma: sigmaValue + h, mixture)
                          - integratedKL(mu: Double(mu), sigma: sigmaValue - h, mixture)) / (2 * h)
        let exactRho = exactSigma * sigmoid
        #expect(abs(mean.mu - exactMu) < 4 * standardError.mu + 1e-3 * abs(exactMu),
                "∂/∂μ: mean \(mean.mu) ± \(standardError.mu), integrated \(exactMu)")
        #expect(abs(mean.rho - exactRho) < 4 * standardError.rho + 1e-3 * abs(exactRho),
                "∂/∂ρ: mean \(mean.rho) ± \(standardError.rho), integrated \(exactRho)")
    }

    /// The reported KL (8 draws per weight from a fixed seed) against the integrated KL summed over the
    /// block, and the same value every time.
    @Test func reportedKLMatchesIntegratedKL() {
        let prior = Prior.scaleMixture(pi: 0.3, sigma1: 0.8, sigma2: 0.05)
        let block = block(count: 2000, prior: prior, seed: 5)
        var exact = 0.0
        for i in 0..<block.count { exact += integratedKL(mu: Double(block.mu.value[i]), sigma: Double(block.sigma[i]), mixture) }
        let reported = block.klDivergence()
        #expect(reported == block.klDivergence())
        #expect(abs(reported - exact) < 0.01 * abs(exact), "reported \(reported), integrated \(exact)")
    }

    @Test func priorIsStoredInConfigurationsAndModelFiles() throws {
        // Old configurations (no `prior` key) decode as the Normal prior of `priorSigma`; the default's JSON has no such key.
        let encoded = try JSONEncoder().encode(TrainingConfiguration.default)
        #expect(!String(decoding: encoded, as: UTF8.self).contains("\"prior\""))
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: encoded)
        #expect(decoded.prior == nil && decoded.layerPrior == .normal(sigma: 1))
        var mixed = TrainingConfiguration.defaultCNN
        mixed.prior = .defaultScaleMixture
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(mixed)) == mixed)

        // A layer's configuration stores a Normal prior as `priorSigma` (files as before), a mixture as `prior`.
        let normal = BayesianDense(inputs: 3, outputs: 2, priorSigma: 0.5).configuration
        #expect(normal.priorSigma == 0.5 && normal.prior == nil)
        let dense = BayesianDense(inputs: 3, outputs: 2, estimator: .flipout, prior: .defaultScaleMixture)
        let convolution = BayesianConv2D(channels: 1, height: 6, width: 6, filters: 2, kernelSize: 3, estimator: .flipout,
                                         prior: .scaleMixture(pi: 0.25, sigma1: 2, sigma2: 0.01))
        let rebuilt = try NetworkBuilder.network(inputShape: [1, 6, 6], configurations: [
            convolution.configuration, LayerConfiguration(kind: "flatten"),
            LayerConfiguration(kind: "bayesian_dense", inputs: 32, outputs: 2, estimator: "flipout", prior: dense.prior),
        ])
        let layers = rebuilt.layers.compactMap { $0 as? BayesianConv2D }
        #expect(layers.first?.prior == .scaleMixture(pi: 0.25, sigma1: 2, sigma2: 0.01) && layers.first?.estimator == .flipout)
        #expect((rebuilt.layers.last as? BayesianDense)?.prior == .defaultScaleMixture)
        let json = try JSONDecoder().decode(LayerConfiguration.self, from: JSONEncoder().encode(dense.configuration))
        #expect(json == dense.configuration)
    }

    @Test func badPriorsAreNamed() throws {
        #expect(Prior.scaleMixture(pi: 1, sigma1: 1, sigma2: 0.1).invalidSetting?.contains("π is 1.0") == true)
        #expect(Prior.scaleMixture(pi: 0.5, sigma1: -1, sigma2: 0.1).invalidSetting?.contains("σ₁ is -1.0") == true)
        #expect(Prior.scaleMixture(pi: 0.5, sigma1: 1, sigma2: .nan).invalidSetting?.contains("σ₂ is nan") == true)
        #expect(Prior.normal(sigma: 0).invalidSetting != nil)
        var configuration = TrainingConfiguration.default
        configuration.prior = .scaleMixture(pi: 0, sigma1: 1, sigma2: 0.1)
        #expect(configuration.invalidSetting?.hasPrefix("prior: the mixture weight π is 0.0") == true)
        // A model file naming a bad prior is refused with the reason, not a trap.
        var stored = BayesianDense(inputs: 2, outputs: 2).configuration
        stored.prior = .scaleMixture(pi: 0.5, sigma1: 1, sigma2: -2)
        #expect(throws: NetworkBuilder.UnknownLayer.self) {
            try NetworkBuilder.network(inputShape: [2], configurations: [stored])
        }
        let unknown = Data(#"{"kind": "laplace", "scale": 1}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Prior.self, from: unknown) }
    }
}
