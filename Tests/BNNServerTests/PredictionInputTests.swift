import BNN
import BNNData
import Foundation
import Testing
@testable import BNNServer

/// The server prepares drawn input exactly as `bnn predict` prepares image files.
@Suite struct PredictionInputTests {
    /// A small digit in a corner of the field, the way one may draw it on the canvas.
    static func offCentre() -> [Float] {
        var pixels = [Float](repeating: 0, count: 784)
        for y in 1..<9 { pixels[y * 28 + 2] = 1; pixels[y * 28 + 3] = 0.6 }
        for x in 2..<8 { pixels[1 * 28 + x] = 0.9 }
        return pixels
    }

    @Test func jsonPixelsAreNormalisedLikeBnnPredict() throws {
        let pixels = Self.offCentre()
        let body = Array(String(buffer: ServerFixtures.jsonBody(pixels: pixels, extra: ",\"samples\":12")).utf8)
        let input = try PredictionInput.parseJSON(body, defaultSamples: 100)
        #expect(input.samples == 12)
        #expect(input.pixels == DigitNormalizer.normalize(GreyImage(width: 28, height: 28, pixels: pixels)))
        #expect(input.pixels != pixels, "normalisation moved and scaled the digit")
    }

    @Test func normalizeFalseSendsPixelsAsTheyAre() throws {
        let pixels = Self.offCentre()
        let body = Array(String(buffer: ServerFixtures.jsonBody(pixels: pixels, extra: ",\"normalize\":false")).utf8)
        let input = try PredictionInput.parseJSON(body, defaultSamples: 100)
        #expect(input.samples == 100)
        #expect(input.pixels == pixels)
    }

    @Test func pngIsDecodedAndNormalisedLikeBnnPredict() throws {
        let image = GreyImage(width: 28, height: 28, pixels: Self.offCentre().map { 1 - $0 })  // dark ink on white
        let png = PNGEncoder.encode(image)
        let input = try PredictionInput.parsePNG(png, samples: 5)
        #expect(input.pixels == DigitNormalizer.normalize(try ImageFile.decode(png, path: "x.png")))
        #expect(input.samples == 5)
    }

    @Test func outOfRangeValueNamesItsIndex() {
        var pixels = [Float](repeating: 0, count: 784)
        pixels[400] = 2
        let body = Array(String(buffer: ServerFixtures.jsonBody(pixels: pixels)).utf8)
        #expect(throws: APIError.self) { try PredictionInput.parseJSON(body, defaultSamples: 1) }
        do { _ = try PredictionInput.parseJSON(body, defaultSamples: 1) } catch let error as APIError {
            #expect(error.status == .badRequest && error.message.contains("[400]"))
        } catch { Issue.record("unexpected \(error)") }
    }
}
