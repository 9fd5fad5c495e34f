/// The network family to build.
public enum Architecture: String, Codable, Sendable, CaseIterable {
    /// 784 → hidden (ReLU) → 10, Bayesian dense layers (the tutorial's network).
    case mlp
    /// A LeNet-style convolutional network with Bayesian layers.
    case cnn
}

/// How the KL term of the ELBO is weighted per minibatch.
public enum KLScaling: String, Codable, Sendable {
    /// −ELBO/N per example: each minibatch step sees `klWeight · KL / N` (Blundell et al. 2015, eq. 8 with
    /// equal weights), so that one epoch counts the KL once.
    case perExample
    /// The KL counted in full at every minibatch, as the Pyro tutorial's loss did (per example: KL / B).
    /// Over an epoch the KL is counted N/B times: a far stronger pull to the prior.
    case perBatch
}

/// How the learning rate changes over training.
public enum LearningRateSchedule: String, Codable, Sendable {
    case constant
    /// Cosine decay from the initial rate to `finalLearningRateFraction` of it (Loshchilov & Hutter 2017).
    case cosine
}

/// What kind of model training makes: the Bayesian posterior, or one of the baselines it is compared with.
public enum TrainingMethod: String, Codable, Sendable, CaseIterable {
    /// Mean-field variational inference over every weight (Bayesian layers, the ELBO).
    case bayes
    /// The same architecture with point weights (`Dense`, `Conv2D`), trained by Adam on the cross-entropy
    /// (plus outlier exposure when configured); no KL term and no weight decay.
    case deterministic
    /// Point weights with a `Dropout` layer after every hidden ReLU, kept on in prediction (Monte Carlo
    /// dropout, Gal & Ghahramani 2016); trained like `deterministic` (no weight decay).
    case mcDropout = "mc-dropout"
    /// K independently initialised networks of `memberMethod`, predicted as an equal-weight mixture
    /// (`Ensemble`; Lakshminarayanan et al. 2017).
    case ensemble
}

/// Every setting of a training run. Stored in the model file, so a model says how it was made.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public var recipe: String
    public var architecture: Architecture
    public var hidden: Int
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var learningRateSchedule: LearningRateSchedule
    public var finalLearningRateFraction: Float
    public var priorSigma: Float
    public var initialSigma: Float
    public var initialization: PosteriorInitialization
    public var estimator: GradientEstimator
    public var klWeight: Float
    public var klScaling: KLScaling
    public var seed: UInt64
    /// The images at the end of the training file held out for validation and calibration.
    public var validationCount: Int
    /// The share of validation digits the `calibrated` rule must accept.
    public var calibrationCoverage: Float
    /// Posterior samples used to calibrate the refusal threshold.
    public var calibrationSamples: Int
    /// Outlier exposure (Hendrycks, Mazeika & Dietterich 2019): when set, every minibatch also carries
    /// `batchSize / 16` synthetic non-digits (`SyntheticOutliers.tileShuffled` of its own digits) whose
    /// target is the uniform distribution, and the data term gains this weight times their mean
    /// cross-entropy to it. Nil (also in model files written before it existed) means off.
    public var outlierWeight: Float? = nil
    /// Under outlier exposure: the name of the file or folder of real non-examples the outliers were drawn
    /// from (`bnn train --outliers`); nil (also in model files written before it existed) means they were
    /// made from the training examples.
    public var outlierSource: String? = nil
    /// Under `outlierSource`: the share of each minibatch's outliers drawn from it, the rest made from the
    /// batch's own examples as without a source (`SyntheticOutliers.exposure`), so that a model learns both
    /// real non-examples and the rearranged strokes that give away noise and frame-filling shapes. Nil (also
    /// in model files written before it existed) means all of them.
    public var outlierPoolShare: Float? = nil
    /// The names of the files or folders of labelled examples added to the training split (`bnn train
    /// --extra-train`, comma-separated when there are several); nil (also in model files written before it
    /// existed) means none.
    public var extraTrainingSource: String? = nil
    /// Random shape changes of the training images (`ImageAugmentation`), applied to each minibatch's
    /// images before outlier exposure draws from them; nil (also in model files written before it existed)
    /// means none.
    public var augmentation: ImageAugmentation? = nil
    /// What kind of model is trained; nil (also in model files written before methods existed) means `bayes`.
    public var method: TrainingMethod? = nil
    /// `ensemble`: the number of members K (at least 2).
    public var members: Int? = nil
    /// `ensemble`: how each member is trained; nil means `deterministic`.
    public var memberMethod: TrainingMethod? = nil
    /// `mc-dropout` (also as an ensemble's member method): the dropout rate p; nil means `defaultDropoutRate`.
    public var dropoutRate: Float? = nil

    /// The method, `bayes` when none is recorded.
    public var trainingMethod: TrainingMethod { method ?? .bayes }
    /// The method of an ensemble's members (`deterministic` when none is recorded).
    public var ensembleMemberMethod: TrainingMethod { memberMethod ?? .deterministic }
    /// The dropout rate of `mc-dropout` networks.
    public var effectiveDropoutRate: Float { dropoutRate ?? Self.defaultDropoutRate }

    /// How the weights are fitted, in words: "local estimator", "deterministic", "mc-dropout p = 0.25",
    /// "ensemble of 5 deterministic" (for progress lines and the report).
    public var methodDescription: String {
        func describe(_ method: TrainingMethod) -> String {
            switch method {
            case .bayes: return "\(estimator.rawValue) estimator" + (prior.map { ", prior \($0.summary)" } ?? "")
            case .mcDropout: return "mc-dropout p = \(effectiveDropoutRate)"
            case .deterministic, .ensemble: return method.rawValue
            }
        }
        guard trainingMethod == .ensemble else { return describe(trainingMethod) }
        return "ensemble of \(members ?? 0) \(describe(ensembleMemberMethod))"
    }

    /// The dropout rate when none is given: chosen on MNIST's validation split among 0.1, 0.25 and 0.5
    /// (docs/recipes.md, "Baselines: the dropout rate", has the runs).
    public static let defaultDropoutRate: Float = 0.25
    /// The most members an ensemble may have.
    public static let maximumMembers = 100

    /// This configuration set to train `method`, with `members` and `memberMethod` for an ensemble and
    /// `dropoutRate` for Monte Carlo dropout (nil keeps the defaults). A network without randomness in
    /// prediction has one distinct sample, so `deterministic` calibrates (and predicts by default) with
    /// one sample and an ensemble of deterministic members with one per member; the other methods keep
    /// the recipe's sample count.
    public func with(method: TrainingMethod, members: Int? = nil, memberMethod: TrainingMethod? = nil,
                     dropoutRate: Float? = nil) -> TrainingConfiguration {
        var settings = self
        settings.method = method
        settings.members = method == .ensemble ? (members ?? 5) : nil
        settings.memberMethod = method == .ensemble ? memberMethod : nil
        let usesDropout = method == .mcDropout || (method == .ensemble && settings.ensembleMemberMethod == .mcDropout)
        settings.dropoutRate = usesDropout ? dropoutRate : nil
        switch method {
        case .deterministic: settings.calibrationSamples = 1
        case .ensemble where settings.ensembleMemberMethod == .deterministic: settings.calibrationSamples = settings.members ?? 5
        default: break
        }
        return settings
    }

    /// The configuration each member of an ensemble is trained with: the member method, the member's own
    /// seed (`memberSeed`), and no ensemble settings.
    public func memberConfiguration(_ index: Int) -> TrainingConfiguration {
        var settings = self
        settings.method = ensembleMemberMethod
        settings.members = nil
        settings.memberMethod = nil
        settings.seed = Self.memberSeed(seed, member: index)
        return settings
    }

    /// Member k's seed: a 64-bit mix of the ensemble's seed and k, so that members start from independent
    /// initialisations and minibatch orders.
    public static func memberSeed(_ seed: UInt64, member: Int) -> UInt64 { SampleKeys.mix(seed, UInt64(member)) }
    /// A prior other than N(0, `priorSigma`²) on every weight and bias: `Prior.scaleMixture` (Blundell et al.
    /// 2015). Nil (also in model files written before it existed) means the Normal prior of `priorSigma`.
    public var prior: Prior? = nil

    /// The prior of every Bayesian layer: `prior`, else N(0, `priorSigma`²).
    public var layerPrior: Prior { prior ?? .normal(sigma: priorSigma) }

    /// Synthetic non-digits per minibatch under outlier exposure (none when it is off).
    public var outliersPerBatch: Int {
        guard let outlierWeight, outlierWeight > 0 else { return 0 }
        return max(1, batchSize / 16)
    }

    /// Of `outliersPerBatch`, how many are drawn from a pool of real non-examples when one is given
    /// (`outlierPoolShare` of them, rounded; all when it is nil).
    public var pooledOutliersPerBatch: Int {
        let outliers = outliersPerBatch
        guard let outlierPoolShare else { return outliers }
        return min(outliers, Int((Float(outliers) * outlierPoolShare).rounded()))
    }

    /// Posterior samples of the validation accuracy recorded after each epoch: 10, or 5 for the CNN,
    /// whose every sample is a full pass of the network.
    public var validationSamples: Int { architecture == .cnn ? 5 : 10 }

    /// The tutorial's settings: μ, ρ ~ N(0, 1), Adam 0.01, one weight sample per minibatch, the KL counted
    /// in full every minibatch, 5 epochs, batch 128, prior N(0, 1).
    public static let seed = TrainingConfiguration(
        recipe: "seed", architecture: .mlp, hidden: 1024, epochs: 5, batchSize: 128, learningRate: 0.01,
        learningRateSchedule: .constant, finalLearningRateFraction: 1, priorSigma: 1, initialSigma: 1,
        initialization: .standardNormal, estimator: .weights, klWeight: 1, klScaling: .perBatch, seed: 0,
        validationCount: 5000, calibrationCoverage: 0.975, calibrationSamples: 100)

    /// Our best MLP for a budget of about three minutes on two cores (see README, "Choosing the recipe"):
    /// He-initialised means with σ₀ = 0.03, local reparameterisation, Adam 2e-3 with cosine decay over
    /// 30 epochs, prior N(0, 1), and the KL term weighted 0.2 (a tempered posterior: with weight 1 the
    /// 800k-weight posterior is pulled so close to the prior that training accuracy stays near 94%).
    /// These are the settings for any data; on MNIST, `bnn train`'s default recipe trains them
    /// `againstLetters()`, and `--recipe mnist-only` as they are.
    public static let `default` = TrainingConfiguration(
        recipe: "default", architecture: .mlp, hidden: 1024, epochs: 30, batchSize: 128, learningRate: 2e-3,
        learningRateSchedule: .cosine, finalLearningRateFraction: 0.05, priorSigma: 1, initialSigma: 0.03,
        initialization: .he, estimator: .local, klWeight: 0.2, klScaling: .perExample, seed: 0,
        validationCount: 5000, calibrationCoverage: 0.975, calibrationSamples: 100)

    /// The recipe named `name` (`default`, `mnist-only` or `seed`), or nil. On MNIST the `default` recipe
    /// is trained `againstLetters()`; on other data, and as `mnist-only`, it is these settings alone.
    public static func recipe(named name: String) -> TrainingConfiguration? {
        switch name {
        case "default": return .default
        case "mnist-only": return .default.renamed("mnist-only")
        case "seed": return .seed
        default: return nil
        }
    }

    /// This configuration recorded under another recipe name.
    public func renamed(_ recipe: String) -> TrainingConfiguration {
        var settings = self
        settings.recipe = recipe
        return settings
    }

    /// The KL weight of MNIST's default MLP when it is trained against letters: validation accuracy
    /// plateaus from 0.01 down, and the largest weight on the plateau keeps the widest posterior
    /// (docs/recipes.md, "Letters, symbols and unusual digits").
    public static let againstLettersKLWeight: Float = 0.01
    /// The same for the convolutional network, whose true-ELBO recipe (KL weight 1) it lightens.
    public static let againstLettersCNNKLWeight: Float = 0.1

    /// MNIST's default recipes as they are trained against printed letters and symbols, with printed and
    /// pen-written digits added to the training split (the data of `RecipeSets` in BNNData, passed to
    /// `ClassifierTraining.train` by the caller): outlier exposure at `ownDataOutlierWeight` unless one is
    /// set, half of each minibatch's outliers drawn from the letters and half made from its own digits,
    /// `ImageAugmentation.digits`, and a lighter KL term (`againstLettersKLWeight`, or
    /// `againstLettersCNNKLWeight` for the CNN). The weights must then store more, to refuse letters and
    /// read digits in other hands at once; at the MNIST-only KL weights that was paid in MNIST accuracy.
    /// Settings chosen on the near-OOD `-dev` sets and the validation split only.
    public func againstLetters() -> TrainingConfiguration {
        var settings = self
        settings.klWeight = architecture == .cnn ? Self.againstLettersCNNKLWeight : Self.againstLettersKLWeight
        settings.augmentation = .digits
        if (settings.outlierWeight ?? 0) == 0 { settings.outlierWeight = Self.ownDataOutlierWeight }
        settings.outlierPoolShare = 0.5
        return settings
    }

    /// The most hidden units of the MLP: 16,384 (784 × 16,384 weights, about 0.6 GB of parameters, gradients
    /// and optimiser state), far above the default 1,024 and small enough to fail before allocating.
    public static let maximumHidden = 16_384
    /// The most epochs and the largest minibatch a configuration may ask for.
    public static let maximumEpochs = 10_000

    /// The outlier-exposure weight for the user's own data when the configuration names none
    /// (`withOwnDataDefaults`): without it a ReLU network is sure of some class far from all its training
    /// data (the README's "Your own data" has the figures).
    public static let ownDataOutlierWeight: Float = 0.25

    /// This configuration for training on the user's own data: outlier exposure at
    /// `ownDataOutlierWeight` unless `outlierWeight` is set (0 turns it off). The MNIST recipes are
    /// unchanged; their settings were chosen on MNIST.
    public func withOwnDataDefaults() -> TrainingConfiguration {
        var settings = self
        if settings.outlierWeight == nil { settings.outlierWeight = Self.ownDataOutlierWeight }
        return settings
    }

    /// The fewest optimiser steps `scaledEpochs` aims for: a small set needs as many updates as a large one
    /// to move the posterior away from its initialisation, not as many passes.
    public static let minimumSteps = 2_000
    /// The most epochs `scaledEpochs` chooses.
    public static let maximumScaledEpochs = 500

    /// The epochs for a training set of `trainingCount` examples: the recipe's, or more when that gives
    /// fewer than `minimumSteps` minibatch steps (at most `maximumScaledEpochs`). On MNIST's 55,000
    /// training images the recipes already take more steps, so their epochs stand.
    public func scaledEpochs(trainingCount: Int) -> Int {
        let stepsPerEpoch = max(1, (trainingCount + batchSize - 1) / max(batchSize, 1))
        let needed = (Self.minimumSteps + stepsPerEpoch - 1) / stepsPerEpoch
        return min(max(epochs, needed), max(epochs, Self.maximumScaledEpochs))
    }
    public static let maximumBatchSize = 65_536

    /// The first setting out of range, as "name is value; must be …", or nil when every setting is usable.
    /// A model file's configuration is checked with this when it is loaded.
    public var invalidSetting: String? {
        func positive(_ value: Float) -> Bool { value.isFinite && value > 0 }
        func nonNegative(_ value: Float) -> Bool { value.isFinite && value >= 0 }
        if !(1...Self.maximumHidden).contains(hidden) { return "hidden is \(hidden); must be 1…\(Self.maximumHidden)" }
        if !(1...Self.maximumEpochs).contains(epochs) { return "epochs is \(epochs); must be 1…\(Self.maximumEpochs)" }
        if !(1...Self.maximumBatchSize).contains(batchSize) { return "batchSize is \(batchSize); must be 1…\(Self.maximumBatchSize)" }
        if !positive(learningRate) { return "learningRate is \(learningRate); must be a positive number" }
        if !(finalLearningRateFraction.isFinite && (0...1).contains(finalLearningRateFraction)) {
            return "finalLearningRateFraction is \(finalLearningRateFraction); must be in 0…1"
        }
        if !positive(priorSigma) { return "priorSigma is \(priorSigma); must be a positive number" }
        if !positive(initialSigma) { return "initialSigma is \(initialSigma); must be a positive number" }
        if !nonNegative(klWeight) { return "klWeight is \(klWeight); must be a number ≥ 0" }
        if validationCount < 0 { return "validationCount is \(validationCount); must be ≥ 0" }
        if !(calibrationCoverage.isFinite && calibrationCoverage > 0 && calibrationCoverage <= 1) {
            return "calibrationCoverage is \(calibrationCoverage); must be in (0, 1]"
        }
        if !(1...Predictive.maximumSamples).contains(calibrationSamples) {
            return "calibrationSamples is \(calibrationSamples); must be 1…\(Predictive.maximumSamples)"
        }
        if let outlierWeight, !nonNegative(outlierWeight) { return "outlierWeight is \(outlierWeight); must be a number ≥ 0" }
        if let outlierPoolShare, !(outlierPoolShare.isFinite && (0...1).contains(outlierPoolShare)) {
            return "outlierPoolShare is \(outlierPoolShare); must be in 0…1"
        }
        if let problem = augmentation?.invalidSetting { return "augmentation: \(problem)" }
        if let dropoutRate, !(dropoutRate.isFinite && dropoutRate > 0 && dropoutRate < 1) {
            return "dropoutRate is \(dropoutRate); must be in (0, 1)"
        }
        if trainingMethod == .ensemble {
            guard let members, (2...Self.maximumMembers).contains(members) else {
                return "members is \(members.map(String.init) ?? "missing"); an ensemble needs 2…\(Self.maximumMembers)"
            }
            if ensembleMemberMethod == .ensemble { return "memberMethod is ensemble; members must be bayes, deterministic or mc-dropout" }
        } else if let members {
            return "members is \(members); only an ensemble has members"
        }
        if let problem = prior?.invalidSetting { return "prior: \(problem)" }
        return nil
    }

    /// The learning rate at the start of `epoch` (0-based) and fraction `progress` ∈ [0, 1) through it.
    public func learningRate(epoch: Int, progress: Double) -> Float {
        switch learningRateSchedule {
        case .constant:
            return learningRate
        case .cosine:
            let t = min(1, (Double(epoch) + progress) / Double(max(epochs, 1)))
            let floor = Double(finalLearningRateFraction)
            let factor = floor + (1 - floor) * 0.5 * (1 + cos(Double.pi * t))
            return learningRate * Float(factor)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
