import BNN
import BNNData
import Foundation

/// The self-contained HTML report: one XHTML-compatible file with inline CSS and SVG, no scripts and no
/// external resources, so it opens offline, can be mailed, and parses as XML (which the tests check).
///
/// Every number of the summary tables carries `data-rule`, `data-dataset`, `data-metric` (the key of
/// `bnn evaluate --json`) and `data-value` (the exact value) attributes, so tools and tests can read the
/// page back and compare it with `EvaluationResult`.
public enum HTMLReport {
    /// The page for `content`.
    public static func render(_ content: ReportContent) -> String {
        var page = Page()
        let title = "swift-bnn report: \(content.modelName)"
        page.raw("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>")
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>")
        page.element("title", text: title)
        page.raw("<style>" + stylesheet + "</style></head><body><main>")
        header(&page, content, title: title)
        summary(&page, content)
        gallery(&page, content)
        training(&page, content)
        scores(&page, content)
        selective(&page, content)
        page.raw("<footer><p>")
        page.text("Written by swift-bnn. This page is self-contained: no scripts, fonts or images are fetched; every chart is inline SVG.")
        page.raw("</p></footer></main></body></html>\n")
        return page.html
    }

    /// Renders `content` and writes it atomically to `url`.
    public static func write(_ content: ReportContent, to url: URL) throws {
        try AtomicFile.write(Data(render(content).utf8), to: url)
    }

    // MARK: Sections

    static func header(_ page: inout Page, _ content: ReportContent, title: String) {
        let model = content.model, training = model.training, result = content.result, words = content.wording
        let inputs = model.network.inputShape.reduce(1, *)
        page.raw("<header>")
        page.element("h1", text: title)
        var facts = [
            "\(training.architecture.rawValue.uppercased())\(training.architecture == .mlp ? " \(inputs) → \(training.hidden) → \(model.network.classes)" : ""), recipe “\(training.recipe)”, \(model.history.count) epochs trained, "
                + (training.trainingMethod == .bayes ? "estimator \(training.estimator.rawValue), \(training.prior.map { "prior \($0.summary)" } ?? "prior σ \(training.priorSigma)"), KL weight \(training.klWeight)"
                                                     : "method \(training.methodDescription)"),
            "Decision rule \(result.rule) (score \(result.score), threshold \(format(result.threshold, digits: 4))), \(result.samples) posterior samples per \(words.unit), seed \(content.seed); evaluation took \(formatDuration(result.seconds))",
        ]
        if let calibration = model.calibration {
            facts.append("Calibrated on \(calibration.validationCount) held-out training \(words.items) with \(calibration.samples) samples: target coverage \(percent(Double(calibration.coverage), digits: 1)), accuracy on the accepted ones \(percent(calibration.acceptedAccuracy))")
        }
        page.raw("<ul class=\"facts\">")
        for fact in facts { page.element("li", text: fact) }
        if let command = content.command {
            page.raw("<li>Reproduce: <code>"); page.text(command); page.raw("</code></li>")
        }
        page.raw("</ul>")
        page.raw("<nav><a href=\"#summary\">Summary</a> <a href=\"#gallery\">Gallery</a> <a href=\"#training\">Training</a> <a href=\"#scores\">Uncertainty scores</a> <a href=\"#selective\">Risk–coverage and calibration</a></nav>")
        page.raw("</header>")
    }

    /// The rules shown in the tables: the evaluated one first, then the comparisons.
    static func rules(_ content: ReportContent) -> [RuleFigures] {
        [RuleFigures(content.result)] + content.comparisons.map(\.figures)
    }

    static func summary(_ page: inout Page, _ content: ReportContent) {
        let result = content.result, rules = rules(content), words = content.wording
        let inside = content.inDistribution.name, tutorial = content.showsTutorial
        page.raw("<section id=\"summary\">")
        page.element("h2", text: "1. Summary")
        // The tutorial's column only beside MNIST's test set, where its numbers were measured.
        page.element("p", text: (tutorial ? "The Pyro tutorial's published numbers (its median rule, τ = 0.2) beside ours for every rule, on the same posterior samples. "
                                          : "Every rule's figures, on the same posterior samples. ")
                     + "Forced accuracy takes the most probable class of the mean prediction and never refuses.")
        page.raw("<div class=\"table-wrap\"><table class=\"comparison\"><thead><tr><th class=\"name\">measure</th>" + (tutorial ? "<th>Pyro tutorial</th>" : ""))
        for rule in rules { page.raw("<th>"); page.text("swift-bnn, \(rule.rule) rule"); page.raw("</th>") }
        page.raw("</tr></thead><tbody>")
        func tutorialCell(_ value: String) {
            guard tutorial else { return }
            page.raw("<td class=\"tutorial\">"); page.text(value); page.raw("</td>")
        }
        func row(_ label: String, _ tutorialValue: String, ruleDependent: Bool = true,
                 _ cell: (RuleFigures) -> (value: Double?, dataset: String?, metric: String)) {
            page.raw("<tr><th class=\"name\" scope=\"row\">"); page.text(label); page.raw("</th>")
            tutorialCell(tutorialValue)
            for rule in rules {
                let (value, dataset, metric) = cell(rule)
                numberCell(&page, value: value, rule: ruleDependent ? rule.rule : nil, dataset: dataset, metric: metric, text: value.map { percent($0) })
            }
            page.raw("</tr>")
        }
        let insideDisplay = ReportContent.displayName(inside)
        row("forced accuracy (\(insideDisplay))", TutorialNumbers.forcedAccuracy, ruleDependent: false) { _ in (result.forcedAccuracy, nil, "forced_accuracy") }
        row(tutorial ? "MNIST digits refused" : "\(words.insideItems) refused", TutorialNumbers.mnistRefused) { ($0.datasets[inside]?.refused, inside, "refused") }
        row("accuracy on accepted \(words.items)", TutorialNumbers.acceptedAccuracy) { ($0.datasets[inside]?.acceptedAccuracy, inside, "accepted_accuracy") }
        if tutorial {
            if result.datasets["noise"] != nil {
                row("white noise refused", TutorialNumbers.noiseRefused) { ($0.datasets["noise"]?.refused, "noise", "refused") }
            }
            if result.datasets["notmnist"] != nil {
                row("notMNIST letters refused", TutorialNumbers.notMNISTRefused) { ($0.datasets["notmnist"]?.refused, "notmnist", "refused") }
            }
        } else {
            // Without the tutorial's rows, every out-of-distribution set gets one.
            for name in orderedNames(result, inside: inside) where name != inside {
                row("\(ReportContent.displayName(name)) refused", "") { ($0.datasets[name]?.refused, name, "refused") }
            }
        }
        let trainingSeconds = content.trainingSeconds ?? content.model.history.reduce(0) { $0 + $1.seconds }
        page.raw("<tr><th class=\"name\" scope=\"row\">training time</th>"); tutorialCell(TutorialNumbers.trainingTime)
        page.raw("<td colspan=\"\(rules.count)\" class=\"span\">")
        page.text(trainingSeconds > 0 ? "\(formatDuration(trainingSeconds)) (\(content.model.history.count) epochs, \(ProcessInfo.processInfo.activeProcessorCount) cores)" : "not recorded")
        page.raw("</td></tr><tr><th class=\"name\" scope=\"row\">uncertainty pass, all data sets</th>"); tutorialCell(TutorialNumbers.uncertaintyPass)
        page.raw("<td colspan=\"\(rules.count)\" class=\"span\">")
        page.text("\(formatDuration(result.seconds)) (\(result.samples) samples, \(result.datasets.values.reduce(0) { $0 + $1.count }) \(words.units))")
        page.raw("</td></tr></tbody></table></div>")

        // Per data set, every figure of `bnn evaluate --json`, for every rule.
        page.element("h3", text: "Per data set")
        page.element("p", text: "Refused: share the rule refuses. Accepted accuracy: accuracy on the \(words.items) it answers. "
                     + "AUROC: how well a score separates the set from \(tutorial ? "MNIST digits" : words.insideItems) "
                     + "(1 = perfectly, 0.5 = chance), for the rule's own score, predictive entropy and mutual information. ECE (15 bins) and NLL of the mean prediction.")
        page.raw("<div class=\"table-wrap\"><table class=\"datasets\"><thead><tr><th class=\"name\" rowspan=\"2\">data set</th><th rowspan=\"2\">\(words.units)</th>")
        for rule in rules { page.raw("<th colspan=\"3\" class=\"group\">"); page.text("\(rule.rule) rule"); page.raw("</th>") }
        page.raw("<th colspan=\"2\" class=\"group\">AUROC of score</th><th colspan=\"2\" class=\"group\">calibration</th></tr><tr>")
        for _ in rules { page.raw("<th>refused</th><th>accepted accuracy</th><th>AUROC</th>") }
        page.raw("<th>entropy</th><th>mutual inf.</th><th>ECE</th><th>NLL</th></tr></thead><tbody>")
        for name in orderedNames(result, inside: inside) {
            guard let figures = result.datasets[name] else { continue }
            page.raw("<tr><th class=\"name\" scope=\"row\">"); page.text(ReportContent.displayName(name)); page.raw("</th>")
            numberCell(&page, value: Double(figures.count), rule: nil, dataset: name, metric: "count", text: "\(figures.count)")
            for rule in rules {
                let d = rule.datasets[name]
                numberCell(&page, value: d?.refused, rule: rule.rule, dataset: name, metric: "refused", text: d.map { percent($0.refused) })
                numberCell(&page, value: d?.acceptedAccuracy, rule: rule.rule, dataset: name, metric: "accepted_accuracy", text: d?.acceptedAccuracy.map { percent($0) })
                numberCell(&page, value: d?.auroc, rule: rule.rule, dataset: name, metric: "auroc", text: d?.auroc.map { format($0, digits: 4) })
            }
            numberCell(&page, value: figures.aurocEntropy, rule: nil, dataset: name, metric: "auroc_entropy", text: figures.aurocEntropy.map { format($0, digits: 4) })
            numberCell(&page, value: figures.aurocMutualInformation, rule: nil, dataset: name, metric: "auroc_mutual_information",
                       text: figures.aurocMutualInformation.map { format($0, digits: 4) })
            numberCell(&page, value: figures.ece, rule: nil, dataset: name, metric: "ece", text: figures.ece.map { format($0, digits: 4) })
            numberCell(&page, value: figures.nll, rule: nil, dataset: name, metric: "nll", text: figures.nll.map { format($0, digits: 4) })
            page.raw("</tr>")
        }
        page.raw("</tbody></table></div>")
        var ruleNotes: [String] = []
        for rule in [content.rule] + content.comparisons.map(\.rule) {
            var note = "\(rule.kind.rawValue): refuse when \(ReportContent.scoreName(rule.score)) > \(format(ReportContent.scoreThreshold(rule), digits: 4))"
            if let sets = rule.conformalSets {
                note += ", else answer the \(sets.function.score.rawValue.uppercased()) conformal set at α = \(sets.alpha) (q̂ \(format(Double(sets.quantile), digits: 4)))"
            }
            ruleNotes.append(note)
        }
        page.element("p", text: "Rules: " + ruleNotes.joined(separator: "; ") + ".", className: "note")
        page.raw("</section>")
    }

    static func gallery(_ page: inout Page, _ content: ReportContent) {
        let words = content.wording
        let tables = content.model.preprocessing.kind == .tabular
        let what = tables ? "each input (its first features) beside one histogram per class"
                          : "each image beside \(content.isDigitReport ? "ten histograms" : "\(content.model.network.classes) histograms"), one per class"
        page.raw("<section id=\"gallery\">")
        page.element("h2", text: "2. What the network sees")
        page.element("p", text: "As in the tutorial: \(what), of the log-probability each of the sampled networks gives that class. "
                     + "A class the networks agree on piles up at 0 (probability 1); a spread-out histogram means they disagree. "
                     + "Highlighted panels are the classes the \(content.result.rule) rule selected; none highlighted means “I don't know”. "
                     + "The verdict compares the answer with the true class: an answer of several classes that includes it is ambiguous (it contains the truth); any answer to \(words.outsider) is wrong.")
        for index in content.details.indices {
            let set = content.details[index]
            let indices = content.galleryIndices(index)
            page.element("h3", text: ReportContent.displayName(set.name))
            if index == 0 {
                let kinds = indices.map { content.figure(index, $0).verdict }
                func count(_ verdict: PredictionFigure.Verdict) -> Int { kinds.filter { $0 == verdict }.count }
                let ambiguous = count(.ambiguous) > 0 ? "\(count(.ambiguous)) ambiguous (containing the truth), " : ""
                page.element("p", text: "\(count(.correct)) correct, \(ambiguous)\(count(.wrong)) wrong and \(count(.refused)) refused \(words.items), spread over the test set.", className: "note")
            }
            if indices.isEmpty { page.element("p", text: "No \(words.units).", className: "note") }
            page.raw("<div class=\"gallery\">")
            for i in indices {
                let figure = content.figure(index, i)
                var canvas = SVGCanvas(width: PredictionFigure.width, height: figure.height)
                figure.draw(into: &canvas)
                page.raw("<figure class=\"prediction\" data-dataset=\"\(XMLText.escape(set.name))\" data-index=\"\(i)\">")
                page.raw(canvas.document(title: "\(figure.caption): \(figure.verdictText)"))
                page.raw("</figure>")
            }
            page.raw("</div>")
        }
        page.raw("</section>")
    }

    static func training(_ page: inout Page, _ content: ReportContent) {
        let history = content.model.history
        page.raw("<section id=\"training\">")
        page.element("h2", text: "3. Training")
        guard !history.isEmpty else {
            page.element("p", text: "The model file holds no training history.", className: "note")
            page.raw("</section>")
            return
        }
        page.element("p", text: "Loss per training example (−ELBO / N) with its two parts: the data term (negative log-likelihood of the labels under a sampled network) "
                     + "and the weighted KL divergence of the posterior from the prior. Accuracy of the sampled training passes and of the predictive mean on the held-out validation split.")
        let epochs = history.map { Double($0.epoch) }
        func series(_ name: String, _ values: [Double], _ index: Int) -> LineChart.Series {
            LineChart.Series(name: name, points: zip(epochs, values).map { (x: $0, y: $1) }, color: Palette.color(index),
                             dash: Palette.dash(index), dots: history.count <= 40)
        }
        let epochRange = (epochs.min() ?? 0, max(epochs.max() ?? 1, (epochs.min() ?? 0) + 1))
        var loss = SVGCanvas(width: 580, height: 330)
        LineChart.draw(into: &loss, bounds: Rect(x: 0, y: 0, width: 580, height: 330),
                       series: [series("loss (−ELBO / N)", history.map(\.loss), 0), series("data term", history.map(\.dataTerm), 1),
                                series("KL term", history.map(\.klTerm), 2)],
                       xLabel: "epoch", yLabel: "nats per example", xRange: epochRange,
                       yRange: (0, history.map { max($0.loss, $0.dataTerm, $0.klTerm) }.filter(\.isFinite).max() ?? 1), integerX: true)
        var accuracy = SVGCanvas(width: 580, height: 330)
        var accuracySeries = [series("training (sampled networks)", history.map(\.trainAccuracy), 0)]
        let validation = history.compactMap { record in record.validationAccuracy.map { (x: Double(record.epoch), y: $0) } }
        if !validation.isEmpty {
            accuracySeries.append(LineChart.Series(name: "validation (predictive mean)", points: validation, color: Palette.color(1),
                                                   dash: Palette.dash(1), dots: history.count <= 40))
        }
        let accuracies = accuracySeries.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        LineChart.draw(into: &accuracy, bounds: Rect(x: 0, y: 0, width: 580, height: 330), series: accuracySeries,
                       xLabel: "epoch", yLabel: "accuracy", xRange: epochRange,
                       yRange: (min(accuracies.min() ?? 0, 0.999), min(max(accuracies.max() ?? 1, 0.001), 1)), integerX: true,
                       yFormat: percentFormat)
        chartGrid(&page, [("Loss and its parts", loss, "training-loss"), ("Accuracy per epoch", accuracy, "training-accuracy")])
        page.raw("</section>")
    }

    static func scores(_ page: inout Page, _ content: ReportContent) {
        let inside = content.inDistribution, words = content.wording
        let rule = content.rule
        page.raw("<section id=\"scores\">")
        page.element("h2", text: content.isDigitReport ? "4. Uncertainty scores: digits against non-digits"
                                                       : "4. Uncertainty scores: \(words.insideItems) against out-of-distribution sets")
        let threshold = ReportContent.scoreThreshold(rule)
        page.element("p", text: "The \(rule.kind.rawValue) rule's score, \(ReportContent.scoreName(rule.score)), on the \(words.insideItems) and on each out-of-distribution set; "
                     + "inputs right of the dashed line (score > \(format(threshold, digits: 4))) are refused. Each set is normalised to its own size.")
        let insideScores = inside.decisions.map { Double($0.score) }
        var charts: [(String, SVGCanvas, String)] = []
        for set in content.details.dropFirst() {
            let outside = set.decisions.map { Double($0.score) }
            let all = (insideScores + outside + [threshold]).filter(\.isFinite)
            var canvas = SVGCanvas(width: 580, height: 330)
            Histogram.draw(into: &canvas, bounds: Rect(x: 0, y: 0, width: 580, height: 330),
                           series: [Histogram.Series(name: words.insideItems, values: insideScores, color: Palette.blue),
                                    Histogram.Series(name: ReportContent.displayName(set.name), values: outside, color: Palette.vermillion)],
                           range: (min(all.min() ?? 0, 0), all.max() ?? 1), bins: 40, xLabel: ReportContent.scoreName(rule.score),
                           markers: [(threshold, "threshold \(format(threshold, digits: 3))")])
            charts.append(("\(words.insideName) against \(ReportContent.displayName(set.name))", canvas, "scores-\(set.name)"))
        }
        if charts.isEmpty { page.element("p", text: "No out-of-distribution sets were evaluated.", className: "note") }
        chartGrid(&page, charts)
        detectionTable(&page, content)
        page.raw("</section>")
    }

    static func selective(_ page: inout Page, _ content: ReportContent) {
        let inside = content.inDistribution
        guard let labels = inside.labels else { return }
        let items = content.wording.items
        page.raw("<section id=\"selective\">")
        page.element("h2", text: "5. Risk–coverage and calibration")
        page.element("p", text: "Risk–coverage: refusing the least certain \(items) first, the error rate on the \(items) still answered (risk) against the share answered (coverage); "
                     + "lower is better, and a dot marks where each rule operates. Reliability: the accuracy of the mean prediction against its confidence, in 15 bins; "
                     + "bars on the diagonal are perfectly calibrated; the number above each bar is how many \(items) it holds.")
        var curves: [LineChart.Series] = []
        var points: [LineChart.Point] = []
        let rules = [content.rule] + content.comparisons.map(\.rule)
        for (index, rule) in rules.enumerated() {
            let decisions = (0..<inside.summary.count).map { rule.decide(inside.summary, index: $0) }
            let correct = zip(decisions, labels).map { $0.prediction == $1 }
            curves.append(LineChart.Series(name: "\(rule.kind.rawValue) rule's score", points: riskCurve(decisions.map(\.score), correct),
                                           color: Palette.color(index), dash: Palette.dash(index)))
            let selective = Metrics.selective(correct: correct, refused: decisions.map(\.refused))
            if let accuracy = selective.acceptedAccuracy {
                points.append(LineChart.Point(name: "\(rule.kind.rawValue) rule: \(percent(selective.coverage, digits: 1)) answered, \(percent(1 - accuracy)) wrong",
                                              x: selective.coverage, y: 1 - accuracy, color: Palette.color(index)))
            }
        }
        let forcedCorrect = (0..<inside.summary.count).map { inside.summary.forcedPrediction($0) == labels[$0] }
        for (offset, score) in [UncertaintyScore.entropy, .mutualInformation].enumerated() where !rules.contains(where: { $0.score == score }) {
            let index = rules.count + offset
            curves.append(LineChart.Series(name: score == .entropy ? "predictive entropy" : "mutual information",
                                           points: riskCurve(inside.summary.scores(score), forcedCorrect),
                                           color: Palette.color(index), dash: Palette.dash(index)))
        }
        // Good models make no errors until most inputs are answered: show coverage from a round value
        // below where the first errors appear (at most 0.5 cut off), so that the interesting part is wide.
        let firstError = curves.compactMap { $0.points.first { $0.y > 0 }?.x }.min() ?? 0
        let lowestPoint = points.map(\.x).min() ?? 1
        let coverageFrom = max(0, min(0.5, ((min(firstError, lowestPoint) - 0.05) * 10).rounded(.down) / 10))
        // Below 5% coverage a handful of inputs decides the risk: leave that noise out of the y range.
        let relevant = curves.flatMap { $0.points.filter { $0.x >= max(0.05, coverageFrom) }.map(\.y) } + points.map(\.y)
        var riskCanvas = SVGCanvas(width: 580, height: 360)
        LineChart.draw(into: &riskCanvas, bounds: Rect(x: 0, y: 0, width: 580, height: 360), series: curves, points: points,
                       xLabel: "coverage (share of \(items) answered)", yLabel: "risk (error on answered \(items))",
                       xRange: (coverageFrom, 1), yRange: (0, max(relevant.max() ?? 0.01, 0.001)), exactX: true, yFormat: percentFormat,
                       margins: ChartFrame.Margins(top: 70, left: 58, bottom: 46, right: 18))

        let bins = Metrics.reliabilityDiagram(probabilities: inside.summary.meanProbabilities, labels: labels, bins: 15)
        var reliability = SVGCanvas(width: 580, height: 360)
        BarChart.draw(into: &reliability, bounds: Rect(x: 0, y: 0, width: 580, height: 360),
                      bars: bins.map { bin in
                          BarChart.Bar(lower: bin.lower, upper: bin.upper, value: bin.accuracy,
                                       tooltip: bin.count == 0 ? "\(format(bin.lower, digits: 2))–\(format(bin.upper, digits: 2)): no \(items)"
                                           : "\(format(bin.lower, digits: 2))–\(format(bin.upper, digits: 2)): \(bin.count) \(items), mean confidence \(format(bin.meanConfidence, digits: 3)), accuracy \(format(bin.accuracy, digits: 3))",
                                       label: bin.count == 0 ? nil : "\(bin.count)")
                      },
                      barName: "accuracy in the bin",
                      lines: [LineChart.Series(name: "perfect calibration", points: [(x: 0, y: 0), (x: 1, y: 1)], color: Palette.black, dash: "5 3")],
                      xLabel: "confidence (largest mean probability)", yLabel: "accuracy", xRange: (0, 1), yRange: (0, 1),
                      margins: ChartFrame.Margins(top: 70, left: 58, bottom: 46, right: 18))
        chartGrid(&page, [("Risk–coverage on \(content.wording.insideItems)" + (coverageFrom > 0 ? " (coverage from \(format(coverageFrom, digits: 1)))" : ""), riskCanvas, "risk-coverage"),
                          ("Reliability diagram (ECE \(content.result.datasets[inside.name]?.ece.map { format($0, digits: 4) } ?? "–"))", reliability, "reliability")])
        let empty = bins.filter { $0.count == 0 }.count
        if empty > 0 { page.element("p", text: "\(empty) of 15 confidence bins hold no \(items) and have no bar.", className: "note") }
        selectiveTable(&page, content)
        page.raw("</section>")
    }

    /// The detection metrics of `bnn evaluate --json` for every out-of-distribution set, from the chosen
    /// rule's score: AUROC, AUPR (the set positive) and FPR at 95% TPR.
    static func detectionTable(_ page: inout Page, _ content: ReportContent) {
        let result = content.result, inside = content.inDistribution.name, words = content.wording
        let names = orderedNames(result, inside: inside).filter { $0 != inside && result.datasets[$0]?.auroc != nil }
        guard !names.isEmpty else { return }
        page.element("h3", text: "Detection figures")
        page.element("p", text: "From the \(result.rule) rule's score, each set (the positives) against the \(words.insideItems): AUROC (1 = perfectly separated, 0.5 = chance), "
                     + "AUPR (area under the precision–recall curve; chance = the set's share of both), "
                     + "and FPR at 95% TPR (the share of \(words.insideItems) refused when the threshold refuses 95% of the set; lower is better).")
        page.raw("<div class=\"table-wrap\"><table class=\"detection\"><thead><tr><th class=\"name\">data set</th><th>AUROC</th><th>AUPR</th><th>FPR at 95% TPR</th></tr></thead><tbody>")
        for name in names {
            guard let figures = result.datasets[name] else { continue }
            page.raw("<tr><th class=\"name\" scope=\"row\">"); page.text(ReportContent.displayName(name)); page.raw("</th>")
            numberCell(&page, value: figures.auroc, rule: result.rule, dataset: name, metric: "auroc", text: figures.auroc.map { format($0, digits: 4) })
            numberCell(&page, value: figures.aupr, rule: result.rule, dataset: name, metric: "aupr", text: figures.aupr.map { format($0, digits: 4) })
            numberCell(&page, value: figures.fpr95, rule: result.rule, dataset: name, metric: "fpr95", text: figures.fpr95.map { percent($0) })
            page.raw("</tr>")
        }
        page.raw("</tbody></table></div>")
    }

    /// The in-distribution figures of `bnn evaluate --json` that rate the risk–coverage curve and the
    /// mean prediction: AURC, E-AURC, accuracy at fixed coverages, and the Brier score.
    static func selectiveTable(_ page: inout Page, _ content: ReportContent) {
        let result = content.result, inside = content.inDistribution.name, items = content.wording.items
        guard let figures = result.datasets[inside], figures.aurc != nil || figures.brier != nil else { return }
        let coverages = DatasetEvaluation.reportedCoverages
        page.element("h3", text: "Selective-prediction figures")
        page.element("p", text: "From the \(result.rule) rule's score on the \(content.wording.insideItems): AURC, the area under the risk–coverage curve (mean error over all coverages; lower is better); "
                     + "E-AURC, the same minus that of a perfect ranking (0 when every mistake is refused first); accuracy on the most certain \(items) at fixed coverages; "
                     + "and the Brier score of the mean prediction (Σ_c (p_c − y_c)², lower is better).")
        page.raw("<div class=\"table-wrap\"><table class=\"selective\"><thead><tr><th>AURC</th><th>E-AURC</th>")
        for coverage in coverages { page.raw("<th>accuracy at \(format(coverage * 100, digits: coverage * 100 == (coverage * 100).rounded() ? 0 : 1))% coverage</th>") }
        page.raw("<th>Brier score</th></tr></thead><tbody><tr>")
        numberCell(&page, value: figures.aurc, rule: result.rule, dataset: inside, metric: "aurc", text: figures.aurc.map { format($0, digits: 5) })
        numberCell(&page, value: figures.excessAURC, rule: result.rule, dataset: inside, metric: "eaurc", text: figures.excessAURC.map { format($0, digits: 5) })
        for coverage in coverages {
            let value = figures.accuracyAtCoverage?[DatasetEvaluation.coverageKey(coverage)]
            numberCell(&page, value: value, rule: result.rule, dataset: inside, metric: "accuracy_at_coverage_\(DatasetEvaluation.coverageKey(coverage))",
                       text: value.map { percent($0) })
        }
        numberCell(&page, value: figures.brier, rule: nil, dataset: inside, metric: "brier", text: figures.brier.map { format($0, digits: 4) })
        page.raw("</tr></tbody></table></div>")
    }

    /// A risk–coverage curve thinned to at most 400 points (the full curve has one per distinct score).
    static func riskCurve(_ scores: [Float], _ correct: [Bool]) -> [(x: Double, y: Double)] {
        let curve = Metrics.riskCoverage(scores: scores, correct: correct)
        guard curve.count > 400 else { return curve.map { (x: $0.coverage, y: $0.risk) } }
        let stride = Double(curve.count - 1) / 399
        return (0..<400).map { k in
            let point = curve[min(Int((Double(k) * stride).rounded()), curve.count - 1)]
            return (x: point.coverage, y: point.risk)
        }
    }

    static func chartGrid(_ page: inout Page, _ charts: [(title: String, canvas: SVGCanvas, id: String)]) {
        guard !charts.isEmpty else { return }
        page.raw("<div class=\"charts\">")
        for chart in charts {
            page.raw("<figure class=\"chart\" id=\"\(XMLText.escape(chart.id))\"><figcaption>")
            page.text(chart.title)
            page.raw("</figcaption>")
            page.raw(chart.canvas.document(title: chart.title))
            page.raw("</figure>")
        }
        page.raw("</div>")
    }

    // MARK: Cells and numbers

    /// A table cell with the value's exact figure in data attributes (none when the value is absent).
    static func numberCell(_ page: inout Page, value: Double?, rule: String?, dataset: String?, metric: String, text: String?) {
        guard let value, let text else {
            page.raw("<td class=\"missing\">–</td>")
            return
        }
        var attributes = ""
        if let rule { attributes += " data-rule=\"\(XMLText.escape(rule))\"" }
        if let dataset { attributes += " data-dataset=\"\(XMLText.escape(dataset))\"" }
        attributes += " data-metric=\"\(XMLText.escape(metric))\" data-value=\"\(value)\""
        page.raw("<td\(attributes)>")
        page.text(text)
        page.raw("</td>")
    }

    /// The data sets in table order: the in-distribution set `inside`, noise, notMNIST, then the others by name.
    static func orderedNames(_ result: EvaluationResult, inside: String) -> [String] {
        var order = ["noise": 1, "notmnist": 2]
        order[inside] = 0
        return result.datasets.keys.sorted { (order[$0] ?? 3, $0) < (order[$1] ?? 3, $1) }
    }

    static func percent(_ value: Double, digits: Int = 2) -> String {
        value.isFinite ? String(format: "%.\(digits)f%%", value * 100) : "–"
    }

    static func format(_ value: Double, digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "–"
    }

    static let percentFormat: @Sendable (Double) -> String = { value in
        let text = String(format: "%.2f", value * 100)
        var trimmed = text
        while trimmed.hasSuffix("0") { trimmed.removeLast() }
        if trimmed.hasSuffix(".") { trimmed.removeLast() }
        return trimmed + "%"
    }

    /// The page being written; `text` and `element` escape, `raw` is for our own markup.
    struct Page {
        var html = ""
        mutating func raw(_ markup: String) { html += markup }
        mutating func text(_ string: String) { html += XMLText.escape(string) }
        mutating func element(_ name: String, text: String, className: String? = nil) {
            html += "<" + name + (className.map { " class=\"\(XMLText.escape($0))\"" } ?? "") + ">" + XMLText.escape(text) + "</" + name + ">"
        }
    }

    static let stylesheet = """
    :root { color-scheme: light; }
    body { margin: 0; background: #f4f4f2; color: #222; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
    main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 48px; background: #fff; }
    h1 { font-size: 26px; margin: 8px 0 6px; overflow-wrap: anywhere; }
    h2 { font-size: 21px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #0072B2; }
    h3 { font-size: 17px; margin: 22px 0 6px; }
    p { max-width: 70em; margin: 6px 0 10px; }
    .note { color: #555; font-size: 14px; }
    ul.facts { margin: 4px 0 10px; padding-left: 20px; color: #333; font-size: 14px; }
    code { font-size: 13px; background: #f0f0f0; padding: 1px 4px; overflow-wrap: anywhere; }
    nav { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 14px; padding: 8px 0; }
    nav a { color: #0072B2; }
    .table-wrap { overflow-x: auto; }
    table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 14px; margin: 6px 0 12px; }
    th, td { padding: 5px 10px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
    thead th { background: #eef4f9; font-weight: 600; vertical-align: bottom; }
    th.group { text-align: center; border-bottom: 1px solid #b9cfe0; }
    .name { text-align: left; }
    tbody th { font-weight: 600; }
    td.tutorial { color: #7a4d00; background: #fdf6e6; }
    td.span { text-align: left; color: #333; }
    td.missing { color: #999; }
    tbody tr:hover { background: #f7f7f7; }
    .gallery { display: flex; flex-direction: column; gap: 10px; }
    .prediction svg { width: 100%; max-width: 1180px; }
    figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
    figcaption { font-weight: 600; font-size: 15px; margin: 4px 0; }
    svg { max-width: 100%; height: auto; display: block; }
    .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(500px, 1fr)); gap: 18px 28px; }
    footer { margin-top: 36px; color: #666; font-size: 13px; border-top: 1px solid #ddd; }
    @media (max-width: 700px) { main { padding: 12px; } .charts { grid-template-columns: 1fr; } }
    @media print {
      body { background: #fff; font-size: 10pt; }
      main { max-width: none; padding: 0; }
      nav { display: none; }
      h2 { break-after: avoid; page-break-after: avoid; }
      h3 { break-after: avoid; page-break-after: avoid; }
      table, figure, .chart { break-inside: avoid; page-break-inside: avoid; }
      thead th, td.tutorial { background: none; }
      .table-wrap { overflow: visible; }
      table { font-size: 8.5pt; }
      th, td { white-space: normal; padding: 3px 5px; }
      code { white-space: pre-wrap; }
      tbody tr:hover { background: none; }
      .charts { grid-template-columns: 1fr 1fr; }
      @page { margin: 14mm; }
    }
    """
}
