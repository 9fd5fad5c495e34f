import Foundation
import Testing
@testable import BNNServer

/// `PredictionBodyScanner` reads the common request bodies exactly as `JSONDecoder` does, and hands every
/// other body (returning nil) to `JSONDecoder`.
@Suite struct PredictionBodyScannerTests {
    func scanned(_ text: String) -> PredictionInput.Body? {
        Data(text.utf8).withUnsafeBytes(PredictionBodyScanner.scan)
    }

    func decoded(_ text: String) -> PredictionInput.Body? {
        try? JSONDecoder().decode(PredictionInput.Body.self, from: Data(text.utf8))
    }

    /// Numbers in every form JSON allows, keys in any order, any whitespace: the same `Body`, value for value
    /// (the bit patterns of the doubles, so that -0 and 0 differ).
    @Test func readsWhatJSONDecoderReads() throws {
        var generator = SystemRandomNumberGenerator()
        var numbers = ["0", "-0", "1", "0.5", "1e-3", "2E+2", "0.30000000000000004", "9.999999999999999e-1",
                       "123456789012345678901234567890", "0.1e1", "-0.0e0", "5e-324", "1.7976931348623157e308"]
        for _ in 0..<300 {
            let value = Double.random(in: 0...1, using: &generator)
            numbers.append([String(value), String(format: "%.3f", value), String(format: "%.17g", value), String(format: "%e", value)]
                .randomElement(using: &generator)!)
        }
        let pixels = "[" + numbers.joined(separator: ",") + "]"
        let bodies = [
            "{\"pixels\":\(pixels)}",
            "{\"pixels\":\(pixels),\"samples\":100}",
            " {\n\t\"samples\" : 2.5 ,\r\n \"pixels\" : [ 1 , 0 ] , \"normalize\" : false } \n",
            "{\"normalize\":true,\"pixels\":[],\"samples\":-3e2}",
            "{\"pixels\":\(pixels.replacingOccurrences(of: ",", with: " ,\n "))}",
        ]
        for body in bodies {
            let fast = try #require(scanned(body), "the scanner gave up on \(body.prefix(80))")
            let reference = try #require(decoded(body))
            #expect(fast.pixels.map(\.bitPattern) == reference.pixels.map(\.bitPattern))
            #expect(fast.samples?.bitPattern == reference.samples?.bitPattern)
            #expect(fast.normalize == reference.normalize)
        }
    }

    /// Every body outside the common shape goes to `JSONDecoder`: other or repeated keys, escapes, null,
    /// numbers JSON does not allow, malformed or truncated JSON, trailing text.
    @Test func leavesEverythingElseToJSONDecoder() {
        let bodies = [
            "", "{}", "[]", "{\"pixels\":[1,0]", "{\"pixels\":[1,0],}", "{\"pixels\":[1,0]}x", "{\"pixels\":[1,0]}{}",
            "{\"pixels\":[1,0],\"extra\":1}", "{\"pixels\":[1],\"pixels\":[0]}", "{\"pix\\u0065ls\":[1]}",
            "{\"pixels\":null}", "{\"pixels\":[1,null]}", "{\"pixels\":[01]}", "{\"pixels\":[.5]}", "{\"pixels\":[1.]}",
            "{\"pixels\":[+1]}", "{\"pixels\":[1e]}", "{\"pixels\":[NaN]}", "{\"pixels\":[Infinity]}", "{\"pixels\":[0x1]}",
            "{\"pixels\":[1e999]}", "{\"pixels\":[\"1\"]}", "{\"pixels\":[1,,2]}", "{\"pixels\":[1 2]}",
            "{\"pixels\":[1],\"normalize\":yes}", "{\"pixels\":[1],\"samples\":\"5\"}", "{\"pixels\":[1],\"samples\":1",
            "{\"pixels\":[1]", "{\"pixels\":[1", "{\"pixels\":[-",
        ]
        for body in bodies {
            #expect(scanned(body) == nil, "the scanner read \(body)")
        }
    }

    /// Through `parseJSON`, a body the scanner leaves gets `JSONDecoder`'s answer: an unknown key is
    /// ignored (and so is a trailing comma, which Foundation's decoder allows), truncated JSON is a bad
    /// request.
    @Test func parseJSONFallsBackToJSONDecoder() throws {
        let pixels = [Float](repeating: 0.25, count: 784)
        let list = pixels.map { String($0) }.joined(separator: ",")
        let withExtraKey = try PredictionInput.parseJSON(Array("{\"pixels\":[\(list)],\"note\":\"x\",\"normalize\":false}".utf8), defaultSamples: 7)
        #expect(withExtraKey.pixels == pixels && withExtraKey.samples == 7)
        let trailingComma = try PredictionInput.parseJSON(Array("{\"pixels\":[\(list)],\"normalize\":false,}".utf8), defaultSamples: 7)
        #expect(trailingComma.pixels == pixels)
        #expect(throws: APIError.self) { try PredictionInput.parseJSON(Array("{\"pixels\":[\(list)".utf8), defaultSamples: 7) }
    }
}
