extension TrainingConfiguration {
    /// The default recipe of the convolutional network (`--arch cnn`, see `NetworkBuilder.cnnNetwork`).
    ///
    /// Local reparameterisation in every Bayesian layer, the true ELBO (KL weight 1, per example), prior
    /// N(0, 1), He-scaled means with σ = 0.01, Adam 2e-3 with cosine decay to 5% over 6 epochs, batch 128,
    /// and outlier exposure: 8 tile-shuffled digits per minibatch with the uniform target, weight 0.25.
    ///
    /// Why: the cosine decay gives the last epochs' accuracy; KL weight 1 keeps the weight posteriors wide;
    /// outlier exposure (Hendrycks et al. 2019) teaches the network that strokes without a digit's shape
    /// are not a digit, which convolutions otherwise take for one; calibration uses 30 samples because each
    /// is a full pass of the network, and keeps 98% of validation digits because digits of new writers are
    /// refused a little more often than validation digits. The measurements behind each choice are in
    /// docs/recipes.md.
    public static let defaultCNN = TrainingConfiguration(
        recipe: "default-cnn", architecture: .cnn, hidden: 256, epochs: 6, batchSize: 128, learningRate: 2e-3,
        learningRateSchedule: .cosine, finalLearningRateFraction: 0.05, priorSigma: 1, initialSigma: 0.01,
        initialization: .he, estimator: .local, klWeight: 1, klScaling: .perExample, seed: 0,
        validationCount: 5000, calibrationCoverage: 0.98, calibrationSamples: 30, outlierWeight: 0.25)
}
