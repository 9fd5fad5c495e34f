import Foundation

/// Synthetic non-digits drawn with a pen: a few random curved strokes, prepared the way MNIST digits
/// were (scaled so the ink's longer side fills the 20/28 box, centred by mass), for outlier exposure.
///
/// Tiles of shuffled digits (`SyntheticOutliers.tileShuffled`) teach a network that broken strokes are not
/// digits; they say nothing about whole, smooth, connected strokes that form no digit — the letters,
/// symbols and scribbles a person draws. These outliers have the ink statistics of handwriting (pen width,
/// curvature, two to four connected or crossing strokes, the MNIST framing) and no digit's shape except by
/// rare chance. They are made from random numbers only, never from letters or any real set, so a model
/// trained against them can be measured on real letters and symbols without having seen any.
public enum StrokeOutliers {
    /// One stroke outlier in the `[channels, height, width]` image at `destination` (every channel the same
    /// white-on-black plane; `height`, `width` ≥ 8).
    public static func draw(into destination: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
                            generator: inout RandomGenerator) {
        let plane = height * width
        destination.initialize(repeating: 0, count: channels * plane)
        let strokes = path(generator: &generator)
        // Fit the ink's bounding box into the MNIST box (20 of 28 pixels) keeping its aspect ratio.
        var (minX, maxX, minY, maxY) = (Float.infinity, -Float.infinity, Float.infinity, -Float.infinity)
        for stroke in strokes {
            for point in stroke {
                minX = min(minX, point.x); maxX = max(maxX, point.x)
                minY = min(minY, point.y); maxY = max(maxY, point.y)
            }
        }
        let side = Float(min(height, width))
        let box = side * 20 / 28
        let penWidth = (1.6 + 1.8 * generator.uniform()) * side / 28
        let scale = (box - penWidth) / max(maxX - minX, maxY - minY, 1e-3)
        let (centreX, centreY) = ((minX + maxX) / 2, (minY + maxY) / 2)
        for stroke in strokes {
            let points = stroke.map { SIMD2<Float>((($0.x - centreX) * scale) + Float(width) / 2, (($0.y - centreY) * scale) + Float(height) / 2) }
            drawPolyline(points, width: penWidth, into: destination, height: height, width: width)
        }
        centreByMass(destination, height: height, width: width)
        for channel in 1..<max(channels, 1) { (destination + channel * plane).update(from: destination, count: plane) }
    }

    /// Two to four strokes in arbitrary units (one alone is too often a 1, a 7 or a 0): each a random walk of unit steps whose heading turns with a
    /// slowly drifting curvature (straight lines, arcs, hooks) and now and then at a sharp corner, as
    /// the strokes of letters and symbols do; later strokes start on or near the ink already drawn, as a
    /// pen is put down again beside what it wrote.
    static func path(generator: inout RandomGenerator) -> [[SIMD2<Float>]] {
        let strokeCount = 2 + generator.integer(below: 3)
        var strokes: [[SIMD2<Float>]] = []
        for _ in 0..<strokeCount {
            var point = SIMD2<Float>(0, 0)
            if let previous = strokes.last, !previous.isEmpty {
                point = previous[generator.integer(below: previous.count)]
                    + SIMD2<Float>(generator.uniform() * 6 - 3, generator.uniform() * 6 - 3)
            }
            var heading = generator.uniform() * 2 * .pi
            var curvature = (generator.uniform() * 2 - 1) * 0.3
            let steps = 5 + generator.integer(below: 18)
            var stroke = [point]
            for _ in 0..<steps {
                curvature = max(-0.35, min(0.35, curvature + (generator.uniform() * 2 - 1) * 0.08))
                heading += curvature
                if generator.uniform() < 0.08 {
                    // A corner of 60° to 150° either way.
                    heading += (generator.integer(below: 2) == 0 ? 1 : -1) * (1.05 + 1.57 * generator.uniform())
                }
                point += SIMD2<Float>(Float(Foundation.cos(Double(heading))), Float(Foundation.sin(Double(heading))))
                stroke.append(point)
            }
            strokes.append(stroke)
        }
        return strokes
    }

    /// Draws the polyline `points` with a round pen of `width` pixels, anti-aliased (a pixel's value is its
    /// centre's distance inside the pen's edge, clamped to [0, 1]); ink already there is kept (max).
    static func drawPolyline(_ points: [SIMD2<Float>], width penWidth: Float, into plane: UnsafeMutablePointer<Float>,
                             height: Int, width: Int) {
        let radius = penWidth / 2
        for index in 0..<max(points.count - 1, 1) {
            let a = points[index], b = points[min(index + 1, points.count - 1)]
            let low = SIMD2<Float>(min(a.x, b.x), min(a.y, b.y)) - radius - 1
            let high = SIMD2<Float>(max(a.x, b.x), max(a.y, b.y)) + radius + 1
            let (x0, x1) = (max(0, Int(low.x.rounded(.down))), min(width - 1, Int(high.x.rounded(.up))))
            let (y0, y1) = (max(0, Int(low.y.rounded(.down))), min(height - 1, Int(high.y.rounded(.up))))
            guard x0 <= x1, y0 <= y1 else { continue }
            let segment = b - a
            let length2 = max((segment * segment).sum(), 1e-12)
            for y in y0...y1 {
                for x in x0...x1 {
                    let p = SIMD2<Float>(Float(x) + 0.5, Float(y) + 0.5) - a
                    let t = max(0, min(1, (p * segment).sum() / length2))
                    let offset = p - t * segment
                    let value = max(0, min(1, radius + 0.5 - (offset * offset).sum().squareRoot()))
                    plane[y * width + x] = max(plane[y * width + x], value)
                }
            }
        }
    }

    /// Shifts the plane by whole pixels so that its centre of mass lands at its centre (MNIST's framing).
    static func centreByMass(_ plane: UnsafeMutablePointer<Float>, height: Int, width: Int) {
        var (mass, sumX, sumY) = (Float(0), Float(0), Float(0))
        for y in 0..<height {
            for x in 0..<width {
                let value = plane[y * width + x]
                mass += value; sumX += value * (Float(x) + 0.5); sumY += value * (Float(y) + 0.5)
            }
        }
        guard mass > 0 else { return }
        let dx = Int((Float(width) / 2 - sumX / mass).rounded()), dy = Int((Float(height) / 2 - sumY / mass).rounded())
        guard dx != 0 || dy != 0 else { return }
        let copy = Array(UnsafeBufferPointer(start: plane, count: height * width))
        plane.update(repeating: 0, count: height * width)
        for y in 0..<height where (0..<height).contains(y + dy) {
            for x in 0..<width where (0..<width).contains(x + dx) {
                plane[(y + dy) * width + x + dx] = copy[y * width + x]
            }
        }
    }
}
