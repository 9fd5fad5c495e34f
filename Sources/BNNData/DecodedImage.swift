import BNN

/// One decoded image of any PNG colour type (grey, grey + alpha, RGB, RGBA, palette; 1, 2, 4, 8 or 16
/// bits) or PGM: `channels` planes of `height × width` values in [0, 1], channel-major.
///
/// Grey images (and colour ones whose every pixel has R = G = B) have one channel, colour images three
/// (R, G, B). Transparency is composited over black (see `PNGDecoder.decodeImage`).
public struct DecodedImage: Sendable, Equatable {
    /// Pixels per row.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// 1 (grey) or 3 (R, G, B).
    public let channels: Int
    /// `channels × height × width` values in [0, 1]: channel-major, each plane row-major, top row first.
    public var pixels: [Float]

    /// The largest image a data set may hold, in pixels (4096 × 4096): a guard that keeps one decoded
    /// image (three planes of `Float`) below 200 MB however large a file claims to be.
    public static let maximumPixelCount = 1 << 24

    /// Creates an image; `pixels` must hold `channels × width × height` values.
    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(width > 0 && height > 0 && (channels == 1 || channels == 3) && pixels.count == channels * width * height,
                     "DecodedImage of \(width)×\(height)×\(channels) needs 1 or 3 channels and \(channels * width * height) values, got \(channels) and \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A one-channel image of `grey`'s pixels.
    public init(_ grey: GreyImage) {
        self.init(width: grey.width, height: grey.height, channels: 1, pixels: grey.pixels)
    }

    /// The image as `preprocessing` reads images: `preprocessing.valueCount` values, channel-major.
    ///
    /// Channels first: colour to grey by the Rec. 601 luma `0.299 R + 0.587 G + 0.114 B` (as
    /// `PNGDecoder.decode`), grey to colour by repeating the plane. Then each plane is brought to
    /// `height × width` by fit-and-pad (`fitAndPad`). MNIST-style digit normalisation is not applied here:
    /// it is for single images given to a digit model, and its callers apply it.
    ///
    /// Precondition: `preprocessing` describes images (`imageShape` is not nil) of 1 or 3 channels.
    public func converted(to preprocessing: InputPreprocessing) -> [Float] {
        guard let shape = preprocessing.imageShape, shape.channels == 1 || shape.channels == 3 else {
            preconditionFailure("converted(to:) needs an image preprocessing of 1 or 3 channels, got \(preprocessing.kind) \(preprocessing.shape)")
        }
        let plane = width * height
        var planes: [ArraySlice<Float>]
        if shape.channels == 1 && channels == 3 {
            var grey = [Float](repeating: 0, count: plane)
            for i in 0..<plane { grey[i] = 0.299 * pixels[i] + 0.587 * pixels[plane + i] + 0.114 * pixels[2 * plane + i] }
            planes = [grey[...]]
        } else {
            planes = (0..<channels).map { pixels[($0 * plane)..<(($0 + 1) * plane)] }
        }
        var output: [Float] = []
        output.reserveCapacity(shape.channels * shape.height * shape.width)
        for source in planes {
            output += DecodedImage.fitAndPad(Array(source), width: width, height: height,
                                             toWidth: shape.width, toHeight: shape.height)
        }
        if shape.channels == 3 && channels == 1 { output = output + output + output }
        return output
    }

    /// Brings one plane of `width × height` values to `toWidth × toHeight`, keeping its aspect ratio.
    ///
    /// Concretely: the scale is `s = min(toHeight / height, toWidth / width)`; the plane is resampled to
    /// `round(height·s) × round(width·s)` (each at least 1 and at most the target), axis by axis, by area
    /// averaging along an axis that shrinks (each output pixel is the mean of the source pixels it covers,
    /// fractions weighted by the part covered) and bilinear interpolation along one that grows (pixel
    /// centres aligned: source position `(o + 0.5)·n/m − 0.5`, clamped to the edge); equal sizes are copied
    /// exactly. The result is centred (odd leftovers go below and right) on a canvas filled with the mean
    /// of the source plane's border pixels (first and last rows and columns), so padding looks like the
    /// image's own background.
    public static func fitAndPad(_ plane: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Float] {
        precondition(width > 0 && height > 0 && toWidth > 0 && toHeight > 0 && plane.count == width * height,
                     "fitAndPad of \(width)×\(height) (\(plane.count) values) to \(toWidth)×\(toHeight)")
        if width == toWidth && height == toHeight { return plane }
        let scale = min(Double(toHeight) / Double(height), Double(toWidth) / Double(width))
        let newHeight = min(toHeight, max(1, Int((Double(height) * scale).rounded())))
        let newWidth = min(toWidth, max(1, Int((Double(width) * scale).rounded())))
        let columnWeights = resamplingWeights(from: width, to: newWidth)
        let rowWeights = resamplingWeights(from: height, to: newHeight)
        // Horizontal pass: height × newWidth.
        var horizontal = [Float](repeating: 0, count: height * newWidth)
        for y in 0..<height {
            for (x, weights) in columnWeights.enumerated() {
                var sum: Float = 0
                for (index, weight) in weights { sum += weight * plane[y * width + index] }
                horizontal[y * newWidth + x] = sum
            }
        }
        var border: Double = 0, borderCount = 0
        for y in 0..<height {
            for x in 0..<width where y == 0 || y == height - 1 || x == 0 || x == width - 1 {
                border += Double(plane[y * width + x])
                borderCount += 1
            }
        }
        var output = [Float](repeating: Float(border / Double(borderCount)), count: toWidth * toHeight)
        let top = (toHeight - newHeight) / 2, left = (toWidth - newWidth) / 2
        for (y, weights) in rowWeights.enumerated() {
            for x in 0..<newWidth {
                var sum: Float = 0
                for (index, weight) in weights { sum += weight * horizontal[index * newWidth + x] }
                output[(top + y) * toWidth + left + x] = min(1, max(0, sum))
            }
        }
        return output
    }

    /// For each of `to` output positions along an axis of `from` source pixels, the source pixels it reads
    /// and their weights (summing to 1): area averaging when shrinking, bilinear when growing.
    static func resamplingWeights(from: Int, to: Int) -> [[(Int, Float)]] {
        let ratio = Double(from) / Double(to)
        return (0..<to).map { output -> [(Int, Float)] in
            if to == from { return [(output, Float(1))] }
            if to > from {
                let position = min(Double(from - 1), max(0, (Double(output) + 0.5) * ratio - 0.5))
                let low = Int(position.rounded(.down)), high = min(low + 1, from - 1)
                let fraction = Float(position - Double(low))
                if fraction == 0 || high == low { return [(low, Float(1))] }
                return [(low, 1 - fraction), (high, fraction)]
            }
            let start = Double(output) * ratio, end = Double(output + 1) * ratio
            var weights: [(Int, Float)] = []
            var index = Int(start.rounded(.down))
            while Double(index) < end && index < from {
                let covered = min(end, Double(index + 1)) - max(start, Double(index))
                if covered > 1e-12 { weights.append((index, Float(covered / ratio))) }
                index += 1
            }
            return weights
        }
    }
}

extension ImageFile {
    /// Decodes the PNG or PGM image at `path` keeping its colour (`DecodedImage`), refusing images of more
    /// than `DecodedImage.maximumPixelCount` pixels.
    public static func loadImage(_ path: String) throws -> DecodedImage {
        let bytes = try DataError.readFile(path, hint: "expected a PNG or PGM image file")
        return try decodeImage(bytes, path: path)
    }

    /// Decodes image bytes keeping their colour; `path` names the file in errors.
    public static func decodeImage(_ bytes: [UInt8], path: String) throws -> DecodedImage {
        let limit = DecodedImage.maximumPixelCount
        if bytes.starts(with: PNGDecoder.signature) { return try PNGDecoder.decodeImage(bytes, path: path, maximumPixelCount: limit) }
        if isPGM(bytes) {
            let grey = try PGMDecoder.decode(bytes, path: path)
            guard PNGDecoder.pixelCount(width: grey.width, height: grey.height, maximum: limit) != nil else {
                throw DataError.badImage(path: path, reason: "image of \(grey.width)×\(grey.height) is too large (at most \(limit) pixels)")
            }
            return DecodedImage(grey)
        }
        throw DataError.unsupportedImageFormat(path: path, found: sniff(bytes), hint: "convert it to PNG or PGM")
    }
}
