import BNN

/// Turns any grey image into the 28×28 input an MNIST model expects.
///
/// The steps follow MNIST's own preparation (LeCun et al. 1998: digits "size normalized to fit in a
/// 20x20 pixel box while preserving their aspect ratio", anti-aliased, then "centered in a 28x28 image
/// by computing the center of mass of the pixels"):
/// 1. Polarity: the background level is the median of the border pixels; when it is light (> 0.5), a
///    dark digit on light paper, the image is inverted so the digit is white on black, as in MNIST.
/// 2. Background and contrast: `v ← (v − background) / (max − background)`, clamped to [0, 1], so the
///    background is 0 and the strongest ink is 1. An image with no contrast (max − background below
///    `minimumContrast`) is blank and gives all zeros; the caller decides what that means.
/// 3. Crop to the bounding box of pixels above `inkThreshold` (faint noise below it does not widen the box).
/// 4. Scale so the longer side is 20 pixels, preserving the aspect ratio, by area averaging: each
///    output pixel is the mean of the input area it covers (exact box filter, i.e. anti-aliasing).
/// 5. Paste into a 28×28 field so the centre of mass lands at (14, 14) in pixel-index coordinates,
///    using the nearest whole-pixel shift; ink pushed outside the field is dropped. (Measured on the
///    MNIST test set, its digits' centres of mass lie between 13.5 and 14.4, around 14, not at 13.5.)
/// 6. Clamp to [0, 1].
public enum DigitNormalizer {
    /// The output side (28) and the box the digit is scaled into (20).
    public static let side = 28
    public static let box = 20

    /// The 784 row-major values in [0, 1] of `image` prepared as an MNIST digit (all zeros when blank).
    public static func normalize(_ image: GreyImage, inkThreshold: Float = 0.05, minimumContrast: Float = 0.05) -> [Float] {
        let width = image.width, height = image.height
        var output = [Float](repeating: 0, count: side * side)
        guard width > 0, height > 0 else { return output }

        // 1. Polarity from the border's median.
        var border: [Float] = []
        for x in 0..<width { border.append(image[x, 0]); border.append(image[x, height - 1]) }
        for y in 0..<height { border.append(image[0, y]); border.append(image[width - 1, y]) }
        border.sort()
        var background = border[border.count / 2]
        var pixels = image.pixels.map { $0.isNaN ? 0 : min(1, max(0, $0)) }
        if background > 0.5 {
            for index in pixels.indices { pixels[index] = 1 - pixels[index] }
            background = 1 - background
        }

        // 2. Background to 0, strongest ink to 1.
        let strongest = pixels.max() ?? 0
        let contrast = strongest - background
        guard contrast >= minimumContrast else { return output }
        for index in pixels.indices { pixels[index] = min(1, max(0, (pixels[index] - background) / contrast)) }

        // 3. Bounding box of ink.
        var left = width, right = -1, top = height, bottom = -1
        for y in 0..<height {
            for x in 0..<width where pixels[y * width + x] > inkThreshold {
                left = min(left, x); right = max(right, x); top = min(top, y); bottom = max(bottom, y)
            }
        }
        guard right >= left, bottom >= top else { return output }
        let boxWidth = right - left + 1, boxHeight = bottom - top + 1

        // 4. Area-average into at most 20×20, preserving the aspect ratio.
        let scale = Double(box) / Double(max(boxWidth, boxHeight))
        let targetWidth = max(1, min(box, Int((Double(boxWidth) * scale).rounded())))
        let targetHeight = max(1, min(box, Int((Double(boxHeight) * scale).rounded())))
        let scaled = areaAverage(pixels, width: width, left: left, top: top, sourceWidth: boxWidth, sourceHeight: boxHeight,
                                 targetWidth: targetWidth, targetHeight: targetHeight)

        // 5. Centre of mass to the middle of the 28×28 field.
        var mass: Double = 0, sumX: Double = 0, sumY: Double = 0
        for y in 0..<targetHeight {
            for x in 0..<targetWidth {
                let value = Double(scaled[y * targetWidth + x])
                mass += value; sumX += value * Double(x); sumY += value * Double(y)
            }
        }
        guard mass > 0 else { return output }
        let centre = Double(side) / 2
        let offsetX = Int((centre - sumX / mass).rounded())
        let offsetY = Int((centre - sumY / mass).rounded())
        for y in 0..<targetHeight {
            let outY = y + offsetY
            guard outY >= 0 && outY < side else { continue }
            for x in 0..<targetWidth {
                let outX = x + offsetX
                guard outX >= 0 && outX < side else { continue }
                // 6. Clamp.
                output[outY * side + outX] = min(1, max(0, scaled[y * targetWidth + x]))
            }
        }
        return output
    }

    /// Resamples the `sourceWidth`×`sourceHeight` region at (`left`, `top`) of a row-major image of
    /// `width` columns to `targetWidth`×`targetHeight` by exact area averaging (box filter).
    static func areaAverage(_ pixels: [Float], width: Int, left: Int, top: Int, sourceWidth: Int, sourceHeight: Int,
                            targetWidth: Int, targetHeight: Int) -> [Float] {
        // The weight of each source column in each target column (and likewise for rows).
        func weights(source: Int, target: Int) -> [[(Int, Double)]] {
            let step = Double(source) / Double(target)
            return (0..<target).map { t in
                let start = Double(t) * step, end = Double(t + 1) * step
                var list: [(Int, Double)] = []
                var s = Int(start.rounded(.down))
                while Double(s) < end && s < source {
                    let overlap = min(end, Double(s + 1)) - max(start, Double(s))
                    if overlap > 1e-12 { list.append((s, overlap / step)) }
                    s += 1
                }
                return list
            }
        }
        let columnWeights = weights(source: sourceWidth, target: targetWidth)
        let rowWeights = weights(source: sourceHeight, target: targetHeight)
        var result = [Float](repeating: 0, count: targetWidth * targetHeight)
        for ty in 0..<targetHeight {
            for tx in 0..<targetWidth {
                var sum: Double = 0
                for (sy, wy) in rowWeights[ty] {
                    let rowBase = (top + sy) * width + left
                    for (sx, wx) in columnWeights[tx] { sum += wy * wx * Double(pixels[rowBase + sx]) }
                }
                result[ty * targetWidth + tx] = Float(sum)
            }
        }
        return result
    }
}
