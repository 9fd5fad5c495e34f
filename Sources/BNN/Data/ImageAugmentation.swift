import Foundation

/// Random changes of a training image's shape that keep its class: a rotation, a shear, a change of
/// aspect ratio and of stroke thickness, as between one hand (or one font) and another, and optionally an
/// elastic distortion (a smooth random warp: strokes that bend, curl or bulge a little).
///
/// Meant for images of ink on a black background such as MNIST's (outside the source image counts as
/// background 0). The transformed image keeps its centre of mass and the longer side of its ink's
/// bounding box (as it is after any thickness change), so that it stays framed the way the set's images
/// are (for MNIST: in the 20×20 box, centred by mass): only the shape changes, as it would between two
/// writers after MNIST's normalisation. The elastic warp keeps the centre of mass to first order and
/// moves the ink's ends by a pixel or two.
/// Simard, Steinkraus & Platt (2003) showed such distortions help a network on MNIST; here they are meant
/// to let digits in unusual hands and fonts be learned rather than refused.
public struct ImageAugmentation: Codable, Sendable, Equatable {
    /// The share of training images changed (the others are seen as they are).
    public var probability: Float
    /// The largest rotation, in degrees (uniform in ±).
    public var rotationDegrees: Float
    /// The largest horizontal shear x ← x + s·y (uniform in ±).
    public var shear: Float
    /// The largest change of aspect ratio, as a log-ratio: width × e^a, height × e^−a, a uniform in ±.
    public var aspect: Float
    /// The chance that a changed image's strokes are also thickened or thinned (each half the time).
    public var thicknessProbability: Float
    /// The elastic distortion of a changed image: the standard deviation of its control points'
    /// displacements, as a share of the image's longer side (0: none). The warp is a cubic B-spline
    /// through control points `elasticSpacing` of the longer side apart, each displaced by an independent
    /// Normal draw per axis; between them the displacement varies smoothly, so strokes bend rather than
    /// break, as in Simard, Steinkraus & Platt (2003, section 2)'s Gaussian-smoothed random fields.
    public var elastic: Float

    /// The distance between an elastic distortion's control points, as a share of the image's longer side:
    /// 7 pixels of MNIST's 28, the reach of Simard et al.'s smoothing (σ = 4 pixels; correlation length σ√2).
    public static let elasticSpacing: Float = 0.25

    public init(probability: Float, rotationDegrees: Float, shear: Float, aspect: Float, thicknessProbability: Float,
                elastic: Float = 0) {
        self.probability = probability
        self.rotationDegrees = rotationDegrees
        self.shear = shear
        self.aspect = aspect
        self.thicknessProbability = thicknessProbability
        self.elastic = elastic
    }

    /// The setting for handwritten and printed digits (docs/recipes.md, "Letters, symbols and unusual
    /// digits", has the runs with it): half the images changed, rotations to ±12° (printed digits come
    /// rotated that much), shears to ±0.3 (italic type), aspect to e^±0.2, thickness changed on half.
    public static let digits = ImageAugmentation(probability: 0.5, rotationDegrees: 12, shear: 0.3, aspect: 0.2,
                                                 thicknessProbability: 0.5)

    private enum CodingKeys: String, CodingKey {
        case probability, rotationDegrees, shear, aspect, thicknessProbability, elastic
    }

    /// Reads a stored setting; one stored before `elastic` existed has no elastic distortion.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(probability: try container.decode(Float.self, forKey: .probability),
                  rotationDegrees: try container.decode(Float.self, forKey: .rotationDegrees),
                  shear: try container.decode(Float.self, forKey: .shear),
                  aspect: try container.decode(Float.self, forKey: .aspect),
                  thicknessProbability: try container.decode(Float.self, forKey: .thicknessProbability),
                  elastic: try container.decodeIfPresent(Float.self, forKey: .elastic) ?? 0)
    }

    /// Stores the setting; `elastic` only when there is one, so a setting without it is stored as before.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(probability, forKey: .probability)
        try container.encode(rotationDegrees, forKey: .rotationDegrees)
        try container.encode(shear, forKey: .shear)
        try container.encode(aspect, forKey: .aspect)
        try container.encode(thicknessProbability, forKey: .thicknessProbability)
        if elastic != 0 { try container.encode(elastic, forKey: .elastic) }
    }

    /// The digit setting with an elastic distortion: control points displaced by 0.07 of the side (2 pixels
    /// of 28), which leaves a displacement field of about 1.4 pixels' standard deviation, Simard et al.'s
    /// (α = 34, σ = 4 on MNIST). Not chosen on any evaluation set: it is the published setting.
    public static let digitsElastic = ImageAugmentation(probability: 0.5, rotationDegrees: 12, shear: 0.3, aspect: 0.2,
                                                        thicknessProbability: 0.5, elastic: 0.07)

    /// The first setting out of range, or nil.
    public var invalidSetting: String? {
        func inUnit(_ value: Float) -> Bool { value.isFinite && (0...1).contains(value) }
        if !inUnit(probability) { return "probability is \(probability); must be in 0…1" }
        if !(rotationDegrees.isFinite && (0...180).contains(rotationDegrees)) { return "rotationDegrees is \(rotationDegrees); must be in 0…180" }
        if !(shear.isFinite && (0...2).contains(shear)) { return "shear is \(shear); must be in 0…2" }
        if !(aspect.isFinite && (0...1).contains(aspect)) { return "aspect is \(aspect); must be in 0…1" }
        if !inUnit(thicknessProbability) { return "thicknessProbability is \(thicknessProbability); must be in 0…1" }
        if !(elastic.isFinite && (0...0.5).contains(elastic)) { return "elastic is \(elastic); must be in 0…0.5" }
        return nil
    }

    /// One image's random draws: whether it is changed, and how. `draw` makes them in order from the
    /// generator and `apply(_:to:…)` changes the image by them, so that a minibatch's draws are made in
    /// sequence (the same stream on any number of threads) and its images changed in parallel.
    public struct Change: Sendable {
        /// Whether the image is changed at all.
        public var isChanged = false
        /// The thickness change: thicker or thinner, by a share of a one-pixel step; nil for none.
        public var thickness: (thicker: Bool, strength: Float)? = nil
        /// The rotation (radians), the horizontal shear and the aspect factor of the affine change.
        public var angle: Float = 0, shearing: Float = 0, stretch: Float = 1
    }

    /// The Float values of an elastic distortion's control points (x and y per point) for an image of this
    /// size: what `draw` writes to its `controls`. 0 without an elastic distortion.
    public func elasticControlCount(height: Int, width: Int) -> Int {
        guard elastic > 0 else { return 0 }
        let grid = Self.elasticGrid(height: height, width: width)
        return 2 * grid.rows * grid.columns
    }

    /// The control grid of an image of this size: the points' spacing in pixels (`elasticSpacing` of the
    /// longer side), and as many rows and columns as cover the image with one point to spare before it and
    /// two after (the cubic B-spline blends four).
    static func elasticGrid(height: Int, width: Int) -> (spacing: Float, rows: Int, columns: Int) {
        let spacing = elasticSpacing * Float(max(height, width))
        return (spacing, Int(Float(height - 1) / spacing) + 4, Int(Float(width - 1) / spacing) + 4)
    }

    /// Draws one image's change: with probability `probability` a change, then whether its strokes are
    /// thickened or thinned and by how much, its rotation, shear and aspect, and, with an elastic
    /// distortion, `elasticControlCount` control-point displacements into `controls` (in pixels).
    public func draw(height: Int, width: Int, controls: UnsafeMutablePointer<Float>,
                     generator: inout RandomGenerator) -> Change {
        var change = Change()
        guard generator.uniform() < probability else { return change }
        change.isChanged = true
        if generator.uniform() < thicknessProbability {
            let thicker = generator.integer(below: 2) == 0
            change.thickness = (thicker, 0.3 + 0.6 * generator.uniform())
        }
        change.angle = (generator.uniform() * 2 - 1) * rotationDegrees * .pi / 180
        change.shearing = (generator.uniform() * 2 - 1) * shear
        change.stretch = Float(Foundation.exp(Double((generator.uniform() * 2 - 1) * aspect)))
        let controlCount = elasticControlCount(height: height, width: width)
        if controlCount > 0 {
            generator.fillNormal(controls, count: controlCount, standardDeviation: elastic * Float(max(height, width)))
        }
        return change
    }

    /// Changes the `[channels, height, width]` image at `image` in place (with probability `probability`);
    /// `scratch` holds at least `channels · height · width` values. The same as `draw` then
    /// `apply(_:to:…)`.
    public func apply(to image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
                      scratch: UnsafeMutablePointer<Float>, generator: inout RandomGenerator) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, elasticControlCount(height: height, width: width))) { controls in
            let change = draw(height: height, width: width, controls: controls.baseAddress!, generator: &generator)
            apply(change, to: image, channels: channels, height: height, width: width,
                  controls: controls.baseAddress!, scratch: scratch)
        }
    }

    /// Changes the `[channels, height, width]` image at `image` in place by `change` (drawn by `draw`, whose
    /// elastic control points are at `controls`); `scratch` holds at least `channels · height · width` values.
    public func apply(_ change: Change, to image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
                      controls: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        guard change.isChanged else { return }
        let plane = height * width
        if let (thicker, strength) = change.thickness {
            for channel in 0..<channels {
                Self.changeThickness(image + channel * plane, height: height, width: width, thicker: thicker,
                                     strength: strength, scratch: scratch)
            }
        }
        let (angle, shearing, stretch) = (change.angle, change.shearing, change.stretch)
        // A = R(angle) · [[1, shearing], [0, 1]] · diag(stretch, 1/stretch), mapping source to output offsets.
        let (c, s) = (Float(Foundation.cos(Double(angle))), Float(Foundation.sin(Double(angle))))
        let a00 = c * stretch, a01 = (c * shearing - s) / stretch
        let a10 = s * stretch, a11 = (s * shearing + c) / stretch
        // Centre of mass and ink extent (over every channel's ink) before and after A. In the same pass: the
        // pixels that are not 0 lie in columns inkLeft…inkRight and rows inkTop…inkBottom; a point more
        // than a pixel outside them samples only zeros, so the resample writes 0 there without the sum.
        let (mass, centreX, centreY) = Self.centreOfMass(image, channels: channels, height: height, width: width)
        guard mass > 0 else { return }
        var before = (Float.infinity, -Float.infinity, Float.infinity, -Float.infinity)
        var after = before
        var (inkLeft, inkRight, inkTop, inkBottom) = (width, -1, height, -1)
        for channel in 0..<channels {
            for y in 0..<height {
                for x in 0..<width where image[channel * plane + y * width + x] != 0 {
                    inkLeft = min(inkLeft, x); inkRight = max(inkRight, x); inkTop = min(inkTop, y); inkBottom = max(inkBottom, y)
                    guard image[channel * plane + y * width + x] > 0.1 else { continue }
                    let (dx, dy) = (Float(x) - centreX, Float(y) - centreY)
                    before = (min(before.0, dx), max(before.1, dx), min(before.2, dy), max(before.3, dy))
                    let (tx, ty) = (a00 * dx + a01 * dy, a10 * dx + a11 * dy)
                    after = (min(after.0, tx), max(after.1, tx), min(after.2, ty), max(after.3, ty))
                }
            }
        }
        guard before.0 <= before.1 else { return }
        let extentBefore = max(before.1 - before.0, before.3 - before.2) + 1
        let extentAfter = max(after.1 - after.0, after.3 - after.2) + 1
        let k = extentBefore / extentAfter
        // The output pixel q takes the source value at centre + (k·A)⁻¹ (q − centre), bilinearly.
        let determinant = a00 * a11 - a01 * a10
        let (i00, i01, i10, i11) = (a11 / (determinant * k), -a01 / (determinant * k), -a10 / (determinant * k), a00 / (determinant * k))
        scratch.update(from: image, count: channels * plane)
        let (left, right) = (Float(inkLeft) - 1, Float(inkRight) + 1), (top, bottom) = (Float(inkTop) - 1, Float(inkBottom) + 1)
        // With an elastic distortion, the source point moves further by the field's displacement at q.
        func resample(displacedBy field: (x: UnsafePointer<Float>, y: UnsafePointer<Float>)?) {
            for channel in 0..<channels {
                let source = scratch + channel * plane, output = image + channel * plane
                for y in 0..<height {
                    for x in 0..<width {
                        let (qx, qy) = (Float(x) - centreX, Float(y) - centreY)
                        var sx = centreX + i00 * qx + i01 * qy, sy = centreY + i10 * qx + i11 * qy
                        if let field { sx += field.x[y * width + x]; sy += field.y[y * width + x] }
                        output[y * width + x] = sx < left || sx >= right || sy < top || sy >= bottom
                            ? 0 : Self.bilinear(source, height: height, width: width, x: sx, y: sy)
                    }
                }
            }
        }
        guard elastic > 0 else { return resample(displacedBy: nil) }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * plane) { field in
            let (fieldX, fieldY) = (field.baseAddress!, field.baseAddress! + plane)
            elasticField(height: height, width: width, controls: controls, x: fieldX, y: fieldY)
            resample(displacedBy: (UnsafePointer(fieldX), UnsafePointer(fieldY)))
            // Where the warp stretches the ink it gains mass and where it squeezes it loses some, so the
            // centre of mass moves. Sampling again with the field shifted by that move
            // puts it back, to first order, as the affine change keeps it.
            let (warpedMass, warpedX, warpedY) = Self.centreOfMass(image, channels: channels, height: height, width: width)
            guard warpedMass > 0 else { return }
            let (shiftX, shiftY) = (warpedX - centreX, warpedY - centreY)
            for index in 0..<plane { fieldX[index] += shiftX; fieldY[index] += shiftY }
            resample(displacedBy: (UnsafePointer(fieldX), UnsafePointer(fieldY)))
        }
    }

    /// An elastic distortion's displacement field, in pixels per axis, into the `height × width` planes
    /// `x` and `y`: the cubic B-spline through a grid of control points `elasticSpacing` of the longer side
    /// apart (covering the image with one point to spare on each side), displaced by `controls` (x then y
    /// per point, row by row, as `draw` makes them). Evaluated separably: per row, the rows of control
    /// points are blended first, then per pixel the four nearest blended columns.
    func elasticField(height: Int, width: Int, controls: UnsafePointer<Float>,
                      x fieldX: UnsafeMutablePointer<Float>, y fieldY: UnsafeMutablePointer<Float>) {
        let (spacing, _, gridColumns) = Self.elasticGrid(height: height, width: width)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * gridColumns + 4 * width) { buffer in
            let blendedX = buffer.baseAddress!, blendedY = blendedX + gridColumns
            let columnWeights = blendedY + gridColumns
            for x in 0..<width {
                let weights = Self.cubicBSplineWeights(Float(x) / spacing).weights
                for k in 0..<4 { columnWeights[4 * x + k] = weights[k] }
            }
            for y in 0..<height {
                let (top, rowWeights) = Self.cubicBSplineWeights(Float(y) / spacing)
                for column in 0..<gridColumns {
                    var (sumX, sumY) = (Float(0), Float(0))
                    for k in 0..<4 {
                        let point = 2 * ((top + k) * gridColumns + column)
                        sumX += rowWeights[k] * controls[point]
                        sumY += rowWeights[k] * controls[point + 1]
                    }
                    blendedX[column] = sumX; blendedY[column] = sumY
                }
                for x in 0..<width {
                    let left = Int(Float(x) / spacing)
                    var (sumX, sumY) = (Float(0), Float(0))
                    for k in 0..<4 {
                        sumX += columnWeights[4 * x + k] * blendedX[left + k]
                        sumY += columnWeights[4 * x + k] * blendedY[left + k]
                    }
                    fieldX[y * width + x] = sumX; fieldY[y * width + x] = sumY
                }
            }
        }
    }

    /// The uniform cubic B-spline at `u` (in control-point spacings from the first point inside the image):
    /// the index of the first of the four control points it blends (the grid's row or column `⌊u⌋`, whose
    /// knot lies one spacing before the image) and their weights, which sum to 1 (de Boor 1978).
    static func cubicBSplineWeights(_ u: Float) -> (first: Int, weights: SIMD4<Float>) {
        let first = Int(u)
        let t = u - Float(first), t2 = t * t, t3 = t2 * t
        let weights = SIMD4<Float>((1 - t) * (1 - t) * (1 - t), 3 * t3 - 6 * t2 + 4, -3 * t3 + 3 * t2 + 3 * t + 1, t3) / 6
        return (first, weights)
    }

    /// The total ink of the `channels` planes at `image` and its centre of mass, in pixel indices (0 when
    /// there is no ink).
    static func centreOfMass(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int) -> (mass: Float, x: Float, y: Float) {
        let plane = height * width
        var (mass, centreX, centreY) = (Float(0), Float(0), Float(0))
        for channel in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let value = image[channel * plane + y * width + x]
                    mass += value; centreX += value * Float(x); centreY += value * Float(y)
                }
            }
        }
        guard mass > 0 else { return (0, 0, 0) }
        return (mass, centreX / mass, centreY / mass)
    }

    /// The value at (`x`, `y`) in pixel-index coordinates, bilinear between the four nearest pixels; 0 outside.
    static func bilinear(_ plane: UnsafePointer<Float>, height: Int, width: Int, x: Float, y: Float) -> Float {
        guard x > -1, y > -1, x < Float(width), y < Float(height) else { return 0 }
        let (x0, y0) = (Int(x.rounded(.down)), Int(y.rounded(.down)))
        let (fx, fy) = (x - Float(x0), y - Float(y0))
        func at(_ column: Int, _ row: Int) -> Float {
            column >= 0 && row >= 0 && column < width && row < height ? plane[row * width + column] : 0
        }
        let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
        let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
        return top * (1 - fy) + bottom * fy
    }

    /// Thickens (grey dilation) or thins (grey erosion) the strokes of a plane by `strength` ∈ (0, 1] of a
    /// one-pixel step: v ← v + strength · (max or min over v and its four neighbours − v); then rescales
    /// the plane so its strongest ink is what it was (MNIST's normalisation, and `bnn predict`'s, brings
    /// the strongest ink to full scale, so a thin stroke is thin, not faint).
    static func changeThickness(_ plane: UnsafeMutablePointer<Float>, height: Int, width: Int, thicker: Bool, strength: Float,
                                scratch: UnsafeMutablePointer<Float>) {
        let count = height * width
        scratch.update(from: plane, count: count)
        var peakBefore: Float = 0, peakAfter: Float = 0
        for index in 0..<count { peakBefore = max(peakBefore, plane[index]) }
        for y in 0..<height {
            for x in 0..<width {
                let index = y * width + x
                var extreme = scratch[index]
                func include(_ value: Float) { extreme = thicker ? max(extreme, value) : min(extreme, value) }
                if x > 0 { include(scratch[index - 1]) }
                if x + 1 < width { include(scratch[index + 1]) }
                if y > 0 { include(scratch[index - width]) }
                if y + 1 < height { include(scratch[index + width]) }
                plane[index] += strength * (extreme - plane[index])
                peakAfter = max(peakAfter, plane[index])
            }
        }
        if peakAfter > 0 { for index in 0..<count { plane[index] *= peakBefore / peakAfter } }
    }
}
