import BNN
import BNNData

/// The numbers the Pyro tutorial published for its 1024-unit Bayesian MLP (5 epochs, `median` rule with
/// τ = 0.2, 100 samples), as reproduced on a 2-core machine. Ranges are the spread over runs.
public enum TutorialNumbers {
    // Durations in `formatDuration`'s format, like every duration beside them.
    public static let forcedAccuracy = "88%"
    public static let mnistRefused = "12%"
    public static let acceptedAccuracy = "96%"
    public static let noiseRefused = "95–100%"
    public static let notMNISTRefused = "80–88%"
    public static let trainingTime = "\(formatDuration(91)) (5 epochs)"
    public static let uncertaintyPass = "\(formatDuration(10)) (MNIST, 100 samples)"
}
