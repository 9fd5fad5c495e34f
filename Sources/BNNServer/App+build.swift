import BNN
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

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
    /// How long a connection may take to send a request's head (and any pause within its body), and stay
    /// open between requests; then it is closed. Also the most time a request body may take in all.
    public var requestTimeout: Duration
    /// The most connections open at once; further ones wait in the listen queue until one closes.
    public var maximumConnections: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, defaultSamples: Int = 100, modelName: String,
                requestTimeout: Duration = ServerLimits.requestTimeout,
                maximumConnections: Int = ServerLimits.maximumConnections) {
        self.host = host
        self.port = port
        self.defaultSamples = defaultSamples
        self.modelName = modelName
        self.requestTimeout = requestTimeout
        self.maximumConnections = maximumConnections
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
    let timeout = configuration.requestTimeout.components
    return Application(
        router: router,
        // The idle timeout also bounds how long a request head may take: no part of a request has been
        // read until its head is complete, so a slow-header ("slowloris") connection counts as idle.
        server: .http1(configuration: .init(
            additionalChannelHandlers: [CloseAfterResponseHandler()],
            idleTimeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "bnn",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections, logger: logger)),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// One line naming `host:port` when `error` is the server failing to listen there (the port is taken,
/// the address is not this machine's, …), or nil for any other error.
public func describeListenFailure(_ error: any Error, host: String, port: Int) -> String? {
    guard let error = error as? IOError else { return nil }
    let reason = error.errnoCode == EADDRINUSE ? "the port is already in use (by another server?); choose another port"
        : String(cString: strerror(error.errnoCode)) + " (errno \(error.errnoCode))"
    return "cannot listen on \(host):\(port): \(reason)"
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
    let methods = RouteMethods()
    router.addMiddleware { MethodNotAllowedMiddleware(methods: methods) }
    func route(_ method: HTTPRequest.Method, _ path: String,
               _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        methods.add(method, path)
        router.on(RouterPath(path), method: method, use: handler)
    }

    route(.get, "/") { _, _ -> Response in
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: DemoPage.html)))
    }

    let health = HealthBody(
        status: "ok", model: configuration.modelName, rule: predictor.rule.kind.rawValue,
        score: predictor.rule.score.rawValue, threshold: predictor.rule.threshold,
        samples: configuration.defaultSamples, maxSamples: ServerLimits.maximumSamples,
        classes: predictor.classNames, sampleKinds: predictor.preprocessing.digitNormalization ? samples.kinds.map(\.rawValue) : [],
        workers: predictor.workerCount,
        input: HealthBody.Input(kind: predictor.preprocessing.kind.rawValue, shape: predictor.preprocessing.shape,
                                digitNormalization: predictor.preprocessing.digitNormalization))
    route(.get, "/api/health") { _, _ in JSONResponse.make(health) }

    route(.get, "/api/sample") { request, _ -> Response in
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

    route(.post, "/api/predict") { request, _ -> Response in
        let input = try await readPredictionInput(
            request, defaultSamples: configuration.defaultSamples, timeout: configuration.requestTimeout,
            preprocessing: predictor.preprocessing)
        guard input.pixels.count == predictor.inputCount else {
            throw APIError.badRequest("the model expects \(predictor.inputCount) values per input, the request gave \(input.pixels.count)")
        }
        return JSONResponse.make(await predictor.predict(input.pixels, samples: input.samples))
    }
    return router
}

/// Reads and checks the body of `POST /api/predict` (JSON by default, PNG with `Content-Type: image/png`).
///
/// A body that is too large is 413, one that ends before its `Content-Length` 400, and one that takes
/// longer than `timeout` to arrive 408; the connection is then closed (see `APIError.response(for:)`).
func readPredictionInput(_ request: Request, defaultSamples: Int, timeout: Duration,
                         preprocessing: InputPreprocessing = .mnist) async throws -> PredictionInput {
    // Refuse a declared oversize body before reading any of it; `collect(upTo:)` catches undeclared ones.
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > ServerLimits.maximumBodyBytes {
        throw APIError(.contentTooLarge, "the body is \(length) bytes; at most \(ServerLimits.maximumBodyBytes) are accepted")
    }
    let buffer = try await readBody(request, timeout: timeout)
    let mediaType = (request.headers[.contentType] ?? "").split(separator: ";").first
        .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    switch mediaType {
    case "image/png":
        var samples = defaultSamples
        if let text = request.uri.queryParameters.get("samples") {
            guard let value = Int(text) else { throw APIError.badRequest("samples must be an integer; found '\(text)'") }
            samples = value
        }
        return try PredictionInput.parsePNG(Array(buffer.readableBytesView), samples: samples, preprocessing: preprocessing)
    case "", "application/json":
        // No Content-Type at all is read as JSON; any other type (text/plain too, which a `fetch` without
        // a header sends) is 415, so that a client learns to say what it sends.
        return try PredictionInput.parseJSON(buffer.readableBytesView, preprocessing: preprocessing, defaultSamples: defaultSamples)
    default:
        throw APIError(.unsupportedMediaType, "send application/json or image/png; found '\(mediaType)'")
    }
}

/// The whole body of `request`, read within `timeout`.
func readBody(_ request: Request, timeout: Duration) async throws -> ByteBuffer {
    try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
        group.addTask {
            do {
                return try await request.body.collect(upTo: ServerLimits.maximumBodyBytes)
            } catch is NIOTooManyBytesError {
                throw APIError(.contentTooLarge, "the body is larger than \(ServerLimits.maximumBodyBytes) bytes")
            } catch is CancellationError {
                return nil
            } catch {
                // The connection ended (or broke) before the body was complete.
                throw APIError.badRequest("the body ended before it was complete (shorter than its Content-Length?)")
            }
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        if let first = try await group.next(), let body = first { return body }
        throw APIError(.requestTimeout, "the body did not arrive within \(timeout)")
    }
}

/// The methods each route answers, filled in as the routes are added (before the server starts), read by
/// `MethodNotAllowedMiddleware`.
final class RouteMethods: @unchecked Sendable {
    private(set) var methods: [String: [HTTPRequest.Method]] = [:]

    func add(_ method: HTTPRequest.Method, _ path: String) { methods[path, default: []].append(method) }
}

/// Answers 405 with `Allow` when a known path is asked for with a method it does not answer (the router
/// alone would say 404, as if the path did not exist).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let methods: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let allowed = methods.methods[request.uri.path], !allowed.contains(request.method) else {
            return try await next(request, context)
        }
        let names = allowed.map(\.rawValue).joined(separator: ", ")
        var response = APIError.response(for: APIError(.methodNotAllowed, "\(request.uri.path) answers \(names), not \(request.method.rawValue)"))
        response.headers[.allow] = names
        return response
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
    /// What the model reads: `kind` image or tabular, `shape`, and whether images are normalised as digits
    /// (the page shows its drawing canvas only then).
    let input: Input

    struct Input: Encodable, Sendable {
        let kind: String
        let shape: [Int]
        let digitNormalization: Bool
        enum CodingKeys: String, CodingKey {
            case kind, shape
            case digitNormalization = "digit_normalization"
        }
    }

    enum CodingKeys: String, CodingKey {
        case status, model, rule, score, threshold, samples, classes, workers, input
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
