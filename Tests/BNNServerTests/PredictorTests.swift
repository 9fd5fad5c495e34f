import BNN
import Foundation
import Testing
@testable import BNNServer

/// The predictor behind `POST /api/predict`: the same image gets the same answer in every request.
@Suite struct PredictorTests {
    typealias F = ServerFixtures

    /// A grey gradient (no digit) and random images: each asked for alone, then all at once from many
    /// concurrent requests (so that they share batches in varying company and workers), gives the same
    /// result every time.
    @Test func theSameImageGetsTheSameAnswerInEveryRequest() async throws {
        let predictor = try F.predictor(threshold: 0.01, workers: 2, maximumBatch: 8)
        defer { predictor.shutdown() }
        var generator = RandomGenerator(seed: 4)
        let gradient = (0..<784).map { Float($0 % 28) / 27 }
        let images = [gradient] + (0..<11).map { _ in (0..<784).map { _ in generator.uniform() < 0.2 ? generator.uniform() : 0 } }
        var alone: [PredictionResult] = []
        for image in images { alone.append(await predictor.predict(image, samples: 30)) }
        let rounds = 4
        let answers = await withTaskGroup(of: (Int, PredictionResult).self) { group in
            for round in 0..<rounds {
                for (index, image) in images.enumerated() {
                    group.addTask { (index, await predictor.predict(round % 2 == 0 ? image : image, samples: 30)) }
                }
            }
            var collected: [(Int, PredictionResult)] = []
            for await answer in group { collected.append(answer) }
            return collected
        }
        #expect(answers.count == rounds * images.count)
        for (index, result) in answers { #expect(result == alone[index], "image \(index)") }
    }
}
