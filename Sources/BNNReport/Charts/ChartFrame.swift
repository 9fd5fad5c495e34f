/// The plot area of a chart with its two scales, ticks, axes and labels: what every chart type shares.
public struct ChartFrame: Sendable {
    /// Where the marks go.
    public let plot: Rect
    public let xScale: NiceScale
    public let yScale: NiceScale
    public let x: LinearScale
    public let y: LinearScale

    /// Space around the plot area for a title and legend (top), tick labels and axis titles.
    public struct Margins: Sendable {
        public var top: Double, left: Double, bottom: Double, right: Double
        public init(top: Double = 34, left: Double = 58, bottom: Double = 46, right: Double = 18) {
            self.top = top
            self.left = left
            self.bottom = bottom
            self.right = right
        }
    }

    /// A frame in `bounds`, with nice scales around the data ranges (`exactX`/`exactY` keep a range as given).
    public init(bounds: Rect, x xRange: (Double, Double), y yRange: (Double, Double), margins: Margins = Margins(),
                xTicks: Int = 6, yTicks: Int = 5, exactX: Bool = false, exactY: Bool = false, integerX: Bool = false) {
        plot = bounds.inset(top: margins.top, left: margins.left, bottom: margins.bottom, right: margins.right)
        xScale = exactX ? NiceScale.exact(xRange.0, xRange.1, target: xTicks)
                        : NiceScale(xRange.0, xRange.1, target: xTicks, minimumStep: integerX ? 1 : 0)
        yScale = exactY ? NiceScale.exact(yRange.0, yRange.1, target: yTicks) : NiceScale(yRange.0, yRange.1, target: yTicks)
        x = LinearScale(domain: (xScale.lower, xScale.upper), range: (plot.x, plot.maxX))
        y = LinearScale(domain: (yScale.lower, yScale.upper), range: (plot.maxY, plot.y))
    }

    /// Draws grid lines, both axes with ticks and tick labels, and the axis titles.
    public func drawAxes(into canvas: inout SVGCanvas, xLabel: String?, yLabel: String?, grid: Bool = true,
                         fontSize: Double = 11, xFormat: ((Double) -> String)? = nil, yFormat: ((Double) -> String)? = nil,
                         showYLabels: Bool = true) {
        canvas.group([("class", "axes")]) { g in
            for value in yScale.ticks {
                let py = y(value)
                if grid, value != yScale.lower { g.line(x1: plot.x, y1: py, x2: plot.maxX, y2: py, stroke: Palette.grid) }
                g.line(x1: plot.x - 4, y1: py, x2: plot.x, y2: py, stroke: Palette.axis)
                if showYLabels {
                    g.text(yFormat?(value) ?? yScale.label(value), x: plot.x - 6, y: py + fontSize * 0.35, size: fontSize,
                           anchor: .end, fill: Palette.mutedText)
                }
            }
            for value in xScale.ticks {
                let px = x(value)
                if grid, value != xScale.lower { g.line(x1: px, y1: plot.y, x2: px, y2: plot.maxY, stroke: Palette.grid) }
                g.line(x1: px, y1: plot.maxY, x2: px, y2: plot.maxY + 4, stroke: Palette.axis)
                g.text(xFormat?(value) ?? xScale.label(value), x: px, y: plot.maxY + 6 + fontSize, size: fontSize,
                       anchor: .middle, fill: Palette.mutedText)
            }
            g.line(x1: plot.x, y1: plot.maxY, x2: plot.maxX, y2: plot.maxY, stroke: Palette.axis)
            g.line(x1: plot.x, y1: plot.y, x2: plot.x, y2: plot.maxY, stroke: Palette.axis)
            if let xLabel {
                g.text(xLabel, x: plot.midX, y: plot.maxY + 2 * fontSize + 14, size: fontSize + 1, anchor: .middle)
            }
            if let yLabel {
                let px = plot.x - 44
                g.text(yLabel, x: px, y: plot.midY, size: fontSize + 1, anchor: .middle, rotation: -90)
            }
        }
    }

    /// A vertical marker line across the plot with a label at its top (e.g. a threshold).
    public func drawVerticalMarker(into canvas: inout SVGCanvas, at value: Double, label: String, color: String = Palette.black) {
        let px = x(value)
        canvas.line(x1: px, y1: plot.y, x2: px, y2: plot.maxY, stroke: color, width: 1.5, dash: "5 3")
        // The label goes on the side with more room, so it stays inside the plot.
        let leftSide = px > plot.midX
        canvas.text(label, x: px + (leftSide ? -4 : 4), y: plot.y + 12, size: 11, anchor: leftSide ? .end : .start,
                    weight: "bold", fill: color)
    }
}

extension NiceScale {
    /// A scale whose range is exactly `lower…upper` (e.g. 0…1 for a share), ticked at the nice
    /// multiples inside it.
    public static func exact(_ lower: Double, _ upper: Double, target: Int = 5) -> NiceScale {
        let nice = NiceScale(lower, upper, target: target)
        return NiceScale(lower: lower, upper: upper, step: nice.step,
                         ticks: nice.ticks.filter { $0 >= lower - nice.step * 1e-9 && $0 <= upper + nice.step * 1e-9 })
    }
}

extension NiceScale {
    init(lower: Double, upper: Double, step: Double, ticks: [Double]) {
        self.lower = lower
        self.upper = upper
        self.step = step
        self.ticks = ticks
    }
}

/// A chart legend: swatches and names in a row that wraps to the given width.
public struct Legend: Sendable {
    /// How an entry's swatch looks.
    public enum Swatch: Sendable {
        case fill(String)
        case line(String, dash: String?)
        case marker(String)
    }
    public var entries: [(name: String, swatch: Swatch)]

    public init(_ entries: [(name: String, swatch: Swatch)]) { self.entries = entries }

    /// An estimate of the width of `text` at `size` (no font metrics are available when writing a file).
    /// 0.6 em per character is on the generous side for sans-serif text, so that neighbours never touch.
    public static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.6 }

    /// Draws the legend starting at (`x`, `y`: the middle of the first row), wrapping before `maxX`.
    /// Returns the number of rows used.
    @discardableResult
    public func draw(into canvas: inout SVGCanvas, x: Double, y: Double, maxX: Double, size: Double = 11) -> Int {
        var px = x, py = y, rows = 1
        for entry in entries {
            let width = 22 + Self.textWidth(entry.name, size: size) + 18
            if px + width > maxX, px > x {
                px = x
                py += size + 6
                rows += 1
            }
            switch entry.swatch {
            case .fill(let color): canvas.rect(Rect(x: px, y: py - 5, width: 16, height: 10), fill: color, stroke: color, opacity: 0.55)
            case .line(let color, let dash): canvas.line(x1: px, y1: py, x2: px + 16, y2: py, stroke: color, width: 2.5, dash: dash)
            case .marker(let color): canvas.circle(x: px + 8, y: py, radius: 4.5, fill: color, stroke: "#ffffff")
            }
            canvas.text(entry.name, x: px + 21, y: py + size * 0.35, size: size)
            px += width
        }
        return rows
    }
}
