import ArgumentParser
import BNN
import BNNData
import BNNServer
import Dispatch
import Foundation
import Logging

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the draw-a-digit web demo and its JSON API.",
        discussion: """
            Open http://HOST:PORT/ in a browser, draw a digit and watch the network answer or refuse. The page \
            uses the JSON API: POST /api/predict with {"pixels": [784 values in 0…1], "samples": 100} or a PNG \
            body (Content-Type: image/png), GET /api/sample?kind=mnist|notmnist|noise and GET /api/health. \
            MNIST and notMNIST samples come from the data folder when it has them; nothing is downloaded.
            """)

    @Option(help: "The model file (.safetensors).")
    var model: String
    @Option(help: "The address to listen on (0.0.0.0 to let other machines in).")
    var host = "127.0.0.1"
    @Option(help: "The TCP port (0: any free port, shown in the log).")
    var port = 8080
    @OptionGroup var data: DataOptions
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var compute: ComputeOptions
    @Option(help: "Prediction worker threads, each with its own copy of the model (default: the number of cores, at most 4).")
    var workers: Int?
    @Option(help: "The most waiting requests one forward pass serves together.")
    var maxBatch = 16
    @Option(name: .customLong("request-timeout"), help: ArgumentHelp(
        "Seconds a connection may take to send a request head or pause in a body, or stay idle between requests, before it is closed; also the most a whole body may take.",
        valueName: "seconds"))
    var requestTimeout: Double = 10
    @Option(name: .customLong("max-connections"), help: "The most connections open at once; further ones wait until one closes.")
    var maxConnections = ServerLimits.maximumConnections
    @Option(help: "Log level: trace, debug, info (one line per request), notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be within 0–65535, got \(port).") }
        try requireSampleCount(ruleOptions.samples, maximum: ServerLimits.maximumSamples)
        try requireRange(workers, 1...64, option: "--workers")
        try requireRange(maxBatch, 1...1024, option: "--max-batch")
        try requireRange(requestTimeout, 0.1...3600, option: "--request-timeout")
        try requireRange(maxConnections, 1...100_000, option: "--max-connections")
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'.")
        }
    }

    func run() throws {
        try runReportingErrors {
            compute.apply()
            let workerCount = workers ?? min(4, ProcessInfo.processInfo.activeProcessorCount)
            // The workers already keep the cores busy with whole requests; letting each also split its matrix
            // multiplies across threads would only make them fight (measured: see the README's load test).
            if compute.threads == nil { ComputeSettings.threads = 1 }
            let url = URL(fileURLWithPath: model)
            // One copy per worker: a network reuses internal buffers and must not be shared between threads.
            let models = try (0..<workerCount).map { _ in try BayesianClassifier.load(from: url) }
            let rule = try ruleOptions.decisionRule(for: models[0], file: model)
            let defaultSamples = ruleOptions.sampleCount(for: models[0])
            guard defaultSamples <= ServerLimits.maximumSamples else {
                throw CommandError(description: "\(model): the model's threshold was calibrated with \(defaultSamples) samples, "
                                   + "more than the server's maximum of \(ServerLimits.maximumSamples); pass --samples")
            }
            let samples = try SampleImages.load(dataDirectory: data.dataDirectory, seed: compute.seed) { Console.warning($0) }
            let predictor = Predictor(models: models, rule: rule, maximumBatch: maxBatch, seed: compute.seed)

            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            var logger = Logger(label: "bnn.serve")
            logger.logLevel = level
            let configuration = ServerConfiguration(
                host: host, port: port, defaultSamples: defaultSamples, modelName: url.lastPathComponent,
                requestTimeout: .milliseconds(Int64(requestTimeout * 1000)), maximumConnections: maxConnections)
            Self.raiseOpenFileLimit(for: configuration.maximumConnections)
            let host = host, modelName = url.lastPathComponent, ruleName = rule.kind.rawValue
            let app = buildApplication(configuration: configuration, predictor: predictor, samples: samples, logger: logger) { port in
                Console.info("bnn serve: \(modelName), rule \(ruleName), \(workerCount) workers; "
                             + "open http://\(host):\(port)/ (Ctrl-C stops)")
            }
            do {
                try Self.runBlocking { try await app.runService() }
            } catch {
                throw describeListenFailure(error, host: host, port: port).map { CommandError(description: $0) } ?? error
            }
            predictor.shutdown()
        }
    }

    /// Raises the soft limit on open files to what `connections` connections need (plus some for the
    /// process's own files), up to the hard limit: the common default of 1,024 is just above the
    /// server's connection limit. A failure only leaves the limit as it was.
    static func raiseOpenFileLimit(for connections: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(connections + 256)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Runs async work from this synchronous command (the root command is not async), waiting on a thread
    /// that is not part of Swift's cooperative pool.
    static func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
        final class Outcome: @unchecked Sendable { var error: (any Error)? }  // written before the signal, read after
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await body() } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }
}
