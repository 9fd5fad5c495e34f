import BNN
import BNNData
import Foundation
import Testing
@testable import BNNReport

@Suite struct HTMLReportTests {
    /// The numbers of the page, keyed "rule|dataset|metric" ("-" for a missing part).
    static func pageNumbers(_ digest: XMLDigest) -> [String: [Double]] {
        var numbers: [String: [Double]] = [:]
        for element in digest.elements where element.attributes["data-metric"] != nil {
            let key = [element.attributes["data-rule"] ?? "-", element.attributes["data-dataset"] ?? "-", element.attributes["data-metric"]!]
                .joined(separator: "|")
            numbers[key, default: []].append(Double(element.attributes["data-value"] ?? "") ?? .nan)
        }
        return numbers
    }

    /// The figures of `result` under the same keys.
    static func resultNumbers(_ result: EvaluationResult, ruleDependentOnly: Bool = false) -> [String: Double] {
        var expected: [String: Double] = [:]
        let rule = result.rule
        if !ruleDependentOnly { expected["-|-|forced_accuracy"] = result.forcedAccuracy }
        for (name, d) in result.datasets {
            expected["\(rule)|\(name)|refused"] = d.refused
            if let value = d.acceptedAccuracy { expected["\(rule)|\(name)|accepted_accuracy"] = value }
            if let value = d.auroc { expected["\(rule)|\(name)|auroc"] = value }
            if ruleDependentOnly { continue }
            // The chosen rule's detection and selective-prediction figures (not shown for comparison rules).
            if let value = d.aupr { expected["\(rule)|\(name)|aupr"] = value }
            if let value = d.fpr95 { expected["\(rule)|\(name)|fpr95"] = value }
            if let value = d.aurc { expected["\(rule)|\(name)|aurc"] = value }
            if let value = d.excessAURC { expected["\(rule)|\(name)|eaurc"] = value }
            for (key, value) in d.accuracyAtCoverage ?? [:] { expected["\(rule)|\(name)|accuracy_at_coverage_\(key)"] = value }
            expected["-|\(name)|count"] = Double(d.count)
            if let value = d.aurocEntropy { expected["-|\(name)|auroc_entropy"] = value }
            if let value = d.aurocMutualInformation { expected["-|\(name)|auroc_mutual_information"] = value }
            if let value = d.ece { expected["-|\(name)|ece"] = value }
            if let value = d.nll { expected["-|\(name)|nll"] = value }
            if let value = d.brier { expected["-|\(name)|brier"] = value }
        }
        return expected
    }

    @Test func reportIsWellFormedXMLWithEverySection() throws {
        let content = try ReportFixtures.content()
        let html = HTMLReport.render(content)
        let digest = XMLDigest(html)
        #expect(digest.isWellFormed, "report does not parse: \(String(describing: digest.error))")
        let ids = Set(digest.elements.compactMap { $0.attributes["id"] })
        for id in ["summary", "gallery", "training", "scores", "selective", "training-loss", "training-accuracy",
                   "risk-coverage", "reliability", "scores-noise"] {
            #expect(ids.contains(id), "missing #\(id)")
        }
        // Self-contained: no scripts, no external references.
        #expect(digest.elements(named: "script").isEmpty)
        #expect(digest.elements(named: "link").isEmpty)
        for element in digest.elements {
            for (name, value) in element.attributes where name == "href" || name == "src" {
                #expect(value.hasPrefix("#") || value.hasPrefix("data:image/png;base64,"), "external reference \(name)=\(value.prefix(60))")
            }
        }
        #expect(!html.contains("http://") || !html.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http://"))
        #expect(!html.contains("https://"))
        // The gallery: 2 + 2 + 2 digits at most, 2 per other set; every figure has an image and a verdict.
        let figures = digest.elements(named: "figure").filter { $0.attributes["class"] == "prediction" }
        #expect(figures.count >= 4 && figures.count <= 10)
        #expect(digest.elements(named: "image").count == figures.count)
        let verdicts = digest.elements(named: "text").compactMap { $0.attributes["data-verdict"] }
        #expect(verdicts.count == figures.count)
        #expect(Set(verdicts).isSubset(of: ["Correct", "Ambiguous", "Wrong", "I don't know"]))
        // Every figure has ten class panels.
        #expect(digest.elements(named: "g").filter { $0.attributes["class"] == "panel" }.count == 10 * figures.count)
        // Training curves: three loss lines, two accuracy lines.
        let series = digest.elements(named: "g").compactMap { $0.attributes["data-series"] }
        for name in ["loss (−ELBO / N)", "data term", "KL term", "training (sampled networks)", "validation (predictive mean)"] {
            #expect(series.contains(name), "no series \(name)")
        }
    }

    /// One duration format everywhere: "58m 17s" from a minute up, "12.3s" below, the tutorial's too.
    @Test func durationsShareOneFormat() throws {
        #expect(formatDuration(3497.6) == "58m 17s" && formatDuration(60) == "1m 00s")
        #expect(formatDuration(12.34) == "12.3s" && formatDuration(.nan) == "?")
        #expect(TutorialNumbers.trainingTime == "1m 31s (5 epochs)")
        var content = try ReportFixtures.content()
        content.trainingSeconds = 3497.6
        let html = HTMLReport.render(content)
        #expect(html.contains("58m 17s (") && !html.contains("3498 s"))
        #expect(html.contains("evaluation took \(formatDuration(content.result.seconds))"))
    }

    /// Each bar of the reliability diagram is labelled with its digit count, and the counts add up to the test set.
    @Test func reliabilityBarsShowTheirCounts() throws {
        let content = try ReportFixtures.content()
        let html = HTMLReport.render(content)
        let chart = try #require(html.range(of: "id=\"reliability\"").map { html[$0.upperBound...] })
        let figure = chart[..<(chart.range(of: "</figure>")?.lowerBound ?? chart.endIndex)]
        let labels = try #require(figure.range(of: "class=\"bar-labels\"").map { figure[$0.upperBound...] })
        let group = labels[..<(labels.range(of: "</g>")?.lowerBound ?? labels.endIndex)]
        let counts = XMLDigest("<g>" + group.drop { $0 != "<" } + "</g>").elements(named: "text").compactMap { Int($0.text) }
        let bins = Metrics.reliabilityDiagram(probabilities: content.inDistribution.summary.meanProbabilities,
                                              labels: content.inDistribution.labels!, bins: 15)
        #expect(counts == bins.map(\.count).filter { $0 > 0 })
        #expect(counts.reduce(0, +) == content.inDistribution.labels!.count)
    }

    @Test func everyInlineSVGIsAWellFormedDocumentOnItsOwn() throws {
        let html = HTMLReport.render(try ReportFixtures.content())
        var svgs: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<svg "), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
            svgs.append(String(rest[start.lowerBound..<end.upperBound]))
            rest = rest[end.upperBound...]
        }
        // Gallery figures plus 2 training, 2 score (noise and the awkward set), risk–coverage and reliability charts.
        #expect(svgs.count == XMLDigest(html).elements(named: "svg").count)
        #expect(svgs.count >= 10)
        for svg in svgs {
            let digest = XMLDigest(svg)
            #expect(digest.isWellFormed, "\(svg.prefix(120)): \(String(describing: digest.error))")
            let root = digest.elements.first
            #expect(root?.name == "svg" && root?.attributes["xmlns"] == "http://www.w3.org/2000/svg" && root?.attributes["viewBox"] != nil)
            // Every coordinate is a finite number.
            let geometry: Set<String> = ["x", "y", "width", "height", "x1", "y1", "x2", "y2", "cx", "cy", "r"]
            for element in digest.elements {
                for (name, value) in element.attributes where geometry.contains(name) {
                    #expect(Double(value)?.isFinite == true, "\(element.name) \(name)=\(value)")
                }
                for pair in (element.attributes["points"] ?? "").split(separator: " ") {
                    #expect(pair.split(separator: ",").allSatisfy { Double($0)?.isFinite == true }, "points \(pair)")
                }
            }
        }
    }

    @Test func numbersOnThePageEqualTheEvaluationResult() throws {
        let content = try ReportFixtures.content()
        let digest = XMLDigest(HTMLReport.render(content))
        try #require(digest.isWellFormed)
        let page = Self.pageNumbers(digest)
        let expected = Self.resultNumbers(content.result)
        #expect(expected.count >= 12)
        for (key, value) in expected {
            let shown = page[key] ?? []
            #expect(!shown.isEmpty, "\(key) is not on the page")
            for number in shown { #expect(number == value, "\(key): page \(number), result \(value)") }
        }
        // The JSON of `bnn evaluate --json` carries the same values (its encoder must not round them).
        let decoded = try JSONDecoder().decode(EvaluationResult.self, from: Data(try content.result.json().utf8))
        #expect(decoded.forcedAccuracy == page["-|-|forced_accuracy"]?.first)
    }

    @Test func comparisonRuleNumbersEqualASeparateEvaluationWithThatRule() throws {
        // The median rule is shown beside the calibrated one, computed on the same samples; an evaluation
        // run with the median rule and the same seed draws the same samples, so it must agree exactly.
        let model = ReportFixtures.tinyModel()
        let content = try ReportFixtures.content(model: model)
        #expect(content.comparisons.map(\.rule.kind) == [.median])
        let page = Self.pageNumbers(XMLDigest(HTMLReport.render(content)))
        var generator = RandomGenerator(seed: 7)
        let (median, _) = ClassifierEvaluation.evaluate(
            model: model, rule: try DecisionRule.make(kind: .median, model: model), samples: 24,
            test: ReportFixtures.fakeMNIST(), testName: "mnist", outOfDistribution: ReportFixtures.outOfDistribution(), generator: &generator)
        let expected = Self.resultNumbers(median, ruleDependentOnly: true)
        #expect(expected.count >= 4)
        for (key, value) in expected {
            let shown = page[key] ?? []
            #expect(!shown.isEmpty, "\(key) is not on the page")
            for number in shown { #expect(number == value, "\(key): page \(number), evaluate --rule median \(value)") }
        }
    }

    @Test func namesThatLookLikeMarkupAreShownAsText() throws {
        let content = try ReportFixtures.content()
        let html = HTMLReport.render(content)
        let digest = XMLDigest(html)
        try #require(digest.isWellFormed)
        #expect(!html.contains("<b>&"))
        #expect(digest.elements(named: "b").isEmpty)
        #expect(digest.allText.contains(ReportFixtures.awkwardName))
        #expect(digest.elements.contains { $0.attributes["data-dataset"] == ReportFixtures.awkwardName })
        #expect(digest.elements(named: "h1").first?.text == "swift-bnn report: tiny <model>.safetensors")
    }

    @Test func reportWithoutHistoryOrCalibrationStillRenders() throws {
        let model = ReportFixtures.tinyModel(epochs: 0)
        model.calibration = nil
        let content = try ReportFixtures.content(model: model, rule: .median)
        #expect(content.comparisons.isEmpty)
        let digest = XMLDigest(HTMLReport.render(content))
        #expect(digest.isWellFormed)
        #expect(digest.allText.contains("The model file holds no training history."))
        // One epoch: a chart with a single point per series.
        let single = try ReportFixtures.content(model: ReportFixtures.tinyModel(epochs: 1))
        #expect(XMLDigest(HTMLReport.render(single)).isWellFormed)
    }

    @Test func writeIsAtomicAndReplacesTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bnn-report-write-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("report.html")
        try Data("old".utf8).write(to: url)
        try HTMLReport.write(try ReportFixtures.content(), to: url)
        let written = try String(contentsOf: url, encoding: .utf8)
        #expect(written.hasPrefix("<!DOCTYPE html>"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["report.html"])
        #expect(throws: (any Error).self) { try HTMLReport.write(try ReportFixtures.content(), to: folder.appendingPathComponent("missing/r.html")) }
    }

    @Test func gallerySpreadsItsPicks() {
        #expect(ReportContent.spread([1, 2, 3], 5) == [1, 2, 3])
        #expect(ReportContent.spread(Array(0..<100), 4) == [12, 37, 62, 87])
        #expect(ReportContent.spread([], 3).isEmpty)
    }
}
