import Foundation

/// Random changes of a training image's shape that keep its class: a rotation, a shear, a change of
/// aspect ratio and of stroke thickness, as between one hand (or one font) and another.
///
/// Meant for images of ink on a black background such as MNIST's (outside the source image counts as
/// background 0). The transformed image keeps its centre of mass and the longer side of its ink's
/// bounding box (as it is after any thickness change), so that it stays framed the way the set's images
/// are (for MNIST: in the 20×20 box, centred by mass): only the shape changes, as it would between two
/// writers after MNIST's normalisation.
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

    public init(probability: Float, rotationDegrees: Float, shear: Float, aspect: Float, thicknessProbability: Float) {
        self.probability = probability
        self.rotationDegrees = rotationDegrees
        self.shear = shear
        self.aspect = aspect
        self.thicknessProbability = thicknessProbability
    }

    /// The setting for handwritten and printed digits (docs/recipes.md, "Letters, symbols and unusual
    /// digits", has the runs with it): half the images changed, rotations to ±12° (printed digits come
    /// rotated that much), shears to ±0.3 (italic type), aspect to e^±0.2, thickness changed on half.
    public static let digits = ImageAugmentation(probability: 0.5, rotationDegrees: 12, shear: 0.3, aspect: 0.2,
                                                 thicknessProbability: 0.5)

    /// The first setting out of range, or nil.
    public var invalidSetting: String? {
        func inUnit(_ value: Float) -> Bool { value.isFinite && (0...1).contains(value) }
        if !inUnit(probability) { return "probability is \(probability); must be in 0…1" }
        if !(rotationDegrees.isFinite && (0...180).contains(rotationDegrees)) { return "rotationDegrees is \(rotationDegrees); must be in 0…180" }
        if !(shear.isFinite && (0...2).contains(shear)) { return "shear is \(shear); must be in 0…2" }
        if !(aspect.isFinite && (0...1).contains(aspect)) { return "aspect is \(aspect); must be in 0…1" }
        if !inUnit(thicknessProbability) { return "thicknessProbability is \(thicknessProbability); must be in 0…1" }
        return nil
    }

    /// Changes the `[channels, height, width]` image at `image` in place (with probability `probability`);
    /// `scratch` holds at least `channels · height · width` values.
    public func apply(to image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
                      scratch: UnsafeMutablePointer<Float>, generator: inout RandomGenerator) {
        guard generator.uniform() < probability else { return }
        let plane = height * width
        if generator.uniform() < thicknessProbability {
            let thicker = generator.integer(below: 2) == 0
            let strength = 0.3 + 0.6 * generator.uniform()
            for channel in 0..<channels {
                Self.changeThickness(image + channel * plane, height: height, width: width, thicker: thicker,
                                     strength: strength, scratch: scratch)
            }
        }
        let angle = (generator.uniform() * 2 - 1) * rotationDegrees * .pi / 180
        let shearing = (generator.uniform() * 2 - 1) * shear
        let stretch = Float(Foundation.exp(Double((generator.uniform() * 2 - 1) * aspect)))
        // A = R(angle) · [[1, shearing], [0, 1]] · diag(stretch, 1/stretch), mapping source to output offsets.
        let (c, s) = (Float(Foundation.cos(Double(angle))), Float(Foundation.sin(Double(angle))))
        let a00 = c * stretch, a01 = (c * shearing - s) / stretch
        let a10 = s * stretch, a11 = (s * shearing + c) / stretch
        // Centre of mass and ink extent (over every channel's ink) before and after A.
        var (mass, centreX, centreY) = (Float(0), Float(0), Float(0))
        for channel in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let value = image[channel * plane + y * width + x]
                    mass += value; centreX += value * Float(x); centreY += value * Float(y)
                }
            }
        }
        guard mass > 0 else { return }
        centreX /= mass; centreY /= mass
        var before = (Float.infinity, -Float.infinity, Float.infinity, -Float.infinity)
        var after = before
        for channel in 0..<channels {
            for y in 0..<height {
                for x in 0..<width where image[channel * plane + y * width + x] > 0.1 {
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
        for channel in 0..<channels {
            let source = scratch + channel * plane, output = image + channel * plane
            for y in 0..<height {
                for x in 0..<width {
                    let (qx, qy) = (Float(x) - centreX, Float(y) - centreY)
                    let sx = centreX + i00 * qx + i01 * qy, sy = centreY + i10 * qx + i11 * qy
                    output[y * width + x] = Self.bilinear(source, height: height, width: width, x: sx, y: sy)
                }
            }
        }
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
