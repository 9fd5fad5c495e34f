import BNN
import BNNData
import Foundation

/// A colour image: `height` rows of `width` pixels with values in [0, 1], stored channel-major as the
/// networks read them (the red plane, then green, then blue; each plane row-major, top row first).
public struct RGBImage: Sendable, Equatable {
    /// Pixels per row.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `3 × height × width` values in [0, 1], channel-major.
    public var values: [Float]

    /// Creates an image; `values` must hold `3 × width × height` values.
    public init(width: Int, height: Int, values: [Float]) {
        precondition(width >= 0 && height >= 0 && values.count == 3 * width * height,
                     "RGBImage of \(width)×\(height) needs \(3 * width * height) values, got \(values.count)")
        self.width = width
        self.height = height
        self.values = values
    }

    /// The image as an RGB PNG (values rounded to 0…255; outside values clamped).
    public var png: [UInt8] {
        let plane = width * height
        var bytes = [UInt8](repeating: 0, count: 3 * plane)
        for pixel in 0..<plane {
            for channel in 0..<3 {
                let scaled = values[channel * plane + pixel] * 255
                bytes[3 * pixel + channel] = scaled.isNaN || scaled <= 0 ? 0 : scaled >= 255 ? 255 : UInt8(scaled.rounded())
            }
        }
        return PNGEncoder.encode(rgb: bytes, width: width, height: height)
    }
}

extension PredictionFigure {
    /// What the figure shows of the input, left of the histograms.
    public enum Input: Sendable {
        /// A grey image, drawn pixelated.
        case grey(GreyImage)
        /// A colour image, drawn pixelated.
        case colour(RGBImage)
        /// A table row: its features by name, of which the figure lists the first few.
        case features([Feature])

        /// One feature of a table row.
        public struct Feature: Sendable, Equatable {
            public var name: String
            public var value: Float

            public init(name: String, value: Float) {
                self.name = name
                self.value = value
            }
        }

        /// One network row `values` shown as `preprocessing` describes the inputs: an image of its shape
        /// (grey for one channel, colour for three), or a table row with its standardisation undone, so
        /// that the values are those of the source. A row that does not match the description is shown
        /// as a grey image (square when its length is a square, else one pixel high).
        public init(values: [Float], preprocessing: InputPreprocessing) {
            if let shape = preprocessing.imageShape, shape.channels * shape.height * shape.width == values.count {
                if shape.channels == 3 {
                    self = .colour(RGBImage(width: shape.width, height: shape.height, values: values))
                } else {
                    // Grey, or (a shape the model file would have refused) the first channel.
                    self = .grey(GreyImage(width: shape.width, height: shape.height,
                                           pixels: Array(values.prefix(shape.height * shape.width))))
                }
                return
            }
            if preprocessing.kind == .tabular, preprocessing.valueCount == values.count {
                let names = preprocessing.featureNames ?? []
                let means = preprocessing.means ?? [], deviations = preprocessing.standardDeviations ?? []
                let standardised = means.count == values.count && deviations.count == values.count
                self = .features(values.indices.map { j in
                    Feature(name: j < names.count ? names[j] : "x\(j)",
                            value: standardised ? values[j] * deviations[j] + means[j] : values[j])
                })
                return
            }
            if values.isEmpty {
                self = .features([])
                return
            }
            let side = Int(Double(values.count).squareRoot())
            self = .grey(side * side == values.count ? GreyImage(width: side, height: side, pixels: values)
                                                     : GreyImage(width: values.count, height: 1, pixels: values))
        }

        /// Width and height in pixels, for images.
        var pixelSize: (width: Int, height: Int)? {
            switch self {
            case .grey(let image): return (image.width, image.height)
            case .colour(let image): return (image.width, image.height)
            case .features: return nil
            }
        }

        /// The image as a PNG (nil for a table row, or an image without pixels).
        var png: [UInt8]? {
            switch self {
            case .grey(let image): return image.width > 0 && image.height > 0 ? PNGEncoder.encode(image) : nil
            case .colour(let image): return image.width > 0 && image.height > 0 ? image.png : nil
            case .features: return nil
            }
        }
    }
}
