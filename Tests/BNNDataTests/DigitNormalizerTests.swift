import Foundation
import Testing
@testable import BNN
@testable import BNNData

@Suite struct DigitNormalizerDataTests {
    /// Pearson correlation of two equal-length vectors.
    func correlation(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(a.count)
        let meanA = a.reduce(0) { $0 + Double($1) } / n, meanB = b.reduce(0) { $0 + Double($1) } / n
        var covariance = 0.0, varianceA = 0.0, varianceB = 0.0
        for (x, y) in zip(a, b) {
            covariance += (Double(x) - meanA) * (Double(y) - meanB)
            varianceA += (Double(x) - meanA) * (Double(x) - meanA)
            varianceB += (Double(y) - meanB) * (Double(y) - meanB)
        }
        return covariance / (varianceA * varianceB).squareRoot()
    }

    /// A plus-shaped digit-like stroke pattern on a black field of the given size, offset by (dx, dy).
    func cross(width: Int, height: Int, dx: Int, dy: Int) -> GreyImage {
        var image = GreyImage(width: width, height: height, pixels: [Float](repeating: 0, count: width * height))
        for i in 0..<12 {
            image[dx + i, dy + 6] = 1
            image[dx + 6, dy + i] = 1
        }
        return image
    }

    /// Centre of mass (x, y) of a 28×28 image.
    func centreOfMass(_ pixels: [Float]) -> (Double, Double) {
        var mass = 0.0, x = 0.0, y = 0.0
        for index in pixels.indices {
            mass += Double(pixels[index]); x += Double(pixels[index]) * Double(index % 28); y += Double(pixels[index]) * Double(index / 28)
        }
        return (x / mass, y / mass)
    }

    @Test func shiftedDigitComesBackCentred() {
        let a = DigitNormalizer.normalize(cross(width: 40, height: 30, dx: 1, dy: 2))
        let b = DigitNormalizer.normalize(cross(width: 40, height: 30, dx: 25, dy: 15))
        #expect(a == b)
        let (x, y) = centreOfMass(a)
        #expect(abs(x - 14) <= 0.5 && abs(y - 14) <= 0.5)
        // The 12-pixel cross is scaled so its longer side is 20.
        let rows = (0..<28).filter { row in (0..<28).contains { a[row * 28 + $0] > 0.05 } }
        #expect(rows.count == 20)
    }

    @Test func blankImagesGiveZeros() {
        #expect(DigitNormalizer.normalize(GreyImage(width: 10, height: 10, pixels: [Float](repeating: 1, count: 100))) == [Float](repeating: 0, count: 784))
        #expect(DigitNormalizer.normalize(GreyImage(width: 5, height: 3, pixels: [Float](repeating: 0.3, count: 15))) == [Float](repeating: 0, count: 784))
        #expect(DigitNormalizer.normalize(GreyImage(width: 1, height: 1, pixels: [0.7])) == [Float](repeating: 0, count: 784))
        #expect(DigitNormalizer.normalize(GreyImage(width: 0, height: 0, pixels: [])).count == 784)
    }

    @Test func veryWideImage() {
        // A thin horizontal bar, 300×3 with a dark line on white: becomes a 20-wide bar in the middle.
        var image = GreyImage(width: 300, height: 3, pixels: [Float](repeating: 1, count: 900))
        for x in 10..<290 { image[x, 1] = 0 }
        let result = DigitNormalizer.normalize(image)
        #expect(result.allSatisfy { $0 >= 0 && $0 <= 1 })
        let inkColumns = (0..<28).filter { column in (0..<28).contains { result[$0 * 28 + column] > 0.05 } }
        #expect(inkColumns.count == 20)
        let (x, y) = centreOfMass(result)
        #expect(abs(x - 14) <= 0.5 && abs(y - 14) <= 0.5)
        // A very tall one-pixel column also works.
        var tall = GreyImage(width: 1, height: 500, pixels: [Float](repeating: 0, count: 500))
        for y in 100..<400 { tall[0, y] = 1 }
        #expect(DigitNormalizer.normalize(tall).contains { $0 > 0.5 })
    }

    @Test func areaAverageIsExactForWholeFactors() {
        let pixels: [Float] = [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        let half = DigitNormalizer.areaAverage(pixels, width: 4, left: 0, top: 0, sourceWidth: 4, sourceHeight: 4, targetWidth: 2, targetHeight: 2)
        #expect(half == [1, 0, 0, 0.5])
    }

    @Test func mnistDigitUpscaledAndInvertedNormalisesBack() throws {
        guard let directory = realDataDirectory() else { return }
        let url = try #require(DataLocator.existingFile(named: MNIST.testImagesName, in: URL(fileURLWithPath: directory).appendingPathComponent("mnist")))
        let file = try IDXFile.read(from: url)
        let tensor = file.unitTensor()
        var correlations: [Double] = []
        for index in 0..<20 {
            let original = Array(UnsafeBufferPointer(start: tensor.pointer + index * 784, count: 784))
            // 3× nearest-neighbour upscale, then black ink on white paper, through a PNG round trip.
            var big = GreyImage(width: 84, height: 84, pixels: [Float](repeating: 0, count: 84 * 84))
            for y in 0..<84 { for x in 0..<84 { big[x, y] = 1 - original[(y / 3) * 28 + x / 3] } }
            let decoded = try PNGDecoder.decode(PNGEncoder.encode(big), path: "digit-\(index).png")
            let normalised = DigitNormalizer.normalize(decoded)
            correlations.append(correlation(normalised, original))
        }
        #expect(correlations.allSatisfy { $0 > 0.9 }, "correlations \(correlations)")
    }
}
