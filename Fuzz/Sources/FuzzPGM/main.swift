import BNN
import BNNData
import FuzzDriver

// PGM files (P2 and P5): decode (or throw a `DataError`), then normalise like `bnn predict`.
FuzzDriver.run { bytes in
    guard let image = try? PGMDecoder.decode(bytes, path: "fuzz.pgm") else { return }
    _ = DigitNormalizer.normalize(image)
}
