import BNN
import BNNData
import Foundation
import Testing
@testable import BNNReport

@Suite struct SVGTests {
    @Test func escapingCoversMarkupQuotesAndForbiddenCharacters() {
        #expect(XMLText.escape("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#39;")
        #expect(XMLText.escape("a\u{0}b\u{1B}c\td") == "a\u{FFFD}b\u{FFFD}c\td")
        #expect(XMLText.escape("ünïcødé σ → ½") == "ünïcødé σ → ½")
    }

    @Test func canvasEscapesTextAndAttributes() {
        var canvas = SVGCanvas(width: 100, height: 50)
        canvas.text("</svg><script>alert(1)</script> & \u{0}", x: 1, y: 2)
        canvas.rect(Rect(x: 0, y: 0, width: 10, height: 10), fill: "#000", tooltip: "a<b")
        canvas.element("g", [("data-name", "\"><x y=\"")])
        let digest = XMLDigest(canvas.document(title: "<title>", standalone: true))
        #expect(digest.isWellFormed)
        #expect(digest.elements(named: "script").isEmpty)
        #expect(digest.elements(named: "text").first?.text == "</svg><script>alert(1)</script> & \u{FFFD}")
        #expect(digest.elements(named: "g").first?.attributes["data-name"] == "\"><x y=\"")
    }

    @Test func numbersAreShort() {
        #expect(SVGCanvas.number(3) == "3")
        #expect(SVGCanvas.number(3.14159) == "3.14")
        #expect(SVGCanvas.number(-0.5) == "-0.5")
        #expect(SVGCanvas.number(.nan) == "0")
    }

    @Test func chartsAreWellFormedWithAxesAndLegends() {
        var canvas = SVGCanvas(width: 580, height: 330)
        LineChart.draw(into: &canvas, bounds: Rect(x: 0, y: 0, width: 580, height: 330),
                       series: [LineChart.Series(name: "a & b", points: [(0, 1), (1, 0.5), (2, 0.25)], color: Palette.blue)],
                       points: [LineChart.Point(name: "<op>", x: 1, y: 0.5, color: Palette.orange)],
                       xLabel: "epoch", yLabel: "loss")
        Histogram.draw(into: &canvas, bounds: Rect(x: 0, y: 0, width: 580, height: 330),
                       series: [Histogram.Series(name: "x", values: [0.1, 0.2, 0.2, .nan], color: Palette.blue),
                                Histogram.Series(name: "y", values: [], color: Palette.orange)],
                       range: (0, 1), bins: 10, xLabel: "score", markers: [(0.5, "threshold")])
        BarChart.draw(into: &canvas, bounds: Rect(x: 0, y: 0, width: 580, height: 330),
                      bars: [BarChart.Bar(lower: 0, upper: 0.5, value: .nan, label: "empty bin"), BarChart.Bar(lower: 0.5, upper: 1, value: 0.9, label: "1234")],
                      barName: "accuracy", xLabel: "confidence", yLabel: "accuracy", xRange: (0, 1), yRange: (0, 1))
        let digest = XMLDigest(canvas.document(standalone: true))
        #expect(digest.isWellFormed)
        let texts = digest.elements(named: "text").map(\.text)
        for label in ["epoch", "loss", "a & b", "<op>", "score", "threshold", "confidence", "accuracy", "0.5", "1.0", "1234"] {
            #expect(texts.contains(label), "missing text \(label)")
        }
        #expect(!texts.contains("empty bin"), "a bar that is not drawn has no label")
        // Empty reliability bins (NaN) draw no bar and no NaN coordinate.
        #expect(!canvas.body.contains("nan") && !canvas.body.contains("NaN"))
    }

    /// "1 or 7" for a 7 contains the truth: ambiguous, not wrong.
    @Test func verdicts() {
        typealias Verdict = PredictionFigure.Verdict
        #expect(Verdict(classes: [7], label: 7) == .correct)
        #expect(Verdict(classes: [1, 7], label: 7) == .ambiguous)
        #expect(Verdict(classes: [7, 1], label: 7) == .ambiguous)
        #expect(Verdict(classes: [1, 2], label: 7) == .wrong)
        #expect(Verdict(classes: [1], label: 7) == .wrong)
        #expect(Verdict(classes: [1, 7], label: -1) == .wrong, "any answer to a non-digit is wrong")
        #expect(Verdict(classes: [], label: 7) == .refused)
        #expect(Verdict(classes: [3], label: nil) == .answered)
        let figure = PredictionFigure(image: GreyImage(width: 28, height: 28, pixels: [Float](repeating: 0, count: 784)),
                                      logProbabilities: [[Float]](repeating: [-1, -2], count: 10), medians: [Float](repeating: 0.1, count: 10),
                                      classNames: (0..<10).map(String.init), selected: [1, 7], label: 7,
                                      verdict: Verdict(classes: [1, 7], label: 7), caption: "MNIST test #0")
        #expect(figure.verdictText == "Ambiguous: 1 or 7")
        let digest = XMLDigest(PredictionFigure.svgDocument([figure], title: "t"))
        #expect(digest.elements(named: "text").compactMap { $0.attributes["data-verdict"] } == ["Ambiguous"])
        #expect(digest.allText.contains("contains the truth"))
    }

    @Test func predictionFigureSVGIsWellFormedAndShowsTheVerdict() throws {
        let model = ReportFixtures.tinyModel(threshold: 10)  // accepts everything
        let images = ReportFixtures.fakeMNIST(count: 3)
        var generator = RandomGenerator(seed: 3)
        let probabilities = Predictive(network: model.network).sampleProbabilities(images.images, samples: 30, generator: &generator)
        let summary = PredictiveSummary(probabilities: probabilities)
        let rule = try DecisionRule.make(kind: .calibrated, model: model)
        let figures = (0..<3).map { index in
            PredictionFigure(image: GreyImage(width: 28, height: 28, pixels: Array(images.images.array[(index * 784)..<((index + 1) * 784)])),
                             probabilities: probabilities, summary: summary, index: index,
                             decision: rule.decide(summary, index: index), classNames: model.classNames,
                             label: index == 2 ? nil : images.labels[index], caption: "file <\(index)>.png")
        }
        let svg = PredictionFigure.svgDocument(figures, title: "bnn predict")
        #expect(svg.hasPrefix("<?xml"))
        let digest = XMLDigest(svg)
        #expect(digest.isWellFormed)
        #expect(digest.elements(named: "image").count == 3)
        #expect(digest.elements(named: "g").filter { $0.attributes["class"] == "panel" }.count == 30)
        let selected = digest.elements(named: "g").filter { $0.attributes["data-selected"] == "true" }
        #expect(selected.count >= 3)
        let verdicts = digest.elements(named: "text").compactMap { $0.attributes["data-verdict"] }
        #expect(verdicts.count == 3)
        #expect(verdicts[2] == "Answer")
        #expect(digest.allText.contains("file <0>.png"))
        // A refusing rule: "I don't know" and nothing highlighted.
        let refusing = try DecisionRule.make(kind: .calibrated, model: ReportFixtures.tinyModel(threshold: -1))
        let refused = PredictionFigure(image: GreyImage(width: 28, height: 28, pixels: [Float](repeating: 0, count: 784)),
                                       probabilities: probabilities, summary: summary, index: 0,
                                       decision: refusing.decide(summary, index: 0), classNames: model.classNames, label: 0,
                                       caption: "x")
        #expect(refused.verdict == .refused && refused.verdictText == "I don't know")
        let refusedDigest = XMLDigest(PredictionFigure.svgDocument([refused], title: "t"))
        #expect(refusedDigest.isWellFormed)
        #expect(refusedDigest.elements(named: "g").filter { $0.attributes["data-selected"] == "true" }.isEmpty)
    }
}
