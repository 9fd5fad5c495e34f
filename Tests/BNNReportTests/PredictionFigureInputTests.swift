import BNN
import BNNData
import Foundation
import Testing
@testable import BNNReport

/// Figures of inputs of every kind and class count: none traps, and each is drawn as its kind.
@Suite struct PredictionFigureInputTests {
    static func figure(_ input: PredictionFigure.Input, classes: Int) -> PredictionFigure {
        PredictionFigure(input: input, logProbabilities: [[Float]](repeating: [-0.5, -3, -40, -.infinity], count: classes),
                         medians: [Float](repeating: 1 / Float(classes), count: classes),
                         classNames: (0..<classes).map { "class number \($0)" }, selected: [0], label: -1,
                         verdict: .wrong, caption: "x", noClassText: "in no class")
    }

    @Test func anyClassCountDrawsOnePanelPerClass() {
        for classes in [2, 3, 5, 6, 10, 11, 23] {
            let figure = Self.figure(.features([.init(name: "a", value: 1)]), classes: classes)
            let digest = XMLDigest(PredictionFigure.svgDocument([figure, figure], title: "t"))
            #expect(digest.isWellFormed)
            #expect(digest.elements(named: "g").filter { $0.attributes["class"] == "panel" }.count == 2 * classes)
            let rows = (classes + 4) / 5
            #expect(figure.height == PredictionFigure.height + Double(max(rows - 2, 0)) * 112)
            #expect(digest.elements.first?.attributes["height"] == SVGCanvas.number(2 * (figure.height + 8)))
        }
    }

    @Test func inputsFollowThePreprocessing() {
        let grey = PredictionFigure.Input(values: [Float](repeating: 0.5, count: 12 * 7), preprocessing: .greyImages(height: 12, width: 7))
        #expect(grey.pixelSize.map { [$0.width, $0.height] } == [7, 12])
        let colourValues = (0..<(3 * 2 * 2)).map { Float($0) / 11 }
        let colour = PredictionFigure.Input(values: colourValues, preprocessing: InputPreprocessing(kind: .image, shape: [3, 2, 2]))
        guard case .colour(let image) = colour else { Issue.record("not colour"); return }
        // Channel-major in, interleaved out: pixel 0 is (values[0], values[4], values[8]).
        let png = image.png
        #expect(png[25] == 2)
        #expect(PNGDecoder.declaredDimensions(of: png).map { [$0.width, $0.height] } == [2, 2])
        // A row that does not match the recorded shape still gets a picture rather than a trap.
        let odd = PredictionFigure.Input(values: [Float](repeating: 0, count: 10), preprocessing: .mnist)
        #expect(odd.pixelSize.map { [$0.width, $0.height] } == [10, 1])
        let table = PredictionFigure.Input(values: [0, 1], preprocessing: InputPreprocessing(
            kind: .tabular, shape: [2], featureNames: ["a", "b"], means: [1, 2], standardDeviations: [3, 4]))
        guard case .features(let features) = table else { Issue.record("not a table row"); return }
        #expect(features == [.init(name: "a", value: 1), .init(name: "b", value: 6)])
        let empty = PredictionFigure.Input(values: [], preprocessing: .mnist)
        #expect(XMLDigest(PredictionFigure.svgDocument([Self.figure(empty, classes: 2)], title: "t")).isWellFormed)
    }

    /// Digit titles keep their "median" label; long names drop it, then are cut with the full name kept.
    @Test func panelHeadersFit() {
        #expect(PredictionFigure.panelHeader(name: "7", isTrue: true, median: 0.5, width: 128) == ("7 (true)", "median 0.50", false))
        #expect(PredictionFigure.panelHeader(name: "amber", isTrue: false, median: 0.5, width: 128) == ("amber", "median 0.50", false))
        let long = PredictionFigure.panelHeader(name: "a rather long class name", isTrue: true, median: 0.5, width: 128)
        #expect(long.shortened && long.median == "0.50" && long.title.hasSuffix("… (true)"))
        #expect(Legend.textWidth(long.title, size: 12) * 0.55 / 0.6 + Legend.textWidth(long.median, size: 10) * 0.55 / 0.6 <= 128 - 14)
    }
}
