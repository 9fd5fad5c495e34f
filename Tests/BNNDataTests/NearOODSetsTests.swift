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

/// The committed training sets of DevSets/outliers are what their README says: the strict pool 18,541
/// unlabelled 64×64 images, the printed and the pen-written digits 10,000 each, exactly 1,000 of each digit,
/// and every image light ink on black-ish paper (0–25): some pixel bright, and its whole border paper (no
/// stroke cut by the frame).
@Suite struct OutlierTrainingSetsTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("DevSets/outliers")

    @Test(arguments: [("glyph-outliers-train-strict", 18_541, false), ("glyph-digits-train", 10_000, true),
                      ("stroke-digits-train", 10_000, true)])
    func setIsWhatTheREADMESays(set: String, count: Int, labelled: Bool) throws {
        let file = try IDXFile.read(from: Self.folder.appendingPathComponent("\(set)-images-idx3-ubyte.gz"))
        #expect(file.dimensions == [count, 64, 64])
        if labelled {
            let labels = try IDXFile.read(from: Self.folder.appendingPathComponent("\(set)-labels-idx1-ubyte.gz"))
            #expect(labels.dimensions == [count])
            for digit in 0..<10 { #expect(labels.bytes.filter { $0 == digit }.count == count / 10, "digit \(digit)") }
        }
        var unlike = 0
        file.bytes.withUnsafeBufferPointer { bytes in
            for image in 0..<min(count, bytes.count / 4096) {
                let pixels = UnsafeBufferPointer(rebasing: bytes[(image * 4096)..<((image + 1) * 4096)])
                var border: UInt8 = 0
                for i in 0..<64 { border = max(border, pixels[i], pixels[4032 + i], pixels[i * 64], pixels[i * 64 + 63]) }
                if (pixels.max() ?? 0) < 128 || border > 25 { unlike += 1 }
            }
        }
        #expect(unlike == 0, "\(unlike) of \(count) images are not light ink on dark paper")
    }
}
