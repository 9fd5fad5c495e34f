import BNN
import BNNData
import Foundation

/// What `POST /api/predict` asks for, checked and normalised, ready for the model.
public struct PredictionInput: Sendable, Equatable {
    /// The model's input: its values in [0, 1] (784 prepared like an MNIST digit for a digit model).
    public var pixels: [Float]
    /// Posterior samples to draw (1…`ServerLimits.maximumSamples`).
    public var samples: Int

    /// The JSON body: `{"pixels": [784 numbers in 0…1], "samples": 100, "normalize": true}`.
    struct Body: Decodable, Equatable {
        var pixels: [Double]
        // A Double, so that 2.5 is reported as a bad sample count rather than as bad JSON.
        var samples: Double?
        var normalize: Bool?
    }

    /// Parses a JSON body for a model that reads inputs as `preprocessing` says.
    ///
    /// For a digit model, `pixels` are the grey values of a 28×28 image (row-major, white ink on black,
    /// like MNIST); unless `"normalize": false`, they go through `DigitNormalizer` (crop to the ink, scale
    /// into 20×20, centre by mass), as `bnn predict` does with image files; `false` sends them to the model
    /// as they are, as `bnn evaluate` does with MNIST's own images. For another image model, `pixels` are
    /// its input values as they are (channel-major `[channels, height, width]`, each in 0…1).
    public static func parseJSON(_ bytes: some Collection<UInt8>, preprocessing: InputPreprocessing = .mnist,
                                 defaultSamples: Int) throws -> PredictionInput {
        let data = Data(bytes)
        let body: Body
        do {
            body = try data.withUnsafeBytes(PredictionBodyScanner.scan) ?? JSONDecoder().decode(Body.self, from: data)
        } catch let error as DecodingError {
            throw APIError.badRequest(describe(error))
        } catch {
            throw APIError.badRequest("the body is not valid JSON")
        }
        guard let shape = preprocessing.imageShape else {
            throw APIError.badRequest("this model reads table rows, not images; the web API serves image models")
        }
        let digits = preprocessing.digitNormalization
        let side = DigitNormalizer.side
        let count = digits ? side * side : preprocessing.valueCount
        guard body.pixels.count == count else {
            let what = digits ? "a \(side)×\(side) image, row-major"
                : "\(shape.channels) channel\(shape.channels == 1 ? "" : "s") of \(shape.height)×\(shape.width), channel-major"
            throw APIError.badRequest("\"pixels\" must hold \(count) values (\(what)); found \(body.pixels.count)")
        }
        var pixels = [Float](repeating: 0, count: count)
        for (index, value) in body.pixels.enumerated() {
            // `!(0...1).contains` is also true for NaN, should a decoder ever let one through.
            guard (0.0...1.0).contains(value) else {
                throw APIError.badRequest("\"pixels\"[\(index)] is \(value); every value must be a number in 0…1 (0 = black, 1 = white ink)")
            }
            pixels[index] = Float(value)
        }
        var samples = defaultSamples
        if let requested = body.samples {
            guard requested.rounded() == requested, abs(requested) < 1e9 else {
                throw APIError.badRequest("\"samples\" must be an integer in 1…\(ServerLimits.maximumSamples); found \(requested)")
            }
            samples = try checkSamples(Int(requested))
        }
        if digits && body.normalize ?? true {
            pixels = DigitNormalizer.normalize(GreyImage(width: side, height: side, pixels: pixels))
        }
        return PredictionInput(pixels: pixels, samples: samples)
    }

    /// Parses a PNG body (any size, grey or colour, either polarity) and prepares it as `bnn predict` does:
    /// normalised as a digit for a digit model, brought to the model's size and channels otherwise.
    public static func parsePNG(_ bytes: [UInt8], samples: Int, preprocessing: InputPreprocessing = .mnist) throws -> PredictionInput {
        // Check the declared size before inflating anything: a 1 MB PNG can expand to gigabytes.
        guard let (width, height) = PNGDecoder.declaredDimensions(of: bytes) else {
            throw APIError.badRequest("the body is not a PNG image (Content-Type is image/png)")
        }
        guard PNGDecoder.pixelCount(width: width, height: height, maximum: ServerLimits.maximumImagePixels) != nil else {
            throw APIError.badRequest("the PNG is \(width)×\(height); at most \(ServerLimits.maximumImagePixels) pixels are accepted")
        }
        guard preprocessing.kind == .image else {
            throw APIError.badRequest("this model reads table rows, not images; the web API serves image models")
        }
        do {
            if preprocessing.digitNormalization {
                let image = try PNGDecoder.decode(bytes, path: "request body", maximumPixelCount: ServerLimits.maximumImagePixels)
                return PredictionInput(pixels: DigitNormalizer.normalize(image), samples: try checkSamples(samples))
            }
            let image = try PNGDecoder.decodeImage(bytes, path: "request body", maximumPixelCount: ServerLimits.maximumImagePixels)
            return PredictionInput(pixels: image.converted(to: preprocessing), samples: try checkSamples(samples))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("bad PNG: \(error)")
        }
    }

    /// `samples` if it is within 1…`ServerLimits.maximumSamples`.
    static func checkSamples(_ samples: Int) throws -> Int {
        guard (1...ServerLimits.maximumSamples).contains(samples) else {
            throw APIError.badRequest("\"samples\" must be an integer in 1…\(ServerLimits.maximumSamples); found \(samples)")
        }
        return samples
    }

    /// One sentence for a JSON decoding error, naming the field.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? "\"\(key.stringValue)\"" : ".\(key.stringValue)" }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, _):
            return "the JSON object has no \"\(key.stringValue)\"; send {\"pixels\": [784 numbers in 0…1], \"samples\": 100}"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let what = type == Double.self ? "a number" : type == Int.self ? "an integer" : type == Bool.self ? "true or false"
                : type == [Double].self ? "an array of numbers" : "\(type)"
            let location = path(context.codingPath)
            return location.isEmpty ? "the body must be a JSON object {\"pixels\": […], \"samples\": 100}" : "\(location) must be \(what)"
        case .dataCorrupted(let context):
            let location = path(context.codingPath)
            return location.isEmpty ? "the body is not valid JSON" : "\(location) is not valid: \(context.debugDescription)"
        @unknown default:
            return "the body is not valid JSON"
        }
    }
}
