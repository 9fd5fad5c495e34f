/// Equal-width histograms: binning, and drawing one or more overlaid series.
public enum Histogram {
    /// One data series of a histogram.
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]
        public var color: String

        public init(name: String, values: [Double], color: String) {
            self.name = name
            self.values = values
            self.color = color
        }
    }

    /// Counts of `values` in `bins` equal bins over `lower…upper`. Values outside the range go into the
    /// end bins (so nothing silently disappears; charts say where they clip); NaN is skipped.
    public static func counts(_ values: [Double], lower: Double, upper: Double, bins: Int) -> [Int] {
        precondition(bins >= 1 && upper > lower, "need bins ≥ 1 and lower < upper, got \(bins) bins over \(lower)…\(upper)")
        var counts = [Int](repeating: 0, count: bins)
        let width = (upper - lower) / Double(bins)
        for value in values where !value.isNaN {
            let position = ((value - lower) / width).rounded(.down)
            let index = position.isFinite ? Int(min(max(position, 0), Double(bins - 1))) : (value > 0 ? bins - 1 : 0)
            counts[index] += 1
        }
        return counts
    }

    /// Draws `series` as overlaid step outlines over translucent bars, each normalised to the share of its
    /// own values per bin (sets of different sizes stay comparable). The x range is widened to nice ticks
    /// unless `exactX`; bins cover the (widened) range.
    public static func draw(into canvas: inout SVGCanvas, bounds: Rect, series: [Series], range: (Double, Double),
                            bins: Int, xLabel: String, yLabel: String = "share of inputs", title: String? = nil,
                            markers: [(value: Double, label: String)] = [], exactX: Bool = false,
                            margins: ChartFrame.Margins = ChartFrame.Margins()) {
        let probe = exactX ? NiceScale.exact(range.0, range.1) : NiceScale(range.0, range.1, target: 6)
        let shares: [[Double]] = series.map { s in
            let counts = Self.counts(s.values, lower: probe.lower, upper: probe.upper, bins: bins)
            let total = Double(max(counts.reduce(0, +), 1))
            return counts.map { Double($0) / total }
        }
        let top = max(shares.flatMap { $0 }.max() ?? 1, 0.01)
        let frame = ChartFrame(bounds: bounds, x: (probe.lower, probe.upper), y: (0, top), margins: margins,
                               exactX: true, exactY: false)
        if let title { canvas.text(title, x: bounds.x + 4, y: bounds.y + 14, size: 13, weight: "bold") }
        frame.drawAxes(into: &canvas, xLabel: xLabel, yLabel: yLabel,
                       yFormat: { value in NiceScale(0, top).step < 0.01 ? String(format: "%.1f%%", value * 100) : String(format: "%.0f%%", value * 100) })
        let width = (probe.upper - probe.lower) / Double(bins)
        for (index, s) in series.enumerated() {
            canvas.group([("class", "series"), ("data-series", s.name)]) { g in
                var outline: [(Double, Double)] = [(frame.x(probe.lower), frame.y(0))]
                for (k, share) in shares[index].enumerated() {
                    let left = frame.x(probe.lower + Double(k) * width), right = frame.x(probe.lower + Double(k + 1) * width)
                    let py = frame.y(share)
                    if share > 0 {
                        g.rect(Rect(x: left, y: py, width: right - left, height: frame.y(0) - py), fill: s.color, opacity: 0.3)
                    }
                    outline.append((left, py))
                    outline.append((right, py))
                }
                outline.append((frame.x(probe.upper), frame.y(0)))
                g.polyline(outline, stroke: s.color, width: 1.6, dash: Palette.dash(index))
            }
        }
        for marker in markers { frame.drawVerticalMarker(into: &canvas, at: marker.value, label: marker.label) }
        if series.count > 1 || !markers.isEmpty {
            var entries = series.enumerated().map { (name: $1.name, swatch: Legend.Swatch.line($1.color, dash: Palette.dash($0))) }
            if let first = markers.first { entries.append((name: first.label, swatch: .line(Palette.black, dash: "5 3"))) }
            Legend(entries).draw(into: &canvas, x: frame.plot.x, y: bounds.y + (title == nil ? 14 : 32), maxX: bounds.maxX)
        }
    }
}
