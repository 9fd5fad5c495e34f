import BNN

/// A grey image: `height` rows of `width` pixels, row-major, 0 = black, 1 = white.
public struct GreyImage: Sendable, Equatable {
    /// Pixels per row.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `width × height` values in [0, 1], row-major, top row first.
    public var pixels: [Float]

    /// Creates an image; `pixels` must hold `width × height` values.
    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height,
                     "GreyImage of \(width)×\(height) needs \(width * height) pixels, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> Float {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}
