import Foundation

/// Training a `BayesianClassifier` end to end: build the network of a configuration, initialise its
/// posterior, fit it, and calibrate the refusal threshold on the validation split.
public enum ClassifierTraining {
    /// Builds and initialises the network a configuration describes, for examples of `inputShape` (the MLP
    /// flattens any shape; the CNN needs `[channels, height, width]`) and `classes` classes.
    public static func makeNetwork(_ configuration: TrainingConfiguration, inputShape: [Int], classes: Int,
                                   generator: inout RandomGenerator) throws -> Sequential {
        let network = try buildNetwork(configuration, inputShape: inputShape, classes: classes)
        // Every layer with parameters, convolutional ones included (one routine for all kinds, so that no
        // layer can be left at μ = 0, ρ = 0).
        NetworkBuilder.initialize(network, configuration: configuration, generator: &generator)
        return network
    }

    /// The network a configuration describes, not yet initialised: the architecture with the method's layers
    /// (`NetworkBuilder.mlp(inputs:classes:configuration:)`, `NetworkBuilder.cnnNetwork`), or for an
    /// ensemble one `Ensemble` layer holding a network per member (`TrainingConfiguration.memberConfiguration`).
    static func buildNetwork(_ configuration: TrainingConfiguration, inputShape: [Int], classes: Int) throws -> Sequential {
        if configuration.trainingMethod == .ensemble {
            let members = try (0..<(configuration.members ?? 2)).map {
                try buildNetwork(configuration.memberConfiguration($0), inputShape: inputShape, classes: classes)
            }
            return Sequential(inputShape: members[0].inputShape, layers: [Ensemble(members: members)])
        }
        switch configuration.architecture {
        case .mlp:
            return NetworkBuilder.mlp(inputs: inputShape.reduce(1, *), classes: classes, configuration: configuration)
        case .cnn:
            guard inputShape.count == 3 else {
                throw NetworkBuilder.UnknownLayer(description: "the cnn architecture needs [channels, height, width] inputs, got \(inputShape)")
            }
            return NetworkBuilder.cnnNetwork(configuration: configuration, classes: classes, inputShape: inputShape)
        }
    }

    /// Trains a classifier on `training`, scoring `validation` after each epoch and fitting the `calibrated`
    /// rule's threshold on it at the end. Each row of the sets is one input of `preprocessing.shape`
    /// (already preprocessed: a table standardised); the model records `preprocessing` and `classNames`
    /// (whose count is the number of classes).
    public static func train(
        _ configuration: TrainingConfiguration, training: LabeledImages, validation: LabeledImages?,
        classNames: [String], preprocessing: InputPreprocessing, outlierPool: Tensor? = nil,
        progress: (TrainingProgress) -> Void = { _ in }
    ) throws -> BayesianClassifier {
        precondition(training.valuesPerImage == preprocessing.valueCount,
                     "training rows have \(training.valuesPerImage) values, the preprocessing \(preprocessing.valueCount)")
        let network = try buildNetwork(configuration, inputShape: preprocessing.shape, classes: classNames.count)
        return fit(network, configuration: configuration, training: training, validation: validation, classNames: classNames,
                   preprocessing: preprocessing, outlierPool: outlierPool, progress: progress)
    }

    /// Initialises `network` from the configuration's seed, fits it, and calibrates the rule on `validation`
    /// (the one sequence every way of training goes through). A network of one `MixtureLayer` trained
    /// with the `ensemble` method has each member initialised and fitted on its own, with
    /// `configuration.memberConfiguration(k)`; its history is the members' epoch by epoch
    /// (`EpochRecord.combining`).
    static func fit(
        _ network: Sequential, configuration: TrainingConfiguration, training: LabeledImages, validation: LabeledImages?,
        classNames: [String]?, preprocessing: InputPreprocessing, outlierPool: Tensor? = nil,
        progress: (TrainingProgress) -> Void
    ) -> BayesianClassifier {
        let settings = configuration
        var generator = RandomGenerator(seed: settings.seed)
        let history: [EpochRecord]
        if settings.trainingMethod == .ensemble, network.layers.count == 1, let mixture = network.layers[0] as? MixtureLayer {
            let count = mixture.members.count
            history = EpochRecord.combining(mixture.members.enumerated().map { index, member in
                let memberSettings = settings.memberConfiguration(index)
                var memberGenerator = RandomGenerator(seed: memberSettings.seed)
                return fitNetwork(member, configuration: memberSettings, training: training, validation: validation,
                                  outlierPool: outlierPool, generator: &memberGenerator) { report in
                    var report = report
                    (report.member, report.members) = (index + 1, count)
                    progress(report)
                }
            })
        } else {
            history = fitNetwork(network, configuration: settings, training: training, validation: validation,
                                 outlierPool: outlierPool, generator: &generator, progress: progress)
        }
        let model = BayesianClassifier(network: network, training: settings, history: history, classNames: classNames,
                                       preprocessing: preprocessing)
        if let validation, validation.count > 0 {
            var calibrationGenerator = generator.split()
            model.calibration = ThresholdCalibration.calibrate(
                model: model, validation: validation, samples: settings.calibrationSamples,
                coverage: settings.calibrationCoverage, generator: &calibrationGenerator)
        }
        return model
    }

    /// Initialises one network from `generator` and trains it (`Trainer`, seeded from `generator`); returns
    /// its training curve.
    private static func fitNetwork(
        _ network: Sequential, configuration: TrainingConfiguration, training: LabeledImages, validation: LabeledImages?,
        outlierPool: Tensor?, generator: inout RandomGenerator, progress: (TrainingProgress) -> Void
    ) -> [EpochRecord] {
        NetworkBuilder.initialize(network, configuration: configuration, generator: &generator)
        let trainer = Trainer(network: network, configuration: configuration, generator: generator.split())
        trainer.train(on: training, validation: validation, outlierPool: outlierPool, progress: progress)
        return trainer.history
    }
}
