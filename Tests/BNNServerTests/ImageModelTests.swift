import BNN
import BNNData
import Foundation
import Hummingbird
import Testing
@testable import BNNServer

private typealias F = ServerFixtures

/// The web API for a model that does not read digits: a 3-class model of 8×10 RGB images.
@Suite struct ImageModelTests {
    static func colourPredictor() throws -> Predictor {
        let network = NetworkBuilder.mlp(inputs: 3 * 8 * 10, hidden: 8, classes: 3)
        var generator = RandomGenerator(seed: 2)
        NetworkBuilder.initialize(network, configuration: .default, generator: &generator)
        let model = BayesianClassifier(network: network, training: .default, classNames: ["red", "green", "blue"],
                                       preprocessing: InputPreprocessing(kind: .image, shape: [3, 8, 10], resize: .fitAndPad))
        return Predictor(models: [model], rule: .median(threshold: 0.2))
    }

    @Test func uploadsAreBroughtToTheModelsShape() async throws {
        let predictor = try Self.colourPredictor()
        defer { predictor.shutdown() }
        // A 33×17 RGB PNG of another size and aspect: fit and padded to 8×10, three channels.
        let png = PNGEncoder.encode(rgb: (0..<(33 * 17)).flatMap { [UInt8($0 % 256), 40, 200] }, width: 33, height: 17)
        try await F.routes(predictor: predictor) { client in
            try await client.execute(uri: "/api/health", method: .get) { response in
                let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                let input = object?["input"] as? [String: Any]
                #expect(input?["kind"] as? String == "image" && input?["shape"] as? [Int] == [3, 8, 10])
                #expect(input?["digit_normalization"] as? Bool == false)
                #expect(object?["sample_kinds"] as? [String] == [])
                #expect(object?["classes"] as? [String] == ["red", "green", "blue"])
            }
            try await client.execute(uri: "/api/predict?samples=5", method: .post, headers: F.pngHeaders,
                                     body: ByteBuffer(bytes: png)) { response in
                #expect(response.status == .ok)
                let result = try F.decode(PredictionResult.self, response.body)
                #expect(result.mean.count == 3 && result.samples == 5)
                #expect(result.classNames == result.classes.map { ["red", "green", "blue"][$0] })
            }
            // JSON pixels are the model's own values: 240 of them, not 784.
            let body = #"{"pixels": [\#((0..<240).map { _ in "0.5" }.joined(separator: ","))]}"#
            try await client.execute(uri: "/api/predict", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
            }
            let digits = #"{"pixels": [\#((0..<784).map { _ in "0.5" }.joined(separator: ","))]}"#
            try await client.execute(uri: "/api/predict", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: digits)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("240 values (3 channels of 8×10"))
            }
        }
    }
}
