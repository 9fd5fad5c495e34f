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

    /// The network a configuration describes, not yet initialised.
    static func buildNetwork(_ configuration: TrainingConfiguration, inputShape: [Int], classes: Int) throws -> Sequential {
        switch configuration.architecture {
        case .mlp:
            return NetworkBuilder.mlp(inputs: inputShape.reduce(1, *), hidden: configuration.hidden, classes: classes,
                                      estimator: configuration.estimator, prior: configuration.layerPrior)
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
        classNames: [String], preprocessing: InputPreprocessing,
        progress: (TrainingProgress) -> Void = { _ in }
    ) throws -> BayesianClassifier {
        precondition(training.images.columns == preprocessing.valueCount,
                     "training rows have \(training.images.columns) values, the preprocessing \(preprocessing.valueCount)")
        let network = try buildNetwork(configuration, inputShape: preprocessing.shape, classes: classNames.count)
        return fit(network, configuration: configuration, training: training, validation: validation, classNames: classNames,
                   preprocessing: preprocessing, progress: progress)
    }

    /// Initialises `network` from the configuration's seed, fits it, and calibrates the rule on `validation`
    /// (the one sequence every way of training goes through).
    static func fit(
        _ network: Sequential, configuration: TrainingConfiguration, training: LabeledImages, validation: LabeledImages?,
        classNames: [String]?, preprocessing: InputPreprocessing, progress: (TrainingProgress) -> Void
    ) -> BayesianClassifier {
        let settings = configuration
        var generator = RandomGenerator(seed: settings.seed)
        NetworkBuilder.initialize(network, configuration: settings, generator: &generator)
        let trainer = Trainer(network: network, configuration: settings, generator: generator.split())
        trainer.train(on: training, validation: validation, progress: progress)
        let model = BayesianClassifier(network: network, training: settings, history: trainer.history, classNames: classNames,
                                       preprocessing: preprocessing)
        if let validation, validation.count > 0 {
            var calibrationGenerator = generator.split()
            model.calibration = ThresholdCalibration.calibrate(
                model: model, validation: validation, samples: settings.calibrationSamples,
                coverage: settings.calibrationCoverage, generator: &calibrationGenerator)
        }
        return model
    }
}
