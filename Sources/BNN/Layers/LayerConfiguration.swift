/// The serialisable description of one layer: its kind and its settings.
///
/// Model files store a list of these in their metadata (`architecture`), so that a model can be rebuilt
/// before its tensors are loaded.
public struct LayerConfiguration: Codable, Sendable, Equatable {
    public var kind: String
    public var inputs: Int?
    public var outputs: Int?
    public var estimator: String?
    /// The standard deviation of a Normal prior N(0, s²) (σ = 1 when absent and `prior` is nil).
    public var priorSigma: Float?
    /// A prior other than the Normal (`Prior.scaleMixture`); a Normal prior is stored as `priorSigma`, so
    /// that files of Normal-prior models are as before.
    public var prior: Prior?
    /// Convolution and pooling settings (used by the convolutional layers).
    public var channels: Int?
    public var filters: Int?
    public var kernelSize: Int?
    public var stride: Int?
    public var padding: Int?
    public var height: Int?
    public var width: Int?
    /// The dropout rate p (`dropout`).
    public var rate: Float?
    /// The per-example input shape of every member (`ensemble`).
    public var inputShape: [Int]?
    /// Each member network's layers (`ensemble`).
    public var members: [[LayerConfiguration]]?

    public init(kind: String, inputs: Int? = nil, outputs: Int? = nil, estimator: String? = nil,
                priorSigma: Float? = nil, channels: Int? = nil, filters: Int? = nil, kernelSize: Int? = nil,
                stride: Int? = nil, padding: Int? = nil, height: Int? = nil, width: Int? = nil, rate: Float? = nil,
                inputShape: [Int]? = nil, members: [[LayerConfiguration]]? = nil,
                prior: Prior? = nil) {
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.estimator = estimator
        if case .normal(let sigma)? = prior {
            self.priorSigma = sigma
        } else {
            self.priorSigma = priorSigma
            self.prior = prior
        }
        self.channels = channels
        self.filters = filters
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.height = height
        self.width = width
        self.rate = rate
        self.inputShape = inputShape
        self.members = members
    }

    /// The stored prior (`prior`, else N(0, `priorSigma`²), σ = 1 when neither is stored), or a thrown
    /// `NetworkBuilder.UnknownLayer` naming what is wrong with it.
    public func layerPrior() throws -> Prior {
        let stored = prior ?? .normal(sigma: priorSigma ?? 1)
        if let problem = stored.invalidSetting { throw NetworkBuilder.UnknownLayer(description: "\(kind) layer: \(problem)") }
        return stored
    }
}
