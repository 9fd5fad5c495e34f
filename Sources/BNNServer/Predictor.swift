import BNN
import BNNData
import Foundation

/// Runs predictions for concurrent requests on a few dedicated worker threads, each with its own copy
/// of the model, batching the requests that wait.
///
/// Why this shape:
/// - A network is not thread-safe (its layers reuse internal buffers), so each worker owns one copy and
///   no two threads ever touch the same copy.
/// - Prediction is CPU-bound work of about a millisecond. Running it on dedicated threads keeps it off
///   Swift's cooperative thread pool, where it would delay the tasks that read requests and write
///   responses; request handlers only enqueue and `await`.
/// - The first layer of the MLP reads 2 × 784 × hidden weights per forward pass whatever the batch size,
///   and the per-sample loop has a fixed cost per call. Requests that queue up while a worker is busy are
///   therefore run together (up to `maximumBatch`), which makes a burst cheaper per request instead of
///   making it wait longer. Each input still gets its own independent posterior samples.
public final class Predictor: @unchecked Sendable {
    // @unchecked: `queue` and `stopping` are only touched with `condition` locked; each model is only
    // touched by its own worker thread.

    /// The decision rule applied to every prediction.
    public let rule: DecisionRule
    /// The number of input values the model expects (784 for MNIST models).
    public let inputCount: Int
    /// The class names of the model, index = class.
    public let classNames: [String]
    /// How the model's inputs are prepared (what the request parsers bring an image to).
    public let preprocessing: InputPreprocessing
    /// How many requests one forward pass may serve at most.
    public let maximumBatch: Int
    /// The number of worker threads (= model copies).
    public var workerCount: Int { workers }

    private struct Job {
        let pixels: [Float]
        let samples: Int
        let continuation: CheckedContinuation<PredictionResult, Never>
    }

    private let condition = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    private var running = 0
    private let workers: Int

    /// Starts one worker thread per model.
    ///
    /// - Parameters:
    ///   - models: separately loaded copies of the same model (one per worker; they must not share layers).
    ///   - rule: the decision rule for every answer.
    ///   - maximumBatch: the most queued requests one forward pass serves (1 turns batching off).
    ///   - seed: the seed of every prediction: an image gets the same answer in every request that asks for
    ///     the same number of samples, whichever worker serves it and whatever else shares its batch.
    public init(models: [BayesianClassifier], rule: DecisionRule, maximumBatch: Int = 16, seed: UInt64 = 0) {
        precondition(!models.isEmpty, "Predictor needs at least one model")
        precondition(maximumBatch >= 1, "maximumBatch must be at least 1, got \(maximumBatch)")
        precondition(Set(models.map { ObjectIdentifier($0.network) }).count == models.count,
                     "each worker needs its own copy of the model (networks are not thread-safe)")
        self.rule = rule
        self.inputCount = models[0].network.inputCount
        self.classNames = models[0].classNames
        self.preprocessing = models[0].preprocessing
        self.maximumBatch = maximumBatch
        self.workers = models.count
        running = models.count
        for (index, model) in models.enumerated() {
            let box = UncheckedModel(model: model)
            let thread = Thread { [self] in
                self.work(model: box.model, seed: seed)
            }
            thread.name = "bnn-predict-\(index)"
            thread.start()
        }
    }

    /// The prediction for one normalised input (`inputCount` values) with `samples` posterior samples.
    public func predict(_ pixels: [Float], samples: Int) async -> PredictionResult {
        precondition(pixels.count == inputCount, "the model expects \(inputCount) values, got \(pixels.count)")
        precondition(samples >= 1, "samples must be at least 1, got \(samples)")
        return await withCheckedContinuation { continuation in
            condition.lock()
            queue.append(Job(pixels: pixels, samples: samples, continuation: continuation))
            condition.signal()
            condition.unlock()
        }
    }

    /// Stops the workers once the queue is empty. Predictions requested afterwards never complete.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until every worker has stopped (after `shutdown()`).
    public func waitUntilStopped() {
        condition.lock()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func work(model: BayesianClassifier, seed: UInt64) {
        let features = inputCount
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            // Serve the oldest request and the queued ones that ask for the same number of samples.
            let samples = queue[0].samples
            var batch: [Job] = []
            var rest: [Job] = []
            for job in queue {
                if job.samples == samples && batch.count < maximumBatch { batch.append(job) } else { rest.append(job) }
            }
            queue = rest
            // Another worker may take what is left while this one computes.
            if !queue.isEmpty { condition.signal() }
            condition.unlock()

            let inputs = Tensor(shape: [batch.count, features])
            for (row, job) in batch.enumerated() {
                job.pixels.withUnsafeBufferPointer { (inputs.pointer + row * features).update(from: $0.baseAddress!, count: features) }
            }
            var generator = RandomGenerator(seed: seed)
            let results = model.predict(inputs, rule: rule, samples: samples, generator: &generator)
            for (job, result) in zip(batch, results) { job.continuation.resume(returning: result) }
        }
    }
}

/// Carries a model into its worker thread's closure; only that thread uses it afterwards.
private struct UncheckedModel: @unchecked Sendable {
    let model: BayesianClassifier
}
