import Foundation
import Testing
@testable import BNN

/// `bnn train --estimator flipout` and the prior flags: usage errors that name the flag, and a short run
/// whose model file records the scale mixture and the estimator.
extension CommandLineTests {
    @Test func badPriorFlagsAreNamed() throws {
        let train = ["train", "-o", "m.safetensors"]
        try expectUsageError(train + ["--prior", "laplace"], naming: "--prior")
        try expectUsageError(train + ["--prior-pi", "0.3"], naming: "--prior-pi sets the scale-mixture prior; add --prior scale-mixture")
        try expectUsageError(train + ["--prior", "normal", "--prior-sigma2", "0.01"], naming: "--prior-sigma2 sets the scale-mixture prior")
        try expectUsageError(train + ["--prior", "scale-mixture", "--prior-sigma", "0.5"],
                             naming: "--prior-sigma sets the Normal prior; the scale mixture takes --prior-sigma1 and --prior-sigma2")
        for pi in ["0", "1", "1.5", "-0.2", "nan"] {
            try expectUsageError(train + ["--prior", "scale-mixture", "--prior-pi=\(pi)"], naming: "--prior-pi must be strictly between 0 and 1")
        }
        try expectUsageError(train + ["--prior", "scale-mixture", "--prior-sigma1", "0"], naming: "--prior-sigma1 must be within")
        try expectUsageError(train + ["--prior", "scale-mixture", "--prior-sigma2", "inf"], naming: "--prior-sigma2 must be within")
        try expectUsageError(train + ["--estimator", "flip"], naming: "--estimator")
    }

    @Test(.enabled(if: dataDirectory != nil, "needs BNN_DATA_DIR with mnist/"))
    func flipoutWithScaleMixtureTrainsAndIsRecorded() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model.safetensors")
        let outcome = try run(["train", "--epochs", "1", "--hidden", "16", "--train-count", "640", "--estimator", "flipout",
                               "--prior", "scale-mixture", "--prior-sigma2", "0.01", "--output", model.path])
        #expect(outcome.status == 0, "train failed: \(outcome.stderr)")
        #expect(outcome.stderr.contains("flipout estimator, prior 0.5·N(0, 1²) + 0.5·N(0, 0.01²)"), "\(outcome.stderr)")
        let loaded = try BayesianClassifier.load(from: model)
        #expect(loaded.training.prior == .scaleMixture(pi: 0.5, sigma1: 1, sigma2: 0.01) && loaded.training.estimator == .flipout)
        let layers = loaded.network.layers.compactMap { $0 as? BayesianDense }
        #expect(layers.count == 2 && layers.allSatisfy { $0.prior == loaded.training.prior && $0.estimator == .flipout })
        #expect(loaded.history.last.map { $0.klTerm.isFinite && $0.klTerm > 0 } == true)
    }
}
