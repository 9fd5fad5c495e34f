import BNN
import BNNData
import Foundation
import Hummingbird
import Logging
import NIOEmbedded
import ServiceLifecycle
@testable import BNNServer

/// Models, apps and request bodies shared by the server tests.
enum ServerFixtures {
    /// An untrained 784 → 16 → 10 Bayesian MLP with a calibrated rule refusing above `threshold`
    /// (mutual information). Threshold 10 never refuses (MI ≤ ln 10); −1 always refuses.
    static func tinyModel(threshold: Float = 0.05, seed: UInt64 = 1) -> BayesianClassifier {
        let network = NetworkBuilder.mlp(inputs: 784, hidden: 16, classes: 10)
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

    /// The sample images of a test server: the fake MNIST set when `withMNIST`, and noise.
    static func samples(withMNIST: Bool) -> SampleImages {
        SampleImages(mnistTest: withMNIST ? fakeMNIST() : nil, notMNIST: nil, seed: 3)
    }

    /// A logger that keeps the test output quiet.
    static let logger: Logger = {
        var logger = Logger(label: "bnn.serve.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a client of the demo's routes around `predictor` (see `RouterClient`).
    static func routes<Value>(predictor: Predictor, withMNIST: Bool = false, configuration: ServerConfiguration = configuration,
                              _ body: (RouterClient) async throws -> Value) async throws -> Value {
        let router = buildRouter(configuration: configuration, predictor: predictor, samples: samples(withMNIST: withMNIST))
        return try await body(RouterClient(responder: router.buildResponder(), logger: logger))
    }

    /// Runs the real server around `predictor` on a free loopback port while `body` runs with that port, then stops it.
    static func withLiveServer<Value: Sendable>(
        predictor: Predictor, samples: SampleImages, defaultSamples: Int = 20, modelName: String = "tiny.safetensors",
        _ body: @escaping @Sendable (Int) async throws -> Value
    ) async throws -> Value {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = buildApplication(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, defaultSamples: defaultSamples, modelName: modelName),
            predictor: predictor, samples: samples, logger: logger,
            onServerRunning: { port in portContinuation.yield(port) })
        let service = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do {
                let value = try await body(port)
                await service.triggerGracefulShutdown()
                return value
            } catch {
                await service.triggerGracefulShutdown()
                throw error
            }
        }
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

/// The demo's routes driven in process, as the server drives them but without a socket: each request
/// goes through the middleware and the router, and the whole response body is collected.
struct RouterClient: Sendable {
    let responder: RouterResponder<BasicRequestContext>
    let logger: Logger

    /// What came back.
    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: ByteBuffer
    }

    /// Sends one request (with its Content-Length, as a client would) and hands the answer to `check`.
    @discardableResult
    func execute<Value>(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                        _ check: (Answer) async throws -> Value) async throws -> Value {
        var headers = headers
        if let body { headers[.contentLength] = String(body.readableBytes) }
        let request = Request(head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: uri, headerFields: headers),
                              body: RequestBody(buffer: body ?? ByteBuffer()))
        let context = BasicRequestContext(source: ApplicationRequestContextSource(channel: EmbeddedChannel(), logger: logger))
        // The middleware turns every error into an answer; one escaping it is a 500, as the server would send.
        let response = (try? await responder.respond(to: request, context: context)) ?? Response(status: .internalServerError)
        let collector = BodyCollector()
        try await response.body.write(collector)
        return try await check(Answer(status: response.status, headers: response.headers, body: collector.buffer))
    }

    /// Gathers a response body.
    final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
        private let lock = NSLock()
        private var collected = ByteBuffer()
        var buffer: ByteBuffer { lock.withLock { collected } }

        func write(_ buffer: ByteBuffer) async throws {
            lock.withLock { _ = collected.writeImmutableBuffer(buffer) }
        }

        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

/// `{"error": "…"}`.
struct ErrorAnswer: Decodable {
    let error: String
}
