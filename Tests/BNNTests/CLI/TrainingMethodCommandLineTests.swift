import Foundation
import Testing
@testable import BNN

/// `bnn train --method`: bad combinations are usage errors naming the option; every method trains on
/// the user's own data and its model goes through evaluate and predict.
extension CommandLineTests {
    @Test func badMethodCombinationsAreUsageErrors() throws {
        for (arguments, words) in [
            (["--members", "3"], ["--members", "ensemble"]),
            (["--method", "deterministic", "--members", "3"], ["--members", "ensemble"]),
            (["--method", "ensemble", "--members", "1"], ["--members", "2"]),
            (["--method", "mc-dropout", "--dropout", "1"], ["--dropout", "between 0 and 1"]),
            (["--method", "mc-dropout", "--dropout", "0"], ["--dropout"]),
            (["--method", "deterministic", "--dropout", "0.5"], ["--dropout", "mc-dropout"]),
            (["--method", "ensemble", "--member-method", "ensemble"], ["--member-method"]),
            (["--member-method", "bayes"], ["--member-method", "ensemble"]),
            (["--method", "deterministic", "--kl-weight", "1"], ["--kl-weight", "Bayesian"]),
            (["--method", "vibes"], ["--method"]),
        ] {
            let outcome = try run(["train", "--output", "m.safetensors"] + arguments)
            #expect(outcome.status == 64, "\(arguments): status \(outcome.status)")
            for word in words { #expect(outcome.stderr.contains(word), "\(arguments): \(outcome.stderr)") }
        }
    }

    /// Each baseline on a CSV table: trained, saved, evaluated and predicted like the Bayesian model.
    @Test(arguments: [["--method", "deterministic"], ["--method", "mc-dropout", "--dropout", "0.3"],
                      ["--method", "ensemble", "--members", "2"], ["--method", "ensemble", "--members", "2", "--member-method", "bayes"]])
    func baselinesOnOwnData(method: [String]) throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let train = folder.appendingPathComponent("train.csv"), test = folder.appendingPathComponent("test.csv")
        try writeTable(train, rows: 200, seed: 1)
        try writeTable(test, rows: 40, seed: 2)
        let model = folder.appendingPathComponent("m.safetensors").path
        let trained = try run(["train", "--train", train.path, "--label-column", "kind", "--hidden", "16", "--epochs", "40", "--learning-rate", "0.01",
                               "--output", model] + method)
        #expect(trained.status == 0, "\(method): \(trained.stderr)")
        #expect(trained.stderr.contains(method[1]), "\(method): \(trained.stderr)")
        let loaded = try BayesianClassifier.load(from: URL(fileURLWithPath: model))
        #expect(loaded.training.trainingMethod.rawValue == method[1])
        let evaluated = try run(["evaluate", "--model", model, "--test", test.path, "--label-column", "kind", "--json"])
        #expect(evaluated.status == 0, "\(method): \(evaluated.stderr)")
        let result = try JSONDecoder().decode(EvaluationResult.self, from: Data(evaluated.stdout.utf8))
        #expect(result.forcedAccuracy > 0.95, "\(method): forced accuracy \(result.forcedAccuracy)")
        let predicted = try run(["predict", "--model", model, "--csv", test.path, "--label-column", "kind", "--json"])
        #expect(predicted.status == 0 && predicted.stdout.split(separator: "\n").count == 40, "\(method): \(predicted.stderr)")
    }
}
