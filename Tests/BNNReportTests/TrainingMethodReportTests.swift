import BNN
import Foundation
import Testing
@testable import BNNReport

/// The report of a baseline model (`bnn train --method`): every method renders a well-formed report with
/// every section.
@Suite struct TrainingMethodReportTests {
    /// An untrained 784 → 16 → 10 model of `method` with the fixtures' history and calibration.
    static func model(_ settings: TrainingConfiguration) throws -> BayesianClassifier {
        var generator = RandomGenerator(seed: 2)
        let network = try ClassifierTraining.makeNetwork(settings, inputShape: [784], classes: 10, generator: &generator)
        let tiny = ReportFixtures.tinyModel()
        return BayesianClassifier(network: network, training: settings, history: tiny.history, calibration: tiny.calibration)
    }

    @Test(arguments: [TrainingMethod.deterministic, .mcDropout, .ensemble])
    func everyMethodRenders(method: TrainingMethod) throws {
        var settings = TrainingConfiguration.default
        settings.hidden = 16
        let model = try Self.model(settings.with(method: method, members: 3))
        let html = HTMLReport.render(try ReportFixtures.content(model: model))
        let digest = XMLDigest(html)
        #expect(digest.isWellFormed, "\(method): \(String(describing: digest.error))")
        let ids = Set(digest.elements.compactMap { $0.attributes["id"] })
        for id in ["summary", "gallery", "training", "scores", "selective", "risk-coverage", "reliability"] {
            #expect(ids.contains(id), "\(method): missing #\(id)")
        }
    }
}
