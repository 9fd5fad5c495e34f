extension TrainingConfiguration {
    /// The default recipe of the convolutional network (`--arch cnn`), chosen on the validation split.
    public static let defaultCNN = TrainingConfiguration(
        recipe: "default-cnn", architecture: .cnn, hidden: 256, epochs: 8, batchSize: 128, learningRate: 2e-3,
        learningRateSchedule: .cosine, finalLearningRateFraction: 0.05, priorSigma: 1, initialSigma: 0.01,
        initialization: .he, estimator: .local, klWeight: 1, klScaling: .perExample, seed: 0,
        validationCount: 5000, calibrationCoverage: 0.975, calibrationSamples: 100)
}
