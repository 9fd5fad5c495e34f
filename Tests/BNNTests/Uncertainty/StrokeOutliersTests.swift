import Foundation
import Testing
@testable import BNN

/// Pen-stroke outliers: the pen's rendering by hand, their MNIST framing, and their use in outlier exposure.
@Suite struct StrokeOutliersTests {
    /// A horizontal line at y = 10 from x = 5 to 20 with a pen 3 wide: a pixel's value is
    /// clamp(1.5 + 0.5 − distance of its centre), so rows 9 and 10 (centres 0.5 away) are full ink,
    /// rows 8 and 11 (1.5 away) half, rows 7 and 12 (2.5 away) empty; beyond the ends the round cap.
    @Test func penRendersByDistance() {
        var plane = [Float](repeating: 0, count: 28 * 28)
        StrokeOutliers.drawPolyline([SIMD2(5, 10), SIMD2(20, 10)], width: 3, into: &plane, height: 28, width: 28)
        #expect(plane[9 * 28 + 12] == 1 && plane[10 * 28 + 12] == 1)
        #expect(abs(plane[8 * 28 + 12] - 0.5) < 1e-6 && abs(plane[11 * 28 + 12] - 0.5) < 1e-6)
        #expect(plane[7 * 28 + 12] == 0 && plane[12 * 28 + 12] == 0)
        // Pixel (22, 10): centre (22.5, 10.5), distance to the end (20, 10) is √6.5 ≈ 2.55: empty.
        // Pixel (20, 10): centre (20.5, 10.5), distance √0.5 ≈ 0.707: value 2 − 0.707 → 1.
        #expect(plane[10 * 28 + 22] == 0 && plane[10 * 28 + 20] == 1)
        // Pixel (21, 10): centre (21.5, 10.5), distance √2.5 ≈ 1.581: 2 − 1.581 = 0.419.
        #expect(abs(plane[10 * 28 + 21] - (2 - Float(2.5).squareRoot())) < 1e-5)
    }

    /// Every outlier is framed as MNIST frames a digit: values in [0, 1], the ink's longer side at most
    /// the 20-pixel box (and not much less), the centre of mass within a pixel of the centre; the same
    /// seed gives the same images, and every channel of a colour image is the same plane.
    @Test func framedLikeMNISTDigits() {
        var generator = RandomGenerator(seed: 5)
        let image = Tensor(shape: [784])
        for draw in 0..<300 {
            StrokeOutliers.draw(into: image.pointer, channels: 1, height: 28, width: 28, generator: &generator)
            var (mass, sx, sy) = (Float(0), Float(0), Float(0))
            var (left, right, top, bottom) = (28, -1, 28, -1)
            for y in 0..<28 {
                for x in 0..<28 {
                    let v = image.pointer[y * 28 + x]
                    #expect((0...1).contains(v))
                    mass += v; sx += v * (Float(x) + 0.5); sy += v * (Float(y) + 0.5)
                    if v > 0.05 { left = min(left, x); right = max(right, x); top = min(top, y); bottom = max(bottom, y) }
                }
            }
            #expect(mass > 10, "draw \(draw): almost no ink")
            let extent = max(right - left + 1, bottom - top + 1)
            #expect((16...22).contains(extent), "draw \(draw): ink spans \(extent) pixels")
            #expect(abs(sx / mass - 14) <= 1 && abs(sy / mass - 14) <= 1, "draw \(draw): centre (\(sx / mass), \(sy / mass))")
        }
        var first = RandomGenerator(seed: 8), second = RandomGenerator(seed: 8)
        let colour = Tensor(shape: [3 * 784]), grey = Tensor(shape: [784])
        StrokeOutliers.draw(into: colour.pointer, channels: 3, height: 28, width: 28, generator: &first)
        StrokeOutliers.draw(into: grey.pointer, channels: 1, height: 28, width: 28, generator: &second)
        for channel in 0..<3 {
            #expect(Array(UnsafeBufferPointer(start: colour.pointer + channel * 784, count: 784)) == grey.array)
        }
    }

    /// Outlier exposure draws the kinds in turn: with `[.tiles, .strokes]` the even rows are the tiles the
    /// default draws (the same generator calls), the odd rows pen strokes that do not depend on the batch.
    @Test func exposureDrawsKindsInTurn() {
        let batch = randomTensor([4, 784], seed: 2, scale: 1)
        let other = randomTensor([4, 784], seed: 3, scale: 1)
        let mixed = Tensor(shape: [4, 784]), mixedOther = Tensor(shape: [4, 784])
        var generator = RandomGenerator(seed: 11)
        SyntheticOutliers.exposure(from: batch.pointer, rows: 4, shape: [1, 28, 28], into: mixed.pointer, count: 4,
                                   kinds: [.tiles, .strokes], generator: &generator)
        generator = RandomGenerator(seed: 11)
        SyntheticOutliers.exposure(from: other.pointer, rows: 4, shape: [1, 28, 28], into: mixedOther.pointer, count: 4,
                                   kinds: [.tiles, .strokes], generator: &generator)
        // By hand: row 0 tiles of example 0, row 1 a stroke, row 2 tiles of example 2, row 3 a stroke.
        let byHand = Tensor(shape: [4, 784])
        generator = RandomGenerator(seed: 11)
        for row in 0..<4 {
            if row % 2 == 0 {
                SyntheticOutliers.tileShuffled(batch.pointer + row * 784, into: byHand.pointer + row * 784, channels: 1, height: 28,
                                               width: 28, grid: 4, generator: &generator)
            } else {
                StrokeOutliers.draw(into: byHand.pointer + row * 784, channels: 1, height: 28, width: 28, generator: &generator)
            }
        }
        #expect(mixed.array == byHand.array)
        for row in [1, 3] {
            #expect(Array(UnsafeBufferPointer(start: mixed.pointer + row * 784, count: 784))
                    == Array(UnsafeBufferPointer(start: mixedOther.pointer + row * 784, count: 784)))
        }
        // Images too small for a pen stroke (under 8 pixels) get tiles instead.
        let small = randomTensor([2, 36], seed: 4, scale: 1), out = Tensor(shape: [2, 36]), tiles = Tensor(shape: [2, 36])
        generator = RandomGenerator(seed: 1)
        SyntheticOutliers.exposure(from: small.pointer, rows: 2, shape: [1, 6, 6], into: out.pointer, count: 2, kinds: [.strokes],
                                   generator: &generator)
        generator = RandomGenerator(seed: 1)
        SyntheticOutliers.exposure(from: small.pointer, rows: 2, shape: [1, 6, 6], into: tiles.pointer, count: 2, generator: &generator)
        #expect(out.array == tiles.array)
    }

    /// `.mirrored` outliers are batch examples mirrored left–right, never of a class that looks the same
    /// mirrored; a batch holding only such classes gets tiles instead.
    @Test func mirroredOutliersSkipSymmetricClasses() {
        let batch = randomTensor([3, 12], seed: 6, scale: 1)  // three 3 × 4 images, labels 0, 2, 8
        let out = Tensor(shape: [6, 12])
        var generator = RandomGenerator(seed: 2)
        SyntheticOutliers.exposure(from: batch.pointer, rows: 3, shape: [1, 3, 4], into: out.pointer, count: 6, kinds: [.mirrored],
                                   labels: [0, 2, 8], mirrorSymmetricClasses: [0, 8], generator: &generator)
        for row in 0..<6 {
            for line in 0..<3 {
                for column in 0..<4 {
                    #expect(out.pointer[row * 12 + line * 4 + column] == batch.pointer[12 + line * 4 + 3 - column])
                }
            }
        }
        let tiles = Tensor(shape: [2, 12]), fallback = Tensor(shape: [2, 12])
        generator = RandomGenerator(seed: 2)
        SyntheticOutliers.exposure(from: batch.pointer, rows: 3, shape: [1, 3, 4], into: fallback.pointer, count: 2, kinds: [.mirrored],
                                   labels: [0, 0, 8], mirrorSymmetricClasses: [0, 8], generator: &generator)
        generator = RandomGenerator(seed: 2)
        SyntheticOutliers.exposure(from: batch.pointer, rows: 3, shape: [1, 3, 4], into: tiles.pointer, count: 2, generator: &generator)
        #expect(fallback.array == tiles.array)
    }

    /// The settings are stored with the model: a configuration with stroke outliers and augmentation
    /// survives a JSON round trip, one written before they existed decodes with them off, and an empty
    /// list of kinds or an augmentation out of range is named as the invalid setting.
    @Test func configurationStoresOutlierKindsAndAugmentation() throws {
        var settings = TrainingConfiguration.default
        settings.outlierWeight = 0.25
        settings.outlierKinds = [.tiles, .strokes]
        settings.augmentation = .digits
        let roundTrip = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(settings))
        #expect(roundTrip == settings)
        let old = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(TrainingConfiguration.seed))
        #expect(old.outlierKinds == nil && old.augmentation == nil)
        settings.outlierKinds = []
        #expect(settings.invalidSetting?.contains("outlierKinds") == true)
        settings.outlierKinds = [.strokes]
        settings.augmentation?.rotationDegrees = 200
        #expect(settings.invalidSetting?.contains("augmentation: rotationDegrees") == true)
    }
}
