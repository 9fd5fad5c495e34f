import BNN
import BNNData
import Foundation

/// The Pyro tutorial's figure for one input: the image (or, for a table row, its first features), one
/// histogram per class of the log-probabilities the sampled networks give that class, the selected
/// classes highlighted, and the verdict.
///
/// A class the networks agree on has all its samples near log p = 0; a class they are unsure about
/// spreads its samples over many orders of magnitude. All panels share one x-axis, so their shapes
/// compare directly. Panels are laid out five to a row (as many as there are classes, up to five, in
/// one taller row); the figure grows downwards beyond ten classes.
public struct PredictionFigure: Sendable {
    /// How the answer turned out.
    public enum Verdict: String, Sendable {
        /// The answer is the true class alone.
        case correct = "Correct"
        /// The answer names two or more classes, the true one among them ("1 or 7" for a 7).
        case ambiguous = "Ambiguous"
        /// The answer does not name the true class (or names any class, for an input that belongs to no class).
        case wrong = "Wrong"
        /// The rule refused.
        case refused = "I don't know"
        /// An answer for an input whose class we do not know (`bnn predict`).
        case answered = "Answer"

        /// The verdict on the answer `classes` (empty: refused) for an input of true class `label`
        /// (−1: belongs to no class, e.g. a non-digit; nil: unknown).
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

    /// What is shown of the input: an image (enlarged to fit 112 × 112 pixels, pixelated) or a table row.
    public var input: Input
    /// `[class][sample]` natural-log probabilities.
    public var logProbabilities: [[Float]]
    /// The median over samples of each class's probability (shown in the panel titles).
    public var medians: [Float]
    public var classNames: [String]
    /// The classes the rule selected, most probable first (empty: refused).
    public var selected: [Int]
    /// The true class, when known; −1 for an input that belongs to no class (a non-digit).
    public var label: Int?
    /// What the figure says of an input whose `label` is −1 ("not a digit" for digit models).
    public var noClassText: String
    public var verdict: Verdict
    /// What the input is, e.g. "MNIST test #17" or a file name.
    public var caption: String

    /// Log-probabilities below this are drawn in the leftmost bin: p < e⁻³⁰ is "never" at any sample count.
    public static let floor: Float = -30

    public static let width: Double = 860
    /// The height of a figure of up to ten classes (`height(classes:)` for more).
    public static let height: Double = 262

    /// Panels per row of the histogram grid, for `classes` classes.
    static func columns(classes: Int) -> Int { min(max(classes, 1), 5) }

    /// The height of a figure of `classes` classes: `height`, plus one row of panels per five classes beyond ten.
    public static func height(classes: Int) -> Double {
        let rows = (max(classes, 1) + columns(classes: classes) - 1) / columns(classes: classes)
        return height + Double(max(rows - 2, 0)) * (panelHeight + 4)
    }

    /// The height of one panel when the grid has two or more rows.
    static let panelHeight = 108.0

    /// The height of this figure.
    public var height: Double { Self.height(classes: classNames.count) }

    public init(input: Input, logProbabilities: [[Float]], medians: [Float], classNames: [String], selected: [Int],
                label: Int?, verdict: Verdict, caption: String, noClassText: String = "not a digit") {
        precondition(logProbabilities.count == classNames.count && medians.count == classNames.count,
                     "\(logProbabilities.count) histograms and \(medians.count) medians for \(classNames.count) classes")
        self.input = input
        self.logProbabilities = logProbabilities
        self.medians = medians
        self.classNames = classNames
        self.selected = selected
        self.label = label
        self.verdict = verdict
        self.caption = caption
        self.noClassText = noClassText
    }

    /// A figure of a grey image.
    public init(image: GreyImage, logProbabilities: [[Float]], medians: [Float], classNames: [String], selected: [Int],
                label: Int?, verdict: Verdict, caption: String) {
        self.init(input: .grey(image), logProbabilities: logProbabilities, medians: medians, classNames: classNames,
                  selected: selected, label: label, verdict: verdict, caption: caption)
    }

    /// The figure of a grey image, input `index` of sampled probabilities `[samples, count, classes]`.
    public init(image: GreyImage, probabilities: Tensor, summary: PredictiveSummary, index: Int, decision: Decision,
                classNames: [String], label: Int?, caption: String) {
        self.init(input: .grey(image), probabilities: probabilities, summary: summary, index: index, decision: decision,
                  classNames: classNames, label: label, caption: caption)
    }

    /// The figure for input `index` of sampled probabilities `[samples, count, classes]`.
    public init(input: Input, probabilities: Tensor, summary: PredictiveSummary, index: Int, decision: Decision,
                classNames: [String], label: Int?, caption: String, noClassText: String = "not a digit") {
        let samples = probabilities.shape[0], count = probabilities.shape[1], classes = probabilities.shape[2]
        precondition(index < count, "input \(index) of \(count)")
        var logs = [[Float]](repeating: [], count: classes)
        for c in 0..<classes {
            logs[c] = (0..<samples).map { s in Foundation.log(max(probabilities.pointer[(s * count + index) * classes + c], 0)) }
        }
        let medians = Array(UnsafeBufferPointer(start: summary.median(index), count: classes))
        self.init(input: input, logProbabilities: logs, medians: medians, classNames: classNames, selected: decision.classes,
                  label: label, verdict: Verdict(classes: decision.classes, label: label), caption: caption, noClassText: noClassText)
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
        var figure = SVGCanvas(width: Self.width, height: height)
        figure.rect(Rect(x: 0.5, y: 0.5, width: Self.width - 1, height: height - 1), fill: "#ffffff", stroke: "#d0d0d0")
        // Left column: what the input is, the image (or the row's first features), the verdict.
        figure.text(caption, x: 14, y: 22, size: 12, weight: "bold")
        if let label, label >= 0, label < classNames.count {
            figure.text("true class: \(Self.shortened(classNames[label], to: 18))", x: 14, y: 38, size: 11, fill: Palette.mutedText)
        } else {
            figure.text(label == nil ? "true class unknown" : noClassText, x: 14, y: 38, size: 11, fill: Palette.mutedText)
        }
        drawInput(into: &figure, in: Rect(x: 14, y: 48, width: 112, height: 112))
        let verdictY = 186.0
        // The left column is 164 pixels wide: long answers ("Wrong: said 3 or 5 or 8") get a smaller font, and
        // answers of long class names are cut (the figure's title in the report holds the whole verdict).
        let verdictText = Self.shortened(self.verdictText, to: 28)
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

        // Right: a grid of per-class histograms sharing one x-axis, five to a row (2 × 5 for ten classes).
        // With five classes or fewer they fill one row of double height, as wide as the five-column grid.
        let scale = logRange
        let columns = Self.columns(classes: classNames.count), gridX = 178.0, gridY = 14.0
        let cellWidth = 5 * 134.0 / Double(columns)
        let rows = (max(classNames.count, 1) + columns - 1) / columns
        let cellHeight = rows == 1 ? 2 * Self.panelHeight + 4 : Self.panelHeight
        let samples = logProbabilities.first?.count ?? 0
        for c in 0..<classNames.count {
            let row = c / columns, column = c % columns
            let cell = Rect(x: gridX + Double(column) * cellWidth, y: gridY + Double(row) * (cellHeight + 4),
                            width: cellWidth - 6, height: cellHeight)
            drawPanel(into: &figure, cell: cell, classIndex: c, scale: scale, showYLabels: column == 0)
        }
        let bottom = gridY + Double(rows) * (cellHeight + 4)
        figure.text("log-probability of each class over \(samples) sampled networks (≤ \(scale.label(scale.lower)) drawn at the left edge)",
                    x: gridX + Double(columns) * cellWidth / 2, y: bottom + 22, size: 11, anchor: .middle, fill: Palette.mutedText)
        canvas.place(figure, x: x, y: y)
    }

    /// Draws the input in `frame`: an image enlarged to fit it (aspect kept, centred, on black), or the
    /// first features of a table row with their values.
    private func drawInput(into figure: inout SVGCanvas, in frame: Rect) {
        if let size = input.pixelSize, let png = input.png {
            let scale = min(frame.width / Double(size.width), frame.height / Double(size.height))
            let width = Double(size.width) * scale, height = Double(size.height) * scale
            let imageFrame = Rect(x: frame.x + (frame.width - width) / 2, y: frame.y + (frame.height - height) / 2,
                                  width: width, height: height)
            figure.rect(imageFrame.inset(top: -1, left: -1, bottom: -1, right: -1), fill: "#000000", stroke: "#888888")
            figure.image(png: png, in: imageFrame, label: caption)
            return
        }
        guard case .features(let features) = input, !features.isEmpty else { return }
        // Up to seven lines of "name value" (the last says how many more there are), names cut to fit.
        let shown = features.count <= 7 ? features[...] : features.prefix(6)
        figure.group([("class", "features")]) { g in
            for (line, feature) in shown.enumerated() {
                let y = frame.y + 12 + Double(line) * 15
                g.text(Self.shortened(feature.name, to: 13), x: frame.x, y: y, size: 11, fill: Palette.mutedText)
                g.text(Self.featureText(feature.value), x: frame.x + 146, y: y, size: 11, anchor: .end)
            }
            if features.count > 7 {
                g.text("… \(features.count - 6) more features", x: frame.x, y: frame.y + 12 + 6 * 15, size: 11, fill: Palette.mutedText)
            }
        }
    }

    /// `text` cut to `length` characters, the last of them "…", when it is longer.
    static func shortened(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(max(length - 1, 0))) + "…"
    }

    /// A feature value in at most four significant digits.
    static func featureText(_ value: Float) -> String {
        value.isFinite ? String(format: "%.4g", Double(value)) : "\(value)"
    }

    private func drawPanel(into canvas: inout SVGCanvas, cell: Rect, classIndex c: Int, scale: NiceScale, showYLabels: Bool) {
        let isSelected = selected.contains(c)
        let color = isSelected ? Palette.blue : Palette.neutral
        if isSelected {
            canvas.rect(cell.inset(top: 0, left: 2, bottom: 0, right: -2), fill: Palette.skyBlue, stroke: Palette.blue,
                        strokeWidth: 2, opacity: 0.12)
        }
        // Class name on the left, median on the right, sharing the header; see `panelHeader`.
        let header = Self.panelHeader(name: classNames[c], isTrue: label == c, median: medians[c], width: cell.width)
        canvas.text(header.title, x: cell.x + 4, y: cell.y + 14, size: 12, weight: isSelected ? "bold" : nil,
                    fill: isSelected ? Palette.blue : Palette.text)
        canvas.text(header.median, x: cell.maxX - 4, y: cell.y + 14, size: 10,
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
            // A shortened class name keeps its full form as the panel's tooltip.
            if header.shortened { g.element("title", [], text: classNames[c]) }
            for (k, n) in counts.enumerated() where n > 0 {
                let left = frame.x(scale.lower + Double(k) * width), right = frame.x(scale.lower + Double(k + 1) * width)
                let top = frame.y(Double(n) / total)
                g.rect(Rect(x: left, y: top, width: max(right - left - 0.4, 0.8), height: frame.plot.maxY - top), fill: color)
            }
        }
    }

    /// The texts of a panel's header `width` pixels wide: the class name (with " (true)" for the true class) on
    /// the left, "median p" on the right. Digits and short names fit as they are; a longer name first drops
    /// the word "median", then is cut with "…" (`shortened`). Widths are estimated at 0.55 em per character.
    static func panelHeader(name: String, isTrue: Bool, median: Float, width: Double) -> (title: String, median: String, shortened: Bool) {
        let suffix = isTrue ? " (true)" : ""
        let value = probabilityText(median)
        func characters(besides medianText: String) -> Int {
            let medianWidth: Double = 5.5 * Double(medianText.count)
            return Int((width - 14 - medianWidth) / 6.6)
        }
        if name.count + suffix.count <= characters(besides: "median " + value) {
            return (name + suffix, "median " + value, false)
        }
        let room = characters(besides: value) - suffix.count
        if name.count <= room { return (name + suffix, value, false) }
        return (String(name.prefix(max(room - 1, 1))) + "…" + suffix, value, true)
    }

    static func probabilityText(_ p: Float) -> String {
        if p >= 0.995 { return "≈ 1" }
        if p < 0.005 { return p < 0.0005 ? "≈ 0" : String(format: "%.3f", p) }
        return String(format: "%.2f", p)
    }

    /// A standalone SVG document of figures stacked vertically (one per input).
    public static func svgDocument(_ figures: [PredictionFigure], title: String) -> String {
        var canvas = SVGCanvas(width: width, height: figures.reduce(0) { $0 + $1.height + 8 })
        var y = 0.0
        for figure in figures {
            figure.draw(into: &canvas, x: 0, y: y)
            y += figure.height + 8
        }
        return canvas.document(title: title, standalone: true)
    }
}
