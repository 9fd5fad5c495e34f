import Foundation
import Testing
@testable import BNN
@testable import BNNData

/// An image set of no images is an error naming the file (it printed `0  0.00% nan` and, with `--json`,
/// an encoding error naming no file), and a PNG's declared size is checked without overflow.
@Suite struct EmptySetAndImageSizeTests {
    @Test func emptyOutOfDistributionSetNamesTheFile() throws {
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("empty.idx")
        try IDXFile(dimensions: [0, 28, 28], bytes: []).write(to: url)
        let error = dataError { _ = try UnlabeledImages.load(images: url) }
        #expect(error == .wrongDimensions(path: url.path, expected: "at least one image", found: "an empty set (0 images)"))
    }

    @Test func emptyTestSetNamesTheFile() throws {
        let folder = try TemporaryFolder()
        let mnist = folder.url.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: mnist, withIntermediateDirectories: true)
        let images = mnist.appendingPathComponent(MNIST.testImagesName)
        try IDXFile(dimensions: [0, 28, 28], bytes: []).write(to: images)
        try IDXFile(dimensions: [0], bytes: []).write(to: mnist.appendingPathComponent(MNIST.testLabelsName))
        let error = dataError { _ = try MNIST.loadTest(dataDirectory: folder.url.path, download: false, environment: [:]) }
        #expect(error?.path == images.path)
        #expect(error?.description.contains("0 images") == true)
    }

    /// IHDR declaring 0xFFFFFFFF × 0xFFFFFFFF (the server's 33-byte crash): refused, no overflow.
    @Test func largestDeclaredPNGIsRefused() throws {
        #expect(PNGDecoder.pixelCount(width: 0xFFFF_FFFF, height: 0xFFFF_FFFF, maximum: .max) == nil)
        #expect(PNGDecoder.pixelCount(width: 1 << 40, height: 1 << 40, maximum: .max) == nil)
        #expect(PNGDecoder.pixelCount(width: 0, height: 5, maximum: 100) == nil)
        #expect(PNGDecoder.pixelCount(width: 10, height: 10, maximum: 100) == 100)
        #expect(PNGDecoder.pixelCount(width: 10, height: 11, maximum: 100) == nil)
        var png = PNGEncoder.encode(GreyImage(width: 2, height: 2, pixels: [0, 1, 1, 0]))
        for offset in 0..<8 { png = patchedIHDR(png, offset: offset, value: 0xff) }
        #expect(PNGDecoder.declaredDimensions(of: png)! == (0xFFFF_FFFF, 0xFFFF_FFFF))
        let error = dataError { _ = try decodePNG(png, name: "huge.png") }
        guard case .badImage(let path, _)? = error else { Issue.record("expected badImage, got \(String(describing: error))"); return }
        #expect(path == "huge.png")
    }

    /// A caller's smaller cap applies before any inflating.
    @Test func callersPixelCapApplies() throws {
        let png = PNGEncoder.encode(GreyImage(width: 20, height: 20, pixels: [Float](repeating: 0.5, count: 400)))
        #expect(throws: DataError.self) { _ = try PNGDecoder.decode(png, path: "cap.png", maximumPixelCount: 399) }
        #expect(try PNGDecoder.decode(png, path: "cap.png", maximumPixelCount: 400).width == 20)
    }
}
