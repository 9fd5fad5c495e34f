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

/// The 28×28 copies the default MNIST recipe reads (`RecipeSets`) are the 64×64 renderings prepared the way
/// `bnn predict` prepares a digit and rounded to grey levels: the same count, and for a spread of images the
/// same bytes as preparing the rendering again (so a changed normaliser, or a copy made from other
/// renderings, fails here; regenerate with `bnn prepare-digits`, DevSets/outliers/README.md).
@Suite struct RecipeSetsTests {
    static let folder = OutlierTrainingSetsTests.folder

    @Test(arguments: [("glyph-outliers-train-strict", 18_541), ("glyph-digits-train", 10_000), ("stroke-digits-train", 10_000)])
    func copyIsTheRenderingPrepared(set: String, count: Int) throws {
        let copy = try IDXFile.read(from: Self.folder.appendingPathComponent("\(set)-28x28-images-idx3-ubyte.gz"))
        #expect(copy.dimensions == [count, 28, 28])
        let rendering = try IDXFile.read(from: Self.folder.appendingPathComponent("\(set)-images-idx3-ubyte.gz"))
        let checked = stride(from: 0, to: count, by: count / 40).map { $0 }
        var differing = 0
        for index in checked {
            let prepared = DigitNormalizer.normalize(GreyImage(width: 64, height: 64, pixels: rendering.unitValues(item: index)))
            let levels = prepared.withUnsafeBufferPointer { GreyLevels.quantize($0.baseAddress!, count: $0.count) }
            if levels != Array(copy.bytes[(index * 784)..<((index + 1) * 784)]) { differing += 1 }
        }
        #expect(differing == 0, "\(differing) of \(checked.count) images differ from their rendering prepared again")
    }

    @Test func everyFileIsInTheRepository() throws {
        let found = try RecipeSets.locate(environment: [:], currentDirectory: "/")
        #expect(found.standardizedFileURL == Self.folder.standardizedFileURL)
        #expect(RecipeSets.searchDirectories(environment: [:], currentDirectory: "/").count == 2)
    }

    @Test func aNamedFolderIsTheOnlyOneSearched() throws {
        let empty = try TemporaryFolder()
        let environment = [RecipeSets.environmentVariable: empty.url.path]
        #expect(RecipeSets.searchDirectories(environment: environment).map(\.standardizedFileURL.path) == [empty.url.standardizedFileURL.path])
        let error = dataError { _ = try RecipeSets.locate(environment: environment) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains(empty.url.path) && message.contains("--recipe mnist-only") && message.contains(RecipeSets.environmentVariable),
                "\(message)")
        // A folder missing one file is not the folder.
        for name in RecipeSets.files.dropLast() {
            try FileManager.default.copyItem(at: Self.folder.appendingPathComponent(name), to: empty.url.appendingPathComponent(name))
        }
        #expect(dataError { _ = try RecipeSets.locate(environment: environment) } != nil)
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent(RecipeSets.files.last!),
                                         to: empty.url.appendingPathComponent(RecipeSets.files.last!))
        #expect(try RecipeSets.locate(environment: environment).standardizedFileURL.path == empty.url.standardizedFileURL.path)
    }
}
