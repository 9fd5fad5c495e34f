import BNN
import Foundation
import Hummingbird
import Logging
@testable import BNNServer

/// Models, apps and request bodies shared by the server tests.
enum ServerFixtures {
    /// An untrained 784 → 16 → 10 Bayesian MLP with a calibrated rule refusing above `threshold`
    /// (mutual information). Threshold 10 never refuses (MI ≤ ln 10); −1 always refuses.
    static func tinyModel(threshold: Float = 0.05, seed: UInt64 = 1) -> BayesianClassifier {
        let network = NetworkBuilder.mlp(inputs: 784, hidden: 16)
        var generator = RandomGenerator(seed: seed)
        for layer in network.layers {
            (layer as? BayesianDense)?.initialize(.he, initialSigma: 0.05, generator: &generator)
        }
        let calibration = Calibration(score: .mutualInformation, threshold: threshold, coverage: 0.975, samples: 100,
                                      validationCount: 100, acceptedAccuracy: 0.5)
        return BayesianClassifier(network: network, training: .default, calibration: calibration)
    }

    /// A predictor over `workers` identical copies of the tiny model.
    static func predictor(threshold: Float = 0.05, workers: Int = 2, maximumBatch: Int = 16) throws -> Predictor {
        let models = (0..<workers).map { _ in tinyModel(threshold: threshold) }
        let rule = try DecisionRule.make(kind: .calibrated, model: models[0])
        return Predictor(models: models, rule: rule, maximumBatch: maximumBatch)
    }

    /// Ten 28×28 "MNIST" images: image i is a bright vertical bar at column 4 + 2i, label i.
    static func fakeMNIST() -> LabeledImages {
        let images = Tensor(shape: [10, 784])
        for i in 0..<10 {
            for row in 4..<24 { images.pointer[i * 784 + row * 28 + 4 + 2 * i] = 1 }
        }
        return LabeledImages(images: images, labels: Array(0..<10), rows: 28, columns: 28)
    }

    static let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, defaultSamples: 20, modelName: "tiny.safetensors")

    /// The app around `predictor`, with the fake MNIST set when `withMNIST`.
    static func app(predictor: Predictor, withMNIST: Bool = false,
                    configuration: ServerConfiguration = configuration) -> some ApplicationProtocol {
        let samples = SampleImages(mnistTest: withMNIST ? fakeMNIST() : nil, notMNIST: nil, seed: 3)
        var logger = Logger(label: "bnn.serve.test")
        logger.logLevel = .warning
        return buildApplication(configuration: configuration, predictor: predictor, samples: samples, logger: logger)
    }

    /// A thick "7" on a 28×28 black field: a bar along row 6 and a diagonal down to the bottom.
    static func sevenPixels() -> [Float] {
        var pixels = [Float](repeating: 0, count: 784)
        for x in 6..<22 { pixels[6 * 28 + x] = 1; pixels[7 * 28 + x] = 1 }
        for y in 7..<24 {
            let x = 21 - (y - 7) * 9 / 17
            pixels[y * 28 + x] = 1
            pixels[y * 28 + x - 1] = 0.8
        }
        return pixels
    }

    /// `{"pixels": […], …}` as bytes.
    static func jsonBody(pixels: [Float], extra: String = "") -> ByteBuffer {
        let list = pixels.map { String($0) }.joined(separator: ",")
        return ByteBuffer(string: "{\"pixels\":[\(list)]\(extra)}")
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]
    static let pngHeaders: HTTPFields = [.contentType: "image/png"]

    static func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    }
}

/// `{"error": "…"}`.
struct ErrorAnswer: Decodable {
    let error: String
}
