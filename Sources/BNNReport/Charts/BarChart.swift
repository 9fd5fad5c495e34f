/// Bar charts whose bars span x intervals (bins), e.g. a reliability diagram.
public enum BarChart {
    /// One bar over `lower…upper` of height `value`; `tooltip` is shown on hover in a browser, `label`
    /// (e.g. how many examples the bin holds) is written above the bar.
    public struct Bar: Sendable {
        public var lower: Double
        public var upper: Double
        public var value: Double
        public var tooltip: String?
        public var label: String?

        public init(lower: Double, upper: Double, value: Double, tooltip: String? = nil, label: String? = nil) {
            self.lower = lower
            self.upper = upper
            self.value = value
            self.tooltip = tooltip
            self.label = label
        }
    }

    /// Draws `bars` (non-finite values are skipped: an empty bin has no bar) and any `lines` over them.
    public static func draw(into canvas: inout SVGCanvas, bounds: Rect, bars: [Bar], barName: String, color: String = Palette.blue,
                            lines: [LineChart.Series] = [], xLabel: String, yLabel: String, title: String? = nil,
                            xRange: (Double, Double), yRange: (Double, Double), exact: Bool = true,
                            margins: ChartFrame.Margins = ChartFrame.Margins()) {
        let frame = ChartFrame(bounds: bounds, x: xRange, y: yRange, margins: margins, exactX: exact, exactY: exact)
        if let title { canvas.text(title, x: bounds.x + 4, y: bounds.y + 14, size: 13, weight: "bold") }
        frame.drawAxes(into: &canvas, xLabel: xLabel, yLabel: yLabel)
        canvas.group([("class", "bars"), ("data-series", barName)]) { g in
            for bar in bars where bar.value.isFinite {
                let left = frame.x(bar.lower) + 0.5, right = frame.x(bar.upper) - 0.5
                let top = frame.y(bar.value)
                g.rect(Rect(x: left, y: top, width: right - left, height: frame.y(frame.yScale.lower) - top),
                       fill: color, stroke: color, opacity: 0.6, tooltip: bar.tooltip)
            }
        }
        canvas.group([("class", "bar-labels")]) { g in
            for bar in bars where bar.value.isFinite {
                guard let label = bar.label else { continue }
                g.text(label, x: (frame.x(bar.lower) + frame.x(bar.upper)) / 2, y: frame.y(bar.value) - 3, size: 9,
                       anchor: .middle, fill: Palette.mutedText)
            }
        }
        for s in lines {
            canvas.polyline(s.points.map { (frame.x($0.x), frame.y($0.y)) }, stroke: s.color, width: 1.5, dash: s.dash)
        }
        let entries = [(name: barName, swatch: Legend.Swatch.fill(color))] + lines.map { (name: $0.name, swatch: Legend.Swatch.line($0.color, dash: $0.dash)) }
        Legend(entries).draw(into: &canvas, x: frame.plot.x, y: bounds.y + (title == nil ? 12 : 32), maxX: bounds.maxX)
    }
}
