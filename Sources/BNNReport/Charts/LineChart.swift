/// Line charts of one or more (x, y) series, with optional highlighted points.
public enum LineChart {
    /// One line.
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        public var dash: String?
        /// Draw a dot at every point (for short series such as one value per epoch).
        public var dots: Bool

        public init(name: String, points: [(x: Double, y: Double)], color: String, dash: String? = nil, dots: Bool = false) {
            self.name = name
            self.points = points
            self.color = color
            self.dash = dash
            self.dots = dots
        }
    }

    /// A labelled point drawn over the lines (e.g. a rule's operating point).
    public struct Point: Sendable {
        public var name: String
        public var x: Double
        public var y: Double
        public var color: String

        public init(name: String, x: Double, y: Double, color: String) {
            self.name = name
            self.x = x
            self.y = y
            self.color = color
        }
    }

    /// Draws the series in `bounds` with axes and a legend above the plot. Ranges default to the data's
    /// (widened to nice ticks); pass `xRange`/`yRange` to fix them. Points outside a fixed range are clamped to its edge.
    public static func draw(into canvas: inout SVGCanvas, bounds: Rect, series: [Series], points: [Point] = [],
                            xLabel: String, yLabel: String, title: String? = nil,
                            xRange: (Double, Double)? = nil, yRange: (Double, Double)? = nil,
                            exactX: Bool = false, exactY: Bool = false, integerX: Bool = false, yFormat: ((Double) -> String)? = nil,
                            extraLegend: [(name: String, swatch: Legend.Swatch)] = [],
                            margins: ChartFrame.Margins = ChartFrame.Margins(),
                            drawBehind: ((inout SVGCanvas, ChartFrame) -> Void)? = nil) {
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite) + points.map(\.x)
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite) + points.map(\.y)
        let frame = ChartFrame(bounds: bounds, x: xRange ?? (xs.min() ?? 0, xs.max() ?? 1), y: yRange ?? (ys.min() ?? 0, ys.max() ?? 1),
                               margins: margins, exactX: exactX, exactY: exactY, integerX: integerX)
        if let title { canvas.text(title, x: bounds.x + 4, y: bounds.y + 14, size: 13, weight: "bold") }
        frame.drawAxes(into: &canvas, xLabel: xLabel, yLabel: yLabel, yFormat: yFormat)
        drawBehind?(&canvas, frame)
        for s in series {
            canvas.group([("class", "series"), ("data-series", s.name)]) { g in
                let finite = s.points.filter { $0.x.isFinite && $0.y.isFinite }
                g.polyline(finite.map { (frame.x($0.x), frame.y($0.y)) }, stroke: s.color, width: 2, dash: s.dash)
                if s.dots || finite.count == 1 {
                    for p in finite { g.circle(x: frame.x(p.x), y: frame.y(p.y), radius: 3, fill: s.color) }
                }
            }
        }
        for p in points {
            canvas.circle(x: frame.x(p.x), y: frame.y(p.y), radius: 5.5, fill: p.color, stroke: "#ffffff", tooltip: p.name)
        }
        var entries = series.map { (name: $0.name, swatch: Legend.Swatch.line($0.color, dash: $0.dash)) }
        entries += points.map { (name: $0.name, swatch: Legend.Swatch.marker($0.color)) }
        entries += extraLegend
        if !entries.isEmpty {
            Legend(entries).draw(into: &canvas, x: frame.plot.x, y: bounds.y + (title == nil ? 12 : 32), maxX: bounds.maxX)
        }
    }
}
