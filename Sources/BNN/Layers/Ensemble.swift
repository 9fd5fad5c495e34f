import Foundation

/// A layer that is a mixture of whole networks: the predictive distribution is the equal-weight mixture
/// of its members' (Lakshminarayanan, Pritzel & Blundell 2017, "Simple and Scalable Predictive
/// Uncertainty Estimation using Deep Ensembles").
///
/// `Predictive` samples a network made of one mixture layer by member, stratified: sample s comes from
/// member s mod K, through that member's own best path (see `Predictive`). Members are trained one by one
/// (`ClassifierTraining`), never through this layer.
public protocol MixtureLayer: Layer {
    /// The member networks, all reading the same input shape and giving the same number of classes.
    var members: [Sequential] { get }
}

/// K networks of the same input shape and class count, predicted as an equal-weight mixture (a deep
/// ensemble, or an ensemble of Bayesian networks). Saved as the layer kind `ensemble`, whose tensors are
/// `members.<k>.layers.<i>.<parameter>` (docs/model-format.md).
///
/// Forward modes, for a caller other than `Predictive` (which samples by member itself):
/// `.sample` and `.sampleWeights` run one member chosen uniformly from `generator`, and that member's own
/// sample; `.mean` returns log p̄, the logarithm of the mixture of the members' `.mean` probabilities
/// (valid logits: their softmax is p̄). Training through the layer is not supported.
public final class Ensemble: MixtureLayer {
    public let kind = "ensemble"
    public let members: [Sequential]
    private var outputBuffer = Workspace()
    private var probabilityBuffer = Workspace()

    /// - Precondition: at least two members, all with one input shape and one class count.
    public init(members: [Sequential]) {
        precondition(members.count >= 2, "Ensemble needs at least two members, got \(members.count)")
        let shape = members[0].inputShape, classes = members[0].classes
        for (index, member) in members.enumerated() {
            precondition(member.inputShape == shape && member.classes == classes,
                         "Ensemble member \(index) reads \(member.inputShape) and gives \(member.classes) classes; member 0 reads \(shape) and gives \(classes)")
        }
        self.members = members
    }

    public var inputCount: Int? { members[0].inputCount }

    public var configuration: LayerConfiguration {
        LayerConfiguration(kind: kind, inputShape: members[0].inputShape, members: members.map(\.architecture))
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == members[0].inputCount,
                     "Ensemble expects \(members[0].inputCount) inputs, got shape \(inputShape)")
        return members[0].outputShape
    }

    public var parameters: [Parameter] { members.flatMap { $0.namedParameters.map(\.parameter) } }
    public var namedParameters: [(name: String, parameter: Parameter)] {
        members.enumerated().flatMap { index, member in member.namedParameters.map { ("members.\(index).\($0.name)", $0.parameter) } }
    }
    public var posteriorBlocks: [MeanFieldNormal] { members.flatMap(\.posteriorBlocks) }
    public var isStochasticInPrediction: Bool { true }

    public func initialize(_ initialization: PosteriorInitialization, initialSigma: Float, generator: inout RandomGenerator) {
        for member in members {
            for layer in member.layers { layer.initialize(initialization, initialSigma: initialSigma, generator: &generator) }
        }
    }

    public func parametersDidChange() { members.forEach { $0.parametersDidChange() } }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        switch mode {
        case .train:
            preconditionFailure("Ensemble members are trained one by one (ClassifierTraining), not through the ensemble")
        case .sample, .sampleWeights:
            let member = members[generator.integer(below: members.count)]
            return member.forward(input, mode: mode, generator: &generator)
        case .mean:
            let rows = input.rows, classes = members[0].classes
            let mixture = outputBuffer.tensor(shape: [rows, classes])
            mixture.fill(0)
            let probabilities = probabilityBuffer.tensor(shape: [rows, classes])
            for member in members {
                Predictive.softmax(member.forward(input, mode: .mean, generator: &generator), into: probabilities.pointer)
                for i in 0..<rows * classes { mixture.pointer[i] += probabilities.pointer[i] }
            }
            let scale = 1 / Float(members.count)
            for i in 0..<rows * classes { mixture.pointer[i] = Foundation.log(max(mixture.pointer[i] * scale, Float.leastNormalMagnitude)) }
            return mixture
        }
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        preconditionFailure("Ensemble members are trained one by one (ClassifierTraining), not through the ensemble")
    }
}
