extension ClassifierTraining {
    /// Trains a network the caller built (any stack of layers, Bayesian or not) into a classifier:
    /// initialises its parameters, fits it on `training`, and fits the `calibrated` rule's threshold on
    /// `validation` (without one, the model has no calibrated rule; use `LabeledImages.stratifiedSplit(validationFraction:seed:)`).
    ///
    /// Feature rows (a set one pixel high, for a network reading `[features]`) are standardised with the
    /// training set's mean and standard deviation, which the model records in `preprocessing` and
    /// `predict(_:rule:samples:generator:)` on arrays applies again; images are read as they are (grey,
    /// `height × width`, values in [0, 1]). From `configuration` the optimisation settings, the
    /// initialisation, the seed and the calibration settings are used; `architecture` and `hidden` describe
    /// only the library's own networks and are stored as given.
    /// With the `ensemble` method, `network` is the first member and the others are rebuilt from its
    /// architecture (`NetworkBuilder.network`), each initialised from its own seed; `memberMethod` is then
    /// only recorded.
    /// Outlier exposure is on (`TrainingConfiguration.withOwnDataDefaults`) unless the configuration sets
    /// `outlierWeight` (0 turns it off).
    ///
    /// Throws `DataSetError` when the examples do not have the network's input size, or a label is not
    /// one of its `network.classes` outputs.
    public static func train(
        _ network: Sequential, configuration: TrainingConfiguration, training: LabeledImages, validation: LabeledImages?,
        classNames: [String]? = nil, featureNames: [String]? = nil, progress: (TrainingProgress) -> Void = { _ in }
    ) throws -> BayesianClassifier {
        for (name, set) in [("training", training), ("validation", validation)] {
            guard let set else { continue }
            guard set.valuesPerImage == network.inputCount else {
                throw DataSetError("the \(name) examples have \(set.valuesPerImage) values each, the network reads \(network.inputCount)")
            }
            if let index = set.labels.firstIndex(where: { !(0..<network.classes).contains($0) }) {
                throw DataSetError("\(name) label \(index) is \(set.labels[index]); the network has \(network.classes) classes (0…\(network.classes - 1))")
            }
        }
        if let classNames, classNames.count != network.classes {
            throw DataSetError("\(classNames.count) class names for a network of \(network.classes) classes")
        }
        let isTable = training.rows == 1 && network.inputShape.count == 1
        if let featureNames, !isTable || featureNames.count != network.inputCount {
            throw DataSetError("\(featureNames.count) feature names for \(isTable ? "\(network.inputCount) features" : "images")")
        }
        let preprocessing = isTable
            ? InputPreprocessing.tabular(featureNames: featureNames ?? (0..<network.inputCount).map { "x\($0)" }, fittedTo: training.images)
            : network.inputShape.count == 3 ? InputPreprocessing(kind: .image, shape: network.inputShape, resize: .fitAndPad)
            : .greyImages(height: training.rows, width: training.columns)
        // Standardised copies: the caller's tensors stay as they were.
        func prepared(_ set: LabeledImages) -> LabeledImages {
            guard isTable else { return set }
            let rows = set.images.copy()
            preprocessing.standardize(rows)
            return LabeledImages(images: rows, labels: set.labels, rows: set.rows, columns: set.columns)
        }
        let trainingRows = prepared(training), validationRows = validation.map(prepared)

        var settings = configuration.withOwnDataDefaults()
        settings.validationCount = validation?.count ?? 0
        var network = network
        if settings.trainingMethod == .ensemble && !(network.layers.count == 1 && network.layers[0] is MixtureLayer) {
            // K members of the caller's architecture: the network itself and copies rebuilt from its configuration.
            let copies = try (1..<(settings.members ?? 2)).map { _ in
                try NetworkBuilder.network(inputShape: network.inputShape, configurations: network.architecture)
            }
            network = Sequential(inputShape: network.inputShape, layers: [Ensemble(members: [network] + copies)])
        }
        return fit(network, configuration: settings, training: trainingRows, validation: validationRows, classNames: classNames,
                   preprocessing: preprocessing, progress: progress)
    }
}
