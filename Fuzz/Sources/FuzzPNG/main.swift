import BNN
import BNNData
import FuzzDriver

// PNG files: decode (or throw a `DataError`), then normalise like `bnn predict`.
FuzzDriver.run { bytes in
    guard let image = try? PNGDecoder.decode(bytes, path: "fuzz.png", maximumPixelCount: 1 << 20) else { return }
    _ = DigitNormalizer.normalize(image)
}
