import BNN
import Foundation
import Hummingbird
import Logging

/// What `bnn serve` was asked for.
public struct ServerConfiguration: Sendable {
    /// The address to listen on (127.0.0.1 keeps the demo on this machine).
    public var host: String
    /// The TCP port (0 lets the system choose one).
    public var port: Int
    /// Posterior samples per prediction when a request does not say.
    public var defaultSamples: Int
    /// How the model is named in `GET /api/health` (its file name).
    public var modelName: String

    public init(host: String = "127.0.0.1", port: Int = 8080, defaultSamples: Int = 100, modelName: String) {
        self.host = host
        self.port = port
        self.defaultSamples = defaultSamples
        self.modelName = modelName
    }
}

/// The demo application: the page, the JSON API and request logging, listening where `configuration` says.
///
/// `onServerRunning` receives the port actually bound (useful with port 0) once the server accepts connections.
public func buildApplication(
    configuration: ServerConfiguration, predictor: Predictor, samples: SampleImages, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = buildRouter(configuration: configuration, predictor: predictor, samples: samples)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "bnn"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// The routes:
/// - `GET /` the draw-a-digit page;
/// - `GET /api/health` the server's state and model;
/// - `GET /api/sample?kind=mnist|notmnist|noise[&index=N]` an image to draw on the canvas;
/// - `POST /api/predict` a JSON or PNG body → `PredictionResult` JSON.
/// Every error is answered as `{"error": "…"}` (see `APIError`).
public func buildRouter(
    configuration: ServerConfiguration, predictor: Predictor, samples: SampleImages
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.addMiddleware { RequestLogMiddleware() }

    router.get("/") { _, _ -> Response in
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: DemoPage.html)))
    }

    let health = HealthBody(
        status: "ok", model: configuration.modelName, rule: predictor.rule.kind.rawValue,
        score: predictor.rule.score.rawValue, threshold: predictor.rule.threshold,
        samples: configuration.defaultSamples, maxSamples: ServerLimits.maximumSamples,
        classes: predictor.classNames, sampleKinds: samples.kinds.map(\.rawValue), workers: predictor.workerCount)
    router.get("/api/health") { _, _ in JSONResponse.make(health) }

    router.get("/api/sample") { request, _ -> Response in
        let query = request.uri.queryParameters
        guard let kindName = query.get("kind") else {
            throw APIError.badRequest("say which sample: ?kind=mnist, notmnist or noise")
        }
        guard let kind = SampleImages.Kind(rawValue: kindName) else {
            throw APIError.badRequest("unknown sample kind '\(kindName)'; use mnist, notmnist or noise")
        }
        var index: Int?
        if let text = query.get("index") {
            guard let value = Int(text) else { throw APIError.badRequest("index must be an integer; found '\(text)'") }
            index = value
        }
        return JSONResponse.make(try samples.sample(kind, index: index))
    }

    router.post("/api/predict") { request, _ -> Response in
        let input = try await readPredictionInput(request, defaultSamples: configuration.defaultSamples)
        guard input.pixels.count == predictor.inputCount else {
            throw APIError.badRequest("the model expects \(predictor.inputCount) inputs; this server only prepares 28×28 images")
        }
        return JSONResponse.make(await predictor.predict(input.pixels, samples: input.samples))
    }
    return router
}

/// Reads and checks the body of `POST /api/predict` (JSON by default, PNG with `Content-Type: image/png`).
func readPredictionInput(_ request: Request, defaultSamples: Int) async throws -> PredictionInput {
    // Refuse a declared oversize body before reading any of it; `collect(upTo:)` catches undeclared ones.
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > ServerLimits.maximumBodyBytes {
        throw APIError(.contentTooLarge, "the body is \(length) bytes; at most \(ServerLimits.maximumBodyBytes) are accepted")
    }
    let buffer = try await request.body.collect(upTo: ServerLimits.maximumBodyBytes)
    let mediaType = (request.headers[.contentType] ?? "").split(separator: ";").first
        .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    switch mediaType {
    case "image/png":
        var samples = defaultSamples
        if let text = request.uri.queryParameters.get("samples") {
            guard let value = Int(text) else { throw APIError.badRequest("samples must be an integer; found '\(text)'") }
            samples = value
        }
        return try PredictionInput.parsePNG(Array(buffer.readableBytesView), samples: samples)
    case "", "application/json":
        // No Content-Type at all is read as JSON; any other type (text/plain too, which a `fetch` without
        // a header sends) is 415, so that a client learns to say what it sends.
        return try PredictionInput.parseJSON(buffer.readableBytesView, defaultSamples: defaultSamples)
    default:
        throw APIError(.unsupportedMediaType, "send application/json or image/png; found '\(mediaType)'")
    }
}

/// `GET /api/health`.
struct HealthBody: Encodable, Sendable {
    let status: String
    let model: String
    let rule: String
    let score: String
    let threshold: Float
    let samples: Int
    let maxSamples: Int
    let classes: [String]
    let sampleKinds: [String]
    let workers: Int

    enum CodingKeys: String, CodingKey {
        case status, model, rule, score, threshold, samples, classes, workers
        case maxSamples = "max_samples"
        case sampleKinds = "sample_kinds"
    }
}

/// Logs every request with its status and duration, and turns every error into a JSON answer, so that
/// unknown routes (404), oversize bodies (413) and bad input (400) all look alike to a client.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        var failure: String?
        do {
            response = try await next(request, context)
        } catch {
            response = APIError.response(for: error)
            failure = "\(error)"
        }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "status": .stringConvertible(response.status.code),
            "ms": .string(String(format: "%.2f", milliseconds)),
        ]
        if let failure { metadata["error"] = .string(failure) }
        let level: Logger.Level = response.status.code >= 500 ? .error : .info
        context.logger.log(level: level, "\(request.method.rawValue) \(request.uri.path)", metadata: metadata)
        return response
    }
}
