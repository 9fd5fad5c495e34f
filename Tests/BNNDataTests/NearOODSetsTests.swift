import BNN
import BNNData
import Foundation
import Testing

/// The committed near-out-of-distribution development sets (DevSets/near-ood) are what their README says:
/// each file 2,000 images of the stated size, the digit sets 200 of each digit, and every image, read the
/// way `bnn evaluate --ood` reads it, has ink framed like an MNIST digit.
@Suite struct NearOODSetsTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("DevSets/near-ood")

    @Test(arguments: ["handwritten-symbols", "printed-symbols", "font-digits", "mouse-digits"], ["dev", "report"])
    func setIsWhatTheREADMESays(set: String, role: String) throws {
        let images = Self.folder.appendingPathComponent("\(set)-\(role)-images-idx3-ubyte.gz")
        let side = set == "mouse-digits" ? 56 : 64
        let file = try IDXFile.read(from: images)
        #expect(file.dimensions == [2000, side, side])
        if set.hasSuffix("digits") {
            let labels = try IDXFile.read(from: Self.folder.appendingPathComponent("\(set)-\(role)-labels-idx1-ubyte.gz"))
            #expect(labels.dimensions == [2000])
            for digit in 0..<10 { #expect(labels.bytes.filter { $0 == digit }.count == 200, "digit \(digit)") }
        }
        let normalised = try UnlabeledImages.load(outOfDistribution: images.path)
        #expect(normalised.rows == 28 && normalised.columns == 28 && normalised.count == 2000)
        var blank = 0, unframed = 0
        for index in 0..<normalised.count {
            let pixels = UnsafeBufferPointer(start: normalised.images.pointer + index * 784, count: 784)
            if pixels.max() ?? 0 < 0.5 { blank += 1; continue }
            // MNIST's framing: the ink's longer side is 20 pixels (anti-aliasing may add one), its centre
            // of mass within a pixel of (14, 14); a faint edge of a thin glyph, or ink pushed out by the
            // centring, may spoil it for a few images in a thousand.
            var (left, right, top, bottom) = (28, -1, 28, -1)
            var (mass, sumX, sumY) = (Float(0), Float(0), Float(0))
            for y in 0..<28 {
                for x in 0..<28 {
                    let value = pixels[y * 28 + x]
                    mass += value; sumX += value * Float(x); sumY += value * Float(y)
                    if value > 0.05 { left = min(left, x); right = max(right, x); top = min(top, y); bottom = max(bottom, y) }
                }
            }
            let extent = max(right - left + 1, bottom - top + 1)
            if !(19...21).contains(extent) || abs(sumX / mass - 14) > 1 || abs(sumY / mass - 14) > 1 { unframed += 1 }
        }
        #expect(blank == 0)
        #expect(unframed <= 10, "\(unframed) of 2000 images are not framed like MNIST digits")
    }
}
