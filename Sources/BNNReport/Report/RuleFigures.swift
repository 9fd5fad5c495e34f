import BNN

/// The figures of a decision rule applied to already-sampled predictions: refusals, accuracy on the
/// accepted inputs and AUROC of the rule's score, per data set.
///
/// The report shows the chosen rule's numbers straight from `EvaluationResult`, and other rules' numbers
/// (e.g. the tutorial's median rule) from here, computed on the very same posterior samples, so that the
/// rules are compared on equal terms and no second sampling pass is needed. With the same seed they equal
/// what `bnn evaluate --rule <other>` prints.
public struct RuleFigures: Sendable, Equatable {
    /// One data set's figures.
    public struct Dataset: Sendable, Equatable {
        public var count: Int
        public var refused: Double
        /// In-distribution only (nil also when nothing was accepted).
        public var acceptedAccuracy: Double?
        /// Out-of-distribution only.
        public var auroc: Double?
    }

    /// The rule's name as `EvaluationResult.rule` writes it.
    public var rule: String
    public var threshold: Double
    public var score: String
    public var datasets: [String: Dataset]

    /// The figures of `rule` on `details` (the first entry is the labelled in-distribution set, as
    /// `ClassifierEvaluation.evaluate` returns them).
    public init(rule decisionRule: DecisionRule, details: [DatasetDetails]) {
        rule = decisionRule.kind.rawValue
        threshold = Double(decisionRule.threshold)
        score = decisionRule.score.rawValue
        datasets = [:]
        guard let inside = details.first, let labels = inside.labels else { return }
        let insideDecisions = Self.decisions(decisionRule, inside)
        let selective = Metrics.selective(correct: zip(insideDecisions, labels).map { $0.prediction == $1 },
                                          refused: insideDecisions.map(\.refused))
        datasets[inside.name] = Dataset(count: inside.summary.count, refused: selective.refusedShare,
                                        acceptedAccuracy: selective.acceptedAccuracy, auroc: nil)
        let insideScores = insideDecisions.map(\.score)
        for outside in details.dropFirst() {
            let decisions = Self.decisions(decisionRule, outside)
            let refused = Double(decisions.filter(\.refused).count) / Double(max(decisions.count, 1))
            datasets[outside.name] = Dataset(
                count: outside.summary.count, refused: refused, acceptedAccuracy: nil,
                auroc: Metrics.auroc(inDistribution: insideScores, outOfDistribution: decisions.map(\.score)))
        }
    }

    /// The figures of the rule that produced `result` (a view of it, for tables that treat rules alike).
    public init(_ result: EvaluationResult) {
        rule = result.rule
        threshold = result.threshold
        score = result.score
        datasets = result.datasets.mapValues {
            Dataset(count: $0.count, refused: $0.refused, acceptedAccuracy: $0.acceptedAccuracy, auroc: $0.auroc)
        }
    }

    static func decisions(_ rule: DecisionRule, _ details: DatasetDetails) -> [Decision] {
        (0..<details.summary.count).map { rule.decide(details.summary, index: $0) }
    }
}
