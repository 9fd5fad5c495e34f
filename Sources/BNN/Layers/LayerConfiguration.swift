/// The serialisable description of one layer: its kind and its settings.
///
/// Model files store a list of these in their metadata (`architecture`), so that a model can be rebuilt
/// before its tensors are loaded.
public struct LayerConfiguration: Codable, Sendable, Equatable {
    public var kind: String
    public var inputs: Int?
    public var outputs: Int?
    public var estimator: String?
    public var priorSigma: Float?
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
                inputShape: [Int]? = nil, members: [[LayerConfiguration]]? = nil) {
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.estimator = estimator
        self.priorSigma = priorSigma
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
}
