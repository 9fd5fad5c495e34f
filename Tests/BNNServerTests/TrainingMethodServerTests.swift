import BNN
import Foundation
import Testing
@testable import BNNServer

/// The web demo serves a baseline model (`bnn train --method`) like the Bayesian one: answers through the
/// API, the same answer for an image alone or among concurrent requests.
@Suite struct TrainingMethodServerTests {
    typealias F = ServerFixtures

    /// Two identical copies (one per worker) of an untrained 784 → 16 → 10 model of `method`, calibrated on
    /// max probability (which every method has; mutual information is 0 without randomness).
    static func predictor(_ method: TrainingMethod) throws -> Predictor {
        var settings = TrainingConfiguration.default
        settings.hidden = 16
        settings = settings.with(method: method, members: 3)
        let models = try (0..<2).map { _ in
            var generator = RandomGenerator(seed: 5)
            let network = try ClassifierTraining.makeNetwork(settings, inputShape: [784], classes: 10, generator: &generator)
            let calibration = Calibration(score: .maxProbability, threshold: 0.5, coverage: 0.975, samples: settings.calibrationSamples,
                                          validationCount: 100, acceptedAccuracy: 0.5)
            return BayesianClassifier(network: network, training: settings, calibration: calibration)
        }
        return Predictor(models: models, rule: try DecisionRule.make(kind: .calibrated, model: models[0]), maximumBatch: 4)
    }

    @Test(arguments: [TrainingMethod.deterministic, .mcDropout, .ensemble])
    func servesEveryMethod(method: TrainingMethod) async throws {
        let predictor = try Self.predictor(method)
        defer { predictor.shutdown() }
        let seven = F.sevenPixels()
        let alone = await predictor.predict(seven, samples: 12)
        try await F.routes(predictor: predictor) { client in
            try await client.execute(uri: "/api/predict", method: .post, headers: F.jsonHeaders,
                                     body: F.jsonBody(pixels: seven, extra: ",\"samples\":12,\"normalize\":false")) { response in
                #expect(response.status == .ok, "\(method)")
                let result = try F.decode(PredictionResult.self, response.body)
                #expect(result == alone, "\(method): the API's answer differs from the predictor's")
            }
        }
        var generator = RandomGenerator(seed: 3)
        let others = (0..<7).map { _ in (0..<784).map { _ in generator.uniform() < 0.2 ? generator.uniform() : Float(0) } }
        let answers = await withTaskGroup(of: (Bool, PredictionResult).self) { group in
            group.addTask { (true, await predictor.predict(seven, samples: 12)) }
            for image in others { group.addTask { (false, await predictor.predict(image, samples: 12)) } }
            var collected: [(Bool, PredictionResult)] = []
            for await answer in group { collected.append(answer) }
            return collected
        }
        for (isSeven, result) in answers where isSeven { #expect(result == alone, "\(method): the answer depends on the company") }
    }
}
