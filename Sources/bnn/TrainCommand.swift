import ArgumentParser
import BNN
import BNNData
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a Bayesian classifier on MNIST or on your own data, and save it.",
        discussion: """
            The recipe sets every training setting; flags given explicitly override it. Without --train the \
            data is MNIST, whose last 5,000 training images are held out: they score each epoch and calibrate \
            the refusal threshold. On MNIST the default recipe also trains against the printed letters and \
            symbols of swift-bnn's DevSets/outliers (outlier exposure) and adds its printed and pen-written \
            digits to the training split (\(RecipeSets.environmentVariable) names the folder where it is not \
            found; --outliers and --extra-train replace them; --recipe mnist-only trains on MNIST alone). With --train SOURCE (\(sourceHelpText)) the classes, input shape and \
            preprocessing come from the data; without --validation a seeded, stratified 10% of it is held out. \
            Small sets train for more epochs (see --epochs).
            """)

    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("Train on this data set instead of MNIST: \(sourceHelpText).", valueName: "source"))
    var train: String?
    @Option(help: ArgumentHelp("The validation set (default: 10% of --train, held out).", valueName: "source"))
    var validation: String?
    @OptionGroup var sourceOptions: SourceOptions
    @Option(name: .customLong("image-size"), help: ArgumentHelp(
        "Bring every image to this size, HxW (default: the most common size in --train; aspect kept by padding).",
        valueName: "HxW"))
    var imageSize: ImageSize?
    @OptionGroup var compute: ComputeOptions

    @Option(help: "Settings to start from: default (our best model; with --arch cnn, the CNN's; on MNIST trained against letters), mnist-only (the default's settings on MNIST alone) or seed (the Pyro tutorial's).")
    var recipe: String = "default"
    @Option(help: "Network: mlp (inputs → hidden → classes) or cnn (images of at least 8×8).")
    var arch: Architecture?
    @Option(help: "Hidden units of the MLP.")
    var hidden: Int?
    @Option(help: "Passes over the training set (default: the recipe's, raised for small sets so that training takes at least \(TrainingConfiguration.minimumSteps) steps, at most \(TrainingConfiguration.maximumScaledEpochs) epochs).")
    var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Examples per minibatch.")
    var batchSize: Int?
    @Option(name: .customLong("learning-rate"), help: "Adam's initial step size.")
    var learningRate: Float?
    @Option(name: .customLong("prior-sigma"), help: "Standard deviation of the Normal(0, s) prior.")
    var priorSigma: Float?
    @Option(name: .customLong("initial-sigma"), help: "Initial posterior standard deviation (He initialisation).")
    var initialSigma: Float?
    @Option(name: .customLong("kl-weight"), help: "Weight of the KL term in the ELBO (1 = the true ELBO).")
    var klWeight: Float?
    @Option(name: .customLong("extra-train"), help: ArgumentHelp("Labelled examples added to the training split (MNIST's or --train's), read the way the training data is (for MNIST, an IDX pair of any image size or a folder of class folders 0–9, each image prepared as `predict` prepares a digit): e.g. digits in other hands or fonts. Never held out for validation. May be given more than once.", valueName: "source"))
    var extraTrain: [String] = []
    @Option(name: .customLong("outlier-weight"),
            help: "Outlier exposure: weight of the uniform-target loss on synthetic outliers added to each minibatch (0 = off; default: the recipe's on MNIST, \(TrainingConfiguration.ownDataOutlierWeight) on --train data).")
    var outlierWeight: Float?
    @Option(help: ArgumentHelp("Outlier exposure against these real non-examples (\(sourceHelpText); for MNIST also an IDX file of any image size, prepared as `predict` prepares a digit) instead of outliers made from the training examples; turns outlier exposure on at weight \(TrainingConfiguration.ownDataOutlierWeight) unless --outlier-weight is given.", valueName: "source"))
    var outliers: String?
    @Option(name: .customLong("outlier-pool-share"),
            help: ArgumentHelp("With --outliers: the share (0…1) of each minibatch's outliers drawn from that source; the rest are made from the training examples as without it (default 1).", valueName: "share"))
    var outlierPoolShare: Float?
    @Option(help: "Random shape changes of training images: none, digits (rotation, shear, aspect and stroke thickness; for ink on a dark background) or digits-elastic (the same and an elastic distortion). Default: the recipe's.")
    var augmentation: AugmentationChoice?
    @Option(help: "Gradient estimator: local (local reparameterisation), weights (one weight sample per minibatch) or flipout (one weight perturbation per minibatch, sign-flipped per example).")
    var estimator: GradientEstimator?
    @Option(help: "What to train: bayes (the Bayesian posterior), deterministic (point weights), mc-dropout (point weights with dropout kept on in prediction) or ensemble (--members networks predicted as a mixture).")
    var method: TrainingMethod = .bayes
    @Option(help: "Networks in an ensemble (at least 2; default 5).")
    var members: Int?
    @Option(name: .customLong("member-method"), help: "How each ensemble member is trained: deterministic (default), bayes or mc-dropout.")
    var memberMethod: TrainingMethod?
    @Option(help: ArgumentHelp("Dropout rate of mc-dropout networks, in (0, 1) (default \(TrainingConfiguration.defaultDropoutRate)).", valueName: "p"))
    var dropout: Float?
    @OptionGroup var priorOptions: PriorOptions
    @Option(name: .customLong("train-count"), help: "Use only the first N training images (quick experiments).")
    var trainCount: Int?
    @Option(name: [.short, .long], help: "Where to save the model (.safetensors).")
    var output: String

    func validate() throws {
        guard TrainingConfiguration.recipe(named: recipe) != nil else {
            throw ValidationError("Unknown recipe '\(recipe)': use default, mnist-only or seed.")
        }
        if recipe == "mnist-only" && train != nil {
            throw ValidationError("--recipe mnist-only is the default recipe without its letters, which only MNIST's default adds; with --train use --recipe default.")
        }
        try requireRange(epochs, 1...TrainingConfiguration.maximumEpochs, option: "--epochs")
        try requireRange(batchSize, 1...TrainingConfiguration.maximumBatchSize, option: "--batch-size")
        try requireRange(hidden, 1...TrainingConfiguration.maximumHidden, option: "--hidden")
        try requireRange(trainCount, 1...Int.max, option: "--train-count")
        if validation != nil && train == nil { throw ValidationError("--validation needs --train (MNIST has its own validation split).") }
        if imageSize != nil && train == nil { throw ValidationError("--image-size applies to --train images (MNIST is 28x28).") }
        try refuseOverwritingInputs(output, option: "--output", inputs: [train, validation].compactMap { $0 })
        let positive = Float.leastNonzeroMagnitude...Float.greatestFiniteMagnitude
        try requireRange(learningRate, positive, option: "--learning-rate")
        try requireRange(priorSigma, positive, option: "--prior-sigma")
        try requireRange(initialSigma, positive, option: "--initial-sigma")
        try requireRange(klWeight, 0...Float.greatestFiniteMagnitude, option: "--kl-weight")
        try requireRange(outlierWeight, 0...Float.greatestFiniteMagnitude, option: "--outlier-weight")
        try requireRange(outlierPoolShare, 0...1, option: "--outlier-pool-share")
        if outlierPoolShare != nil && outliers == nil && !usesRecipeSets {
            throw ValidationError("--outlier-pool-share needs --outliers (or the default recipe's letters, on MNIST).")
        }
        if outliers != nil && outlierWeight == 0 { throw ValidationError("--outliers needs outlier exposure; --outlier-weight 0 turns it off.") }
        try refuseOverwritingInputs(output, option: "--output", inputs: [outliers].compactMap { $0 } + extraTrain)
        try priorOptions.validate(priorSigma: priorSigma)
        try validateMethod()
    }

    /// Bad combinations of --method, --members, --member-method and --dropout.
    func validateMethod() throws {
        if method != .ensemble {
            if members != nil { throw ValidationError("--members applies to --method ensemble, not \(method.rawValue).") }
            if memberMethod != nil { throw ValidationError("--member-method applies to --method ensemble, not \(method.rawValue).") }
        }
        try requireRange(members, 2...TrainingConfiguration.maximumMembers, option: "--members")
        if memberMethod == .ensemble { throw ValidationError("--member-method must be deterministic, bayes or mc-dropout; members cannot be ensembles.") }
        if let dropout {
            guard dropout.isFinite && dropout > 0 && dropout < 1 else {
                throw ValidationError("--dropout must be a rate strictly between 0 and 1, got \(dropout).")
            }
            let usesDropout = method == .mcDropout || (method == .ensemble && memberMethod == .mcDropout)
            if !usesDropout { throw ValidationError("--dropout applies to --method mc-dropout (or an ensemble of mc-dropout members).") }
        }
        let bayesian = method == .bayes || (method == .ensemble && memberMethod == .bayes)
        if !bayesian {
            for (value, option) in [(priorSigma, "--prior-sigma"), (initialSigma, "--initial-sigma"), (klWeight, "--kl-weight")] where value != nil {
                throw ValidationError("\(option) applies to Bayesian networks; --method \(method.rawValue) has point weights.")
            }
            if estimator != nil { throw ValidationError("--estimator applies to Bayesian networks; --method \(method.rawValue) has point weights.") }
            if priorOptions.prior != nil { throw ValidationError("--prior applies to Bayesian networks; --method \(method.rawValue) has point weights.") }
        }
    }

    /// Whether the recipe trains against `RecipeSets`: the default recipe on MNIST.
    var usesRecipeSets: Bool { recipe == "default" && train == nil }

    /// The sources of outliers and added examples training reads: the flags', else on MNIST the default
    /// recipe's `RecipeSets` (located here; an error says where they were looked for). `recipeExtras` says
    /// whether the added examples are the recipe's.
    func sources() throws -> (outliers: String?, extraTrain: [String], recipeExtras: Bool) {
        let needsRecipeSets = usesRecipeSets && ((outliers == nil && outlierWeight != 0) || extraTrain.isEmpty)
        guard needsRecipeSets else { return (outliers, extraTrain, false) }
        let folder = try RecipeSets.locate()
        let pool = outliers ?? (outlierWeight == 0 ? nil : folder.appendingPathComponent(RecipeSets.outlierImages).path)
        guard extraTrain.isEmpty else { return (pool, extraTrain, false) }
        let added = RecipeSets.addedDigits.map { pair in
            [pair.images, pair.labels].map { folder.appendingPathComponent($0).path }.joined(separator: ",")
        }
        return (pool, added, true)
    }

    /// The configuration this command line trains MNIST with (its sources located as `sources()` does);
    /// `bnn demo` compares it with its cached model's.
    func trainingConfiguration() throws -> TrainingConfiguration {
        let (outliers, extraTrain, _) = try sources()
        return trainingConfiguration(outliers: outliers, extraTrain: extraTrain)
    }

    /// The recipe with the explicit flags applied; `outliers` and `extraTrain` are the sources training
    /// reads (the flags', else the recipe's), recorded by file name.
    func trainingConfiguration(outliers: String?, extraTrain: [String]) -> TrainingConfiguration {
        var configuration = TrainingConfiguration.recipe(named: recipe)!
        // `--arch cnn` starts from the convolutional network's own default recipe.
        if arch == .cnn && recipe != "seed" { configuration = .defaultCNN.renamed(recipe == "default" ? "default-cnn" : "mnist-only-cnn") }
        if usesRecipeSets { configuration = configuration.againstLetters() }
        if let arch { configuration.architecture = arch }
        if let hidden { configuration.hidden = hidden }
        if let epochs { configuration.epochs = epochs }
        if let batchSize { configuration.batchSize = batchSize }
        if let learningRate { configuration.learningRate = learningRate }
        if let priorSigma { configuration.priorSigma = priorSigma }
        if let initialSigma { configuration.initialSigma = initialSigma }
        if let klWeight { configuration.klWeight = klWeight }
        if let estimator { configuration.estimator = estimator }
        if let outlierWeight { configuration.outlierWeight = outlierWeight }
        if !extraTrain.isEmpty { configuration.extraTrainingSource = extraTrain.map(fileNames).joined(separator: ", ") }
        if let outliers {
            configuration.outlierSource = fileNames(outliers)
            if let outlierPoolShare { configuration.outlierPoolShare = outlierPoolShare }
            if configuration.outlierWeight ?? 0 == 0 { configuration.outlierWeight = TrainingConfiguration.ownDataOutlierWeight }
        } else {
            configuration.outlierPoolShare = nil
        }
        if let augmentation { configuration.augmentation = augmentation.setting }
        priorOptions.apply(to: &configuration)
        configuration.seed = compute.seed
        if method != .bayes { configuration = configuration.with(method: method, members: members, memberMethod: memberMethod, dropoutRate: dropout) }
        return configuration
    }

    func run() throws {
        try runReportingErrors {
            compute.apply(defaultPrecision: .float32)
            // Fail on an unwritable destination before minutes of training, not after them.
            try AtomicFile.checkWritable(URL(fileURLWithPath: output))
            let (outlierSource, extraSources, recipeExtras) = try sources()
            var configuration = trainingConfiguration(outliers: outlierSource, extraTrain: extraSources)
            var sets: TrainingData
            if let train {
                sets = try loadTrainingData(train: train, validation: validation, labelColumn: sourceOptions.labelColumn,
                                            imageSize: imageSize, seed: compute.seed)
            } else {
                let splits = try loadMNISTTrainingSplits(data)
                sets = TrainingData(training: splits.train, validation: splits.validation, classNames: (0..<MNIST.classCount).map(String.init),
                                    preprocessing: .mnist, description: "MNIST digits")
            }
            // The training split is replaced in `sets`, not copied beside it, so that the images it had are
            // freed before training starts. With --train-count the recipe's added digits shrink in
            // proportion; the flags' are the user's.
            var addedShare = 1.0
            if let trainCount, trainCount < sets.training.count {
                addedShare = Double(trainCount) / Double(sets.training.count)
                sets.training = sets.training.subset(0..<trainCount)
            }
            try addExamples(from: extraSources, to: &sets, share: recipeExtras ? addedShare : 1, labelColumn: sourceOptions.labelColumn)
            if configuration.architecture == .cnn {
                guard let (_, height, width) = sets.preprocessing.imageShape, height >= 8, width >= 8 else {
                    throw ValidationError("--arch cnn needs images of at least 8×8; the data is \(sets.description).")
                }
            }
            if configuration.augmentation != nil, sets.preprocessing.imageShape == nil {
                throw ValidationError("--augmentation changes images; the data is \(sets.description).")
            }
            if train != nil {
                configuration = configuration.withOwnDataDefaults()
                if epochs == nil { configuration.epochs = configuration.scaledEpochs(trainingCount: sets.training.count) }
            }
            let pool = try outlierSource.map {
                try loadUnlabeledSet($0, preprocessing: sets.preprocessing, classNames: sets.classNames, labelColumn: sourceOptions.labelColumn)
            }
            _ = try trainAndSave(configuration, training: sets.training, validation: sets.validation, classNames: sets.classNames,
                                 preprocessing: sets.preprocessing, what: sets.description, outlierPool: pool,
                                 output: URL(fileURLWithPath: output))
        }
    }
}

/// "a.gz,b.gz" for "dir/a.gz,dir/b.gz": a source's file names, as a model file records them.
func fileNames(_ source: String) -> String {
    source.split(separator: ",", omittingEmptySubsequences: false).map { URL(fileURLWithPath: String($0)).lastPathComponent }.joined(separator: ",")
}

/// Adds the labelled examples of `sources` (read the way the training data is) to the training split;
/// with `share` < 1, an evenly spread `share` of each source's examples.
func addExamples(from sources: [String], to sets: inout TrainingData, share: Double, labelColumn: String) throws {
    guard !sources.isEmpty else { return }
    let extras = try sources.map { source in
        let extra = try DataSource(argument: source, labelColumn: labelColumn)
            .load(for: sets.preprocessing, classNames: sets.classNames, labelled: true, progress: loadProgress("reading \(source)"))
        sets.preprocessing.standardize(extra.inputs)
        var labeled = extra.labeled
        if share < 1 {
            let kept = max(1, Int((Double(labeled.count) * share).rounded()))
            labeled = labeled.subset(indices: (0..<kept).map { $0 * labeled.count / kept })
        }
        // Held as the training split is: MNIST's as grey levels (a resampled image moves by ≤ 1/510).
        return sets.training.isHeldAsGreyLevels ? labeled.heldAsGreyLevels() : labeled
    }
    let added = extras.reduce(0) { $0 + $1.count }
    sets.description = "examples (\(sets.training.count) \(sets.description) + \(added) added)"
    sets.training = LabeledImages(concatenating: [sets.training] + extras)
}

/// Trains with progress on stderr, saves atomically, and prints a summary line.
func trainAndSave(_ configuration: TrainingConfiguration, training: LabeledImages, validation: LabeledImages,
                  classNames: [String], preprocessing: InputPreprocessing, what: String, outlierPool: Tensor? = nil,
                  output: URL) throws -> BayesianClassifier {
    Console.info("Training \(configuration.architecture.rawValue) (recipe \(configuration.recipe), \(configuration.methodDescription)) "
                 + "on \(training.count) \(what) of \(classNames.count) classes (\(validation.count) held out) for \(configuration.epochs) epochs; "
                 + "\(ComputeSettings.threads) threads, "
                 + "matrix multiply: \(MatrixMultiply.engineDescription).")
    let started = Date()
    let model = try ClassifierTraining.train(configuration, training: training, validation: validation, classNames: classNames,
                                             preprocessing: preprocessing, outlierPool: outlierPool) { progress in
        let member = progress.member.map { "member \($0)/\(progress.members ?? 0)  " } ?? ""
        if let record = progress.record {
            let outliers = record.outlierTerm.map { String(format: "  outliers %.4f", $0) } ?? ""
            Console.progress(member + String(format: "epoch %2d/%d  loss %.4f (data %.4f + KL %.4f)%@  train acc %.4f  val acc %@  %.0f ex/s  %@  ETA %@",
                                    record.epoch, progress.epochs, record.loss, record.dataTerm, record.klTerm, outliers, record.trainAccuracy,
                                    record.validationAccuracy.map { String(format: "%.4f", $0) } ?? "-",
                                    progress.examplesPerSecond, formatDuration(record.seconds), formatDuration(progress.secondsRemaining)),
                             final: true)
        } else {
            Console.progress(member + String(format: "epoch %2d/%d  batch %d/%d  data %.4f  acc %.4f  %.0f ex/s  ETA %@",
                                    progress.epoch, progress.epochs, progress.batch, progress.batches, progress.dataTerm,
                                    progress.trainAccuracy, progress.examplesPerSecond, formatDuration(progress.secondsRemaining)),
                             final: false)
        }
    }
    try model.save(to: output)
    var summary = "Saved \(output.path) after \(formatDuration(Date().timeIntervalSince(started)))."
    if let calibration = model.calibration { summary += " " + calibrationSummary(calibration) + "." }
    Console.info(summary)
    return model
}

/// "Calibrated rule: refuse when S > T (accepts C% of validation inputs, A% accurate)".
func calibrationSummary(_ calibration: Calibration) -> String {
    String(format: "Calibrated rule: refuse when %@ > %.4f (accepts %.1f%% of validation inputs, %.2f%% accurate)",
           calibration.score.rawValue, calibration.threshold, calibration.coverage * 100, calibration.acceptedAccuracy * 100)
}

/// MNIST's three splits from the data folder the options name.
/// Missing MNIST is downloaded unless `BNN_NO_DOWNLOAD=1` (tests and offline machines set it).
func loadMNIST(_ options: DataOptions) throws -> MNIST {
    try MNIST.load(dataDirectory: options.dataDirectory, download: mayDownload, log: Console.relay)
}

/// MNIST's training and validation splits only (training and calibration need nothing else), found or
/// downloaded like `loadMNIST`.
func loadMNISTTrainingSplits(_ options: DataOptions) throws -> (train: LabeledImages, validation: LabeledImages) {
    try MNIST.loadTrainingSplits(dataDirectory: options.dataDirectory, download: mayDownload, log: Console.relay)
}

/// MNIST's test split only (evaluation needs nothing else), found or downloaded like `loadMNIST`.
func loadMNISTTest(_ options: DataOptions) throws -> LabeledImages {
    try MNIST.loadTest(dataDirectory: options.dataDirectory, download: mayDownload, log: Console.relay)
}

private var mayDownload: Bool { ProcessInfo.processInfo.environment["BNN_NO_DOWNLOAD"] != "1" }

/// The kind of prior `--prior` names.
enum PriorKind: String, ExpressibleByArgument, CaseIterable {
    case normal
    case scaleMixture = "scale-mixture"
}

/// `bnn train`'s prior flags: `--prior normal` (N(0, s²), s from `--prior-sigma`) or `--prior scale-mixture`
/// with `--prior-pi`, `--prior-sigma1` and `--prior-sigma2` (defaults: `Prior.defaultScaleMixture`).
struct PriorOptions: ParsableArguments {
    @Option(help: "Prior on every weight: normal (N(0, s²), s from --prior-sigma) or scale-mixture (π·N(0, σ₁²) + (1 − π)·N(0, σ₂²), Blundell et al. 2015; its KL is estimated by sampling).")
    var prior: PriorKind?
    @Option(name: .customLong("prior-pi"), help: "Weight π of the scale mixture's first component, strictly between 0 and 1 (default \(Self.defaults.pi)).")
    var pi: Float?
    @Option(name: .customLong("prior-sigma1"), help: "Standard deviation σ₁ of the scale mixture's first (wide) component (default \(Self.defaults.sigma1)).")
    var sigma1: Float?
    @Option(name: .customLong("prior-sigma2"), help: "Standard deviation σ₂ of the scale mixture's second (narrow) component (default e⁻⁶ ≈ \(Self.defaults.sigma2)).")
    var sigma2: Float?

    static var defaults: (pi: Float, sigma1: Float, sigma2: Float) {
        guard case .scaleMixture(let pi, let sigma1, let sigma2) = Prior.defaultScaleMixture else { return (0.5, 1, 0.0025) }
        return (pi, sigma1, sigma2)
    }

    /// Usage errors: mixture settings without `--prior scale-mixture`, `--prior-sigma` with it, values out of range.
    func validate(priorSigma: Float?) throws {
        let mixtureFlags = [("--prior-pi", pi), ("--prior-sigma1", sigma1), ("--prior-sigma2", sigma2)].filter { $0.1 != nil }.map(\.0)
        if prior != .scaleMixture, let flag = mixtureFlags.first {
            throw ValidationError("\(flag) sets the scale-mixture prior; add --prior scale-mixture.")
        }
        if prior == .scaleMixture, priorSigma != nil {
            throw ValidationError("--prior-sigma sets the Normal prior; the scale mixture takes --prior-sigma1 and --prior-sigma2.")
        }
        if let pi, !(pi.isFinite && pi > 0 && pi < 1) {
            throw ValidationError("--prior-pi must be strictly between 0 and 1, got \(pi) (π = 1 is the Normal prior: use --prior normal --prior-sigma S).")
        }
        let positive = Float.leastNonzeroMagnitude...Float.greatestFiniteMagnitude
        try requireRange(sigma1, positive, option: "--prior-sigma1")
        try requireRange(sigma2, positive, option: "--prior-sigma2")
    }

    /// Sets the configuration's prior: the scale mixture with the given or default settings, or the Normal
    /// prior (of `priorSigma`) for `--prior normal`.
    func apply(to configuration: inout TrainingConfiguration) {
        switch prior {
        case .scaleMixture?:
            configuration.prior = .scaleMixture(pi: pi ?? Self.defaults.pi, sigma1: sigma1 ?? Self.defaults.sigma1,
                                                sigma2: sigma2 ?? Self.defaults.sigma2)
        case .normal?:
            configuration.prior = nil
        case nil:
            break
        }
    }
}


/// `--augmentation`: none, `ImageAugmentation.digits`, or `.digitsElastic` (`digits-elastic`).
enum AugmentationChoice: String, ExpressibleByArgument, CaseIterable {
    case none, digits
    case digitsElastic = "digits-elastic"
    var setting: ImageAugmentation? {
        switch self {
        case .none: nil
        case .digits: .digits
        case .digitsElastic: .digitsElastic
        }
    }
}
