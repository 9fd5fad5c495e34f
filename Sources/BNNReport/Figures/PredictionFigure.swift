import BNN
import BNNData
import Foundation

/// The Pyro tutorial's figure for one input: the image, one histogram per class of the log-probabilities
/// the sampled networks give that class, the selected classes highlighted, and the verdict.
///
/// A class the networks agree on has all its samples near log p = 0; a class they are unsure about
/// spreads its samples over many orders of magnitude. All ten panels share one x-axis, so their
/// shapes compare directly.
public struct PredictionFigure: Sendable {
    /// How the answer turned out.
    public enum Verdict: String, Sendable {
        /// The answer is the true class alone.
        case correct = "Correct"
        /// The answer names two or more classes, the true one among them ("1 or 7" for a 7).
        case ambiguous = "Ambiguous"
        /// The answer does not name the true class (or names any class, for an input that is not a digit).
        case wrong = "Wrong"
        /// The rule refused.
        case refused = "I don't know"
        /// An answer for an input whose class we do not know (`bnn predict`).
        case answered = "Answer"

        /// The verdict on the answer `classes` (empty: refused) for an input of true class `label`
        /// (−1: not a digit; nil: unknown).
        public init(classes: [Int], label: Int?) {
            if classes.isEmpty {
                self = .refused
            } else if let label {
                self = label < 0 || !classes.contains(label) ? .wrong : classes.count == 1 ? .correct : .ambiguous
            } else {
                self = .answered
            }
        }

        public var color: String {
            switch self {
            case .correct: return Palette.correct
            case .ambiguous: return Palette.ambiguous
            case .wrong: return Palette.wrong
            case .refused: return Palette.refused
            case .answered: return Palette.text
            }
        }
    }

    /// The input image (shown 3× enlarged, pixelated).
    public var image: GreyImage
    /// `[class][sample]` natural-log probabilities.
    public var logProbabilities: [[Float]]
    /// The median over samples of each class's probability (shown in the panel titles).
    public var medians: [Float]
    public var classNames: [String]
    /// The classes the rule selected, most probable first (empty: refused).
    public var selected: [Int]
    /// The true class, when known; −1 for an input that belongs to no class (a non-digit).
    public var label: Int?
    public var verdict: Verdict
    /// What the input is, e.g. "MNIST test #17" or a file name.
    public var caption: String

    /// Log-probabilities below this are drawn in the leftmost bin: p < e⁻³⁰ is "never" at any sample count.
    public static let floor: Float = -30

    public static let width: Double = 860
    public static let height: Double = 262

    public init(image: GreyImage, logProbabilities: [[Float]], medians: [Float], classNames: [String], selected: [Int],
                label: Int?, verdict: Verdict, caption: String) {
        precondition(logProbabilities.count == classNames.count && medians.count == classNames.count,
                     "\(logProbabilities.count) histograms and \(medians.count) medians for \(classNames.count) classes")
        self.image = image
        self.logProbabilities = logProbabilities
        self.medians = medians
        self.classNames = classNames
        self.selected = selected
        self.label = label
        self.verdict = verdict
        self.caption = caption
    }

    /// The figure for input `index` of sampled probabilities `[samples, count, classes]`.
    public init(image: GreyImage, probabilities: Tensor, summary: PredictiveSummary, index: Int, decision: Decision,
                classNames: [String], label: Int?, caption: String) {
        let samples = probabilities.shape[0], count = probabilities.shape[1], classes = probabilities.shape[2]
        precondition(index < count, "input \(index) of \(count)")
        var logs = [[Float]](repeating: [], count: classes)
        for c in 0..<classes {
            logs[c] = (0..<samples).map { s in Foundation.log(max(probabilities.pointer[(s * count + index) * classes + c], 0)) }
        }
        let medians = Array(UnsafeBufferPointer(start: summary.median(index), count: classes))
        self.init(image: image, logProbabilities: logs, medians: medians, classNames: classNames, selected: decision.classes,
                  label: label, verdict: Verdict(classes: decision.classes, label: label), caption: caption)
    }

    /// The answer in words: "7", "3 or 5", or "I don't know".
    public var answer: String {
        selected.isEmpty ? "I don't know" : selected.map { classNames[$0] }.joined(separator: " or ")
    }

    /// The verdict line under the image.
    public var verdictText: String {
        switch verdict {
        case .correct: return "Correct: \(answer)"
        case .ambiguous: return "Ambiguous: \(answer)"
        case .wrong: return "Wrong: said \(answer)"
        case .refused: return "I don't know"
        case .answered: return "Answer: \(answer)"
        }
    }

    /// The shared x-axis range: from the smallest log-probability (not below `floor`) to 0.
    var logRange: NiceScale {
        let smallest = logProbabilities.flatMap { $0 }.filter(\.isFinite).min() ?? Self.floor
        return NiceScale(Double(max(smallest, Self.floor)), 0, target: 4)
    }

    /// Draws the figure with its top-left corner at (`x`, `y`).
    public func draw(into canvas: inout SVGCanvas, x: Double = 0, y: Double = 0) {
        var figure = SVGCanvas(width: Self.width, height: Self.height)
        figure.rect(Rect(x: 0.5, y: 0.5, width: Self.width - 1, height: Self.height - 1), fill: "#ffffff", stroke: "#d0d0d0")
        // Left column: what the input is, the image, the verdict.
        figure.text(caption, x: 14, y: 22, size: 12, weight: "bold")
        if let label, label >= 0, label < classNames.count {
            figure.text("true class: \(classNames[label])", x: 14, y: 38, size: 11, fill: Palette.mutedText)
        } else {
            figure.text(label == nil ? "true class unknown" : "not a digit", x: 14, y: 38, size: 11, fill: Palette.mutedText)
        }
        let imageFrame = Rect(x: 14, y: 48, width: 112, height: 112)
        figure.rect(imageFrame.inset(top: -1, left: -1, bottom: -1, right: -1), fill: "#000000", stroke: "#888888")
        figure.image(png: PNGEncoder.encode(image), in: imageFrame, label: caption)
        let verdictY = 186.0
        // The left column is 164 pixels wide: long answers ("Wrong: said 3 or 5 or 8") get a smaller font.
        let verdictSize = Legend.textWidth(verdictText, size: 14) * 1.1 <= 150 ? 14.0 : 12.0
        let boxWidth = min(max(Legend.textWidth(verdictText, size: verdictSize) * 1.1 + 14, 120), 160)
        figure.rect(Rect(x: 14, y: verdictY - 15, width: boxWidth, height: 22), fill: verdict.color, opacity: 0.12)
        figure.element("text", [("x", "20"), ("y", SVGCanvas.number(verdictY)), ("font-size", SVGCanvas.number(verdictSize)),
                                ("font-weight", "bold"), ("fill", verdict.color), ("class", "verdict"),
                                ("data-verdict", verdict.rawValue)],
                       text: verdictText)
        let note: String
        switch verdict {
        case .refused: note = "no class selected"
        case .ambiguous: note = "contains the truth"
        case .correct, .wrong, .answered: note = selected.count > 1 ? "answers highlighted" : "answer highlighted"
        }
        figure.text(note, x: 20, y: verdictY + 20, size: 11, fill: Palette.mutedText)

        // Right: a 2 × 5 grid of per-class histograms sharing one x-axis.
        let scale = logRange
        let columns = 5, gridX = 178.0, gridY = 14.0, cellWidth = 134.0, cellHeight = 108.0
        let samples = logProbabilities.first?.count ?? 0
        for c in 0..<classNames.count {
            let row = c / columns, column = c % columns
            let cell = Rect(x: gridX + Double(column) * cellWidth, y: gridY + Double(row) * (cellHeight + 4),
                            width: cellWidth - 6, height: cellHeight)
            drawPanel(into: &figure, cell: cell, classIndex: c, scale: scale, showYLabels: column == 0)
        }
        let bottom = gridY + 2 * (cellHeight + 4)
        figure.text("log-probability of each class over \(samples) sampled networks (≤ \(scale.label(scale.lower)) drawn at the left edge)",
                    x: gridX + Double(columns) * cellWidth / 2, y: bottom + 22, size: 11, anchor: .middle, fill: Palette.mutedText)
        canvas.place(figure, x: x, y: y)
    }

    private func drawPanel(into canvas: inout SVGCanvas, cell: Rect, classIndex c: Int, scale: NiceScale, showYLabels: Bool) {
        let isSelected = selected.contains(c)
        let color = isSelected ? Palette.blue : Palette.neutral
        if isSelected {
            canvas.rect(cell.inset(top: 0, left: 2, bottom: 0, right: -2), fill: Palette.skyBlue, stroke: Palette.blue,
                        strokeWidth: 2, opacity: 0.12)
        }
        // Class name on the left, median on the right: both short enough to share the 128-pixel header.
        let title = classNames[c] + (label == c ? " (true)" : "")
        canvas.text(title, x: cell.x + 4, y: cell.y + 14, size: 12, weight: isSelected ? "bold" : nil,
                    fill: isSelected ? Palette.blue : Palette.text)
        canvas.text("median " + Self.probabilityText(medians[c]), x: cell.maxX - 4, y: cell.y + 14, size: 10,
                    anchor: .end, fill: Palette.mutedText)
        let margins = ChartFrame.Margins(top: 22, left: 26, bottom: 22, right: 8)
        let frame = ChartFrame(bounds: cell, x: (scale.lower, scale.upper), y: (0, 1), margins: margins, xTicks: 4, yTicks: 3,
                               exactX: true, exactY: true)
        frame.drawAxes(into: &canvas, xLabel: nil, yLabel: nil, grid: false, fontSize: 9,
                       yFormat: { $0 == 0 ? "0" : $0 == 1 ? "1" : "½" }, showYLabels: true)
        let bins = 24
        let values = logProbabilities[c].map { Double($0.isNaN ? Self.floor : max($0, Self.floor)) }
        let counts = Histogram.counts(values, lower: scale.lower, upper: scale.upper, bins: bins)
        let total = Double(max(values.count, 1))
        let width = (scale.upper - scale.lower) / Double(bins)
        canvas.group([("class", "panel"), ("data-class", classNames[c]), ("data-selected", isSelected ? "true" : "false")]) { g in
            for (k, n) in counts.enumerated() where n > 0 {
                let left = frame.x(scale.lower + Double(k) * width), right = frame.x(scale.lower + Double(k + 1) * width)
                let top = frame.y(Double(n) / total)
                g.rect(Rect(x: left, y: top, width: max(right - left - 0.4, 0.8), height: frame.plot.maxY - top), fill: color)
            }
        }
    }

    static func probabilityText(_ p: Float) -> String {
        if p >= 0.995 { return "≈ 1" }
        if p < 0.005 { return p < 0.0005 ? "≈ 0" : String(format: "%.3f", p) }
        return String(format: "%.2f", p)
    }

    /// A standalone SVG document of figures stacked vertically (one per input).
    public static func svgDocument(_ figures: [PredictionFigure], title: String) -> String {
        var canvas = SVGCanvas(width: width, height: Double(figures.count) * (height + 8))
        for (index, figure) in figures.enumerated() {
            figure.draw(into: &canvas, x: 0, y: Double(index) * (height + 8))
        }
        return canvas.document(title: title, standalone: true)
    }
}
