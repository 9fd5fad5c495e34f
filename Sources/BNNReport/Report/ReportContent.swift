import BNN
import BNNData
import Foundation

/// Everything a report shows: the model, the evaluation of its decision rule on every data set, the
/// same samples judged by other rules, and how to pick the gallery.
public struct ReportContent {
    public var model: BayesianClassifier
    /// How the model is named on the page (usually its file name).
    public var modelName: String
    /// The rule whose numbers `result` holds.
    public var rule: DecisionRule
    public var result: EvaluationResult
    /// Per data set, in-distribution first (as `ClassifierEvaluation.evaluate` returns them).
    public var details: [DatasetDetails]
    /// Other rules applied to the same samples (by default the tutorial's `median` rule and/or `calibrated`).
    public var comparisons: [(rule: DecisionRule, figures: RuleFigures)]
    /// The seed of the evaluation (for the page's "how to reproduce" line).
    public var seed: UInt64
    /// Seconds spent training, when known better than the sum over the model's history (e.g. `bnn demo`).
    public var trainingSeconds: Double?
    public var gallery: GalleryPlan
    /// The command that reproduces the report, shown on the page (nil: none shown).
    public var command: String?

    /// How many inputs of each kind the gallery shows.
    public struct GalleryPlan: Sendable, Equatable {
        /// In-distribution inputs answered with their true class.
        public var correct: Int
        /// In-distribution inputs answered with another class.
        public var wrong: Int
        /// In-distribution inputs refused.
        public var refused: Int
        /// Per out-of-distribution set (half refused, half accepted, when there are both).
        public var outOfDistribution: Int

        public init(correct: Int = 4, wrong: Int = 3, refused: Int = 3, outOfDistribution: Int = 4) {
            self.correct = correct
            self.wrong = wrong
            self.refused = refused
            self.outOfDistribution = outOfDistribution
        }
    }

    /// A report of an evaluation already run; `comparisonRules` are applied to the same samples.
    public init(model: BayesianClassifier, modelName: String, rule: DecisionRule, result: EvaluationResult,
                details: [DatasetDetails], comparisonRules: [DecisionRule], seed: UInt64,
                gallery: GalleryPlan = GalleryPlan(), command: String? = nil) {
        precondition(!details.isEmpty && details[0].labels != nil, "the first data set must be the labelled in-distribution set")
        self.model = model
        self.modelName = modelName
        self.rule = rule
        self.result = result
        self.details = details
        self.comparisons = comparisonRules.map { ($0, RuleFigures(rule: $0, details: details)) }
        self.seed = seed
        self.gallery = gallery
        self.command = command
    }

    /// Evaluates `model` under `rule` (and the comparison rules on the same samples) and gathers the report;
    /// the in-distribution set `test` is reported under `testName`.
    public static func evaluate(model: BayesianClassifier, modelName: String, rule: DecisionRule, samples: Int,
                                test: LabeledImages, testName: String, outOfDistribution: [(name: String, images: Tensor)], seed: UInt64,
                                gallery: GalleryPlan = GalleryPlan(), command: String? = nil) -> ReportContent {
        var generator = RandomGenerator(seed: seed)
        let (result, details) = ClassifierEvaluation.evaluate(model: model, rule: rule, samples: samples, test: test,
                                                              testName: testName, outOfDistribution: outOfDistribution, generator: &generator)
        return ReportContent(model: model, modelName: modelName, rule: rule, result: result, details: details,
                             comparisonRules: comparisonRules(model: model, primary: rule), seed: seed, gallery: gallery,
                             command: command)
    }

    /// The rules to show beside `primary`: the tutorial's `median` rule and our `calibrated` one (when the
    /// model has a calibration), without `primary`'s kind.
    public static func comparisonRules(model: BayesianClassifier, primary: DecisionRule) -> [DecisionRule] {
        var rules: [DecisionRule] = []
        if primary.kind != .calibrated, let rule = try? DecisionRule.make(kind: .calibrated, model: model) { rules.append(rule) }
        if primary.kind != .median, let rule = try? DecisionRule.make(kind: .median, model: model) { rules.append(rule) }
        return rules
    }

    /// The in-distribution set's details.
    public var inDistribution: DatasetDetails { details[0] }

    /// Whether the page speaks of digits: the in-distribution set is MNIST's test set (`"mnist"`) or the
    /// model reads 28×28 grey digits normalised the MNIST way. Other reports speak of inputs.
    public var isDigitReport: Bool { inDistribution.name == "mnist" || model.preprocessing == .mnist }

    /// Whether the summary sets the Pyro tutorial's numbers beside ours: they were measured on MNIST's
    /// test set, so only when that is the in-distribution set.
    public var showsTutorial: Bool { inDistribution.name == "mnist" }

    /// The words the page uses for the inputs.
    public var wording: Wording { Wording(self) }

    /// The words the page uses for the inputs: MNIST reports speak of digits and images, others of
    /// inputs (images for image models), and every report names its in-distribution set as it is keyed.
    public struct Wording: Sendable, Equatable {
        /// What the in-distribution inputs are: "digits" or "inputs".
        public var items: String
        /// What any input is: "image" for image models, "input" for table rows.
        public var unit: String
        /// The plural of `unit`.
        public var units: String
        /// An input that belongs to no class: "a non-digit" or "an out-of-distribution input".
        public var outsider: String
        /// The in-distribution inputs by set: "MNIST test digits", "Test set inputs".
        public var insideItems: String
        /// The in-distribution set in chart titles: "MNIST", "Test set".
        public var insideName: String
        /// What a figure says of an input that belongs to no class.
        public var noClassText: String

        init(_ content: ReportContent) {
            let digits = content.isDigitReport
            let images = content.model.preprocessing.kind == .image
            let name = content.inDistribution.name
            items = digits ? "digits" : "inputs"
            unit = images ? "image" : "input"
            units = images ? "images" : "inputs"
            outsider = digits ? "a non-digit" : "an out-of-distribution input"
            insideItems = "\(ReportContent.displayName(name)) \(items)"
            insideName = name == "mnist" ? "MNIST" : ReportContent.displayName(name)
            noClassText = digits ? "not a digit" : "in no class"
        }
    }

    /// The class names the figures show: the model's, or the class numbers when the model file names a
    /// different number of classes than its network has.
    var figureClassNames: [String] {
        let classes = model.network.classes
        return model.classNames.count == classes ? model.classNames : (0..<classes).map(String.init)
    }

    /// The indices shown in the gallery for data set `details[datasetIndex]`, each with its kind.
    public func galleryIndices(_ datasetIndex: Int) -> [Int] {
        let set = details[datasetIndex]
        if let labels = set.labels {
            var correct: [Int] = [], wrong: [Int] = [], refused: [Int] = []
            for (i, decision) in set.decisions.enumerated() {
                if decision.refused { refused.append(i) } else if decision.prediction == labels[i] { correct.append(i) } else { wrong.append(i) }
            }
            return (Self.spread(correct, gallery.correct) + Self.spread(wrong, gallery.wrong)
                    + Self.spread(refused, gallery.refused))
        }
        let refused = set.decisions.indices.filter { set.decisions[$0].refused }
        let accepted = set.decisions.indices.filter { !set.decisions[$0].refused }
        let wantRefused = min(refused.count, max(gallery.outOfDistribution - min(accepted.count, gallery.outOfDistribution / 2), 0))
        return Self.spread(refused, wantRefused) + Self.spread(accepted, gallery.outOfDistribution - wantRefused)
    }

    /// `count` entries of `candidates` spread evenly over it (all of them when there are fewer).
    static func spread(_ candidates: [Int], _ count: Int) -> [Int] {
        guard count > 0, !candidates.isEmpty else { return [] }
        if candidates.count <= count { return candidates }
        // The middle of each of `count` equal slices.
        return (0..<count).map { candidates[(2 * $0 + 1) * candidates.count / (2 * count)] }
    }

    /// The tutorial figure for input `index` of data set `details[datasetIndex]`: the input drawn as the
    /// model's preprocessing describes it (a grey or colour image of its size, or a table row).
    public func figure(_ datasetIndex: Int, _ index: Int) -> PredictionFigure {
        let set = details[datasetIndex]
        let values = Array(UnsafeBufferPointer(start: set.images.pointer + index * set.images.columns, count: set.images.columns))
        return PredictionFigure(input: PredictionFigure.Input(values: values, preprocessing: model.preprocessing),
                                probabilities: set.probabilities, summary: set.summary, index: index,
                                decision: set.decisions[index], classNames: figureClassNames,
                                label: set.labels?[index] ?? (datasetIndex == 0 ? nil : -1),
                                caption: "\(Self.displayName(set.name)) #\(index)", noClassText: wording.noClassText)
    }

    /// How a data set is called on the page.
    public static func displayName(_ name: String) -> String {
        switch name {
        case "mnist": return "MNIST test"
        case "test": return "Test set"
        case "noise": return "White noise"
        case "notmnist": return "notMNIST"
        default: return name
        }
    }

    /// The value of a rule's score at which it starts refusing (the line drawn on the score histograms).
    /// Rules on probabilities refuse when a probability falls below τ, i.e. when the score 1 − p exceeds 1 − τ.
    public static func scoreThreshold(_ rule: DecisionRule) -> Double {
        switch rule.kind {
        case .median, .percentile, .mean: return 1 - Double(rule.threshold)
        case .calibrated, .entropy, .mutualInformation, .conformal: return Double(rule.threshold)
        }
    }

    /// A readable name of an uncertainty score.
    public static func scoreName(_ score: UncertaintyScore) -> String {
        switch score {
        case .entropy: return "predictive entropy (nats)"
        case .mutualInformation: return "mutual information (nats)"
        case .maxProbability: return "1 − largest mean probability"
        case .medianProbability: return "1 − largest median probability"
        case .percentileProbability: return "1 − largest lower-percentile probability"
        case .entropyOrMutualInformation: return "max(entropy / its scale, mutual information / its scale)"
        }
    }
}
