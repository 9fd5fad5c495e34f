/// How raw inputs become the rows a network reads: recorded in the model file at training time and
/// applied by every command, so that prediction sees exactly what training saw.
public struct InputPreprocessing: Codable, Sendable, Equatable {
    /// What one input is.
    public enum Kind: String, Codable, Sendable {
        /// An image, stored channel-major (`[channels, height, width]`), values in [0, 1].
        case image
        /// A row of numeric features (a CSV table).
        case tabular
    }

    /// How an image of another size is brought to `height × width`.
    public enum Resize: String, Codable, Sendable {
        /// Scaled (area-averaged, or bilinear when enlarging) to fit inside `height × width` keeping its
        /// aspect ratio, centred, and padded with its own border's mean value.
        case fitAndPad = "fit_and_pad"
    }

    public var kind: Kind
    /// The per-example shape the network reads: `[channels, height, width]` for images, `[features]` for tables.
    public var shape: [Int]
    /// Images: how other sizes are brought to `shape` (nil for tables).
    public var resize: Resize?
    /// Images: whether a single image given to `predict` or the web demo is first normalised the MNIST way
    /// (ink cropped, scaled into 20×20, centred by mass in 28×28): on for MNIST models, off otherwise.
    public var digitNormalization: Bool
    /// Tables: the feature columns, in order.
    public var featureNames: [String]?
    /// Tables: each feature's mean on the training set, subtracted before the network.
    public var means: [Float]?
    /// Tables: each feature's standard deviation on the training set (1 where it is 0), divided by.
    public var standardDeviations: [Float]?

    public init(kind: Kind, shape: [Int], resize: Resize? = nil, digitNormalization: Bool = false, featureNames: [String]? = nil,
                means: [Float]? = nil, standardDeviations: [Float]? = nil) {
        self.kind = kind
        self.shape = shape
        self.resize = resize
        self.digitNormalization = digitNormalization
        self.featureNames = featureNames
        self.means = means
        self.standardDeviations = standardDeviations
    }

    enum CodingKeys: String, CodingKey {
        case kind, shape, resize
        case digitNormalization = "digit_normalization"
        case featureNames = "feature_names"
        case means
        case standardDeviations = "standard_deviations"
    }

    /// Grey images of `height × width` pixels in [0, 1], as MNIST; `digitNormalization` for MNIST itself.
    public static func greyImages(height: Int, width: Int, digitNormalization: Bool = false) -> InputPreprocessing {
        InputPreprocessing(kind: .image, shape: [1, height, width], resize: .fitAndPad, digitNormalization: digitNormalization)
    }

    /// What a model file written before preprocessing was recorded holds: 28×28 MNIST digits.
    public static let mnist = greyImages(height: 28, width: 28, digitNormalization: true)

    /// The number of values per input.
    public var valueCount: Int { shape.reduce(1, *) }

    /// Images: `(channels, height, width)`; nil for tables.
    public var imageShape: (channels: Int, height: Int, width: Int)? {
        kind == .image && shape.count == 3 ? (shape[0], shape[1], shape[2]) : nil
    }

    /// Standardisation for a table whose training rows are `rows` (`[count, features]`): each feature's mean
    /// and standard deviation (1 for a constant feature, so that it becomes 0 rather than NaN).
    public static func tabular(featureNames: [String], fittedTo rows: Tensor) -> InputPreprocessing {
        let count = rows.rows, features = featureNames.count
        precondition(rows.count == count * features, "\(features) feature names for rows of shape \(rows.shape)")
        var means = [Float](repeating: 0, count: features), deviations = [Float](repeating: 1, count: features)
        for j in 0..<features {
            var sum = 0.0
            for i in 0..<count { sum += Double(rows.pointer[i * features + j]) }
            let mean = count > 0 ? sum / Double(count) : 0
            var squares = 0.0
            for i in 0..<count {
                let d = Double(rows.pointer[i * features + j]) - mean
                squares += d * d
            }
            let deviation = count > 1 ? (squares / Double(count - 1)).squareRoot() : 0
            means[j] = Float(mean)
            deviations[j] = deviation > 0 && deviation.isFinite ? Float(deviation) : 1
        }
        return InputPreprocessing(kind: .tabular, shape: [features], featureNames: featureNames, means: means,
                                  standardDeviations: deviations)
    }

    /// Applies the table standardisation `(x − mean) / sd` to `rows` in place (nothing for images).
    public func standardize(_ rows: Tensor) {
        guard kind == .tabular, let means, let standardDeviations else { return }
        let features = means.count
        precondition(rows.count % max(features, 1) == 0, "rows of shape \(rows.shape) for \(features) features")
        let count = rows.count / max(features, 1)
        for i in 0..<count {
            let row = rows.pointer + i * features
            for j in 0..<features { row[j] = (row[j] - means[j]) / standardDeviations[j] }
        }
    }

    /// Why the recorded values cannot be used, or nil (checked when a model file is loaded).
    public var invalidSetting: String? {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), Tensor.elementCount(of: shape) != nil else {
            return "shape \(shape) must be positive sizes"
        }
        switch kind {
        case .image:
            if shape.count != 3 { return "an image shape must be [channels, height, width], got \(shape)" }
            if ![1, 3].contains(shape[0]) { return "images must have 1 or 3 channels, got \(shape[0])" }
        case .tabular:
            if shape.count != 1 { return "a table's shape must be [features], got \(shape)" }
            let features = shape[0]
            if let featureNames, featureNames.count != features { return "\(featureNames.count) feature names for \(features) features" }
            guard let means, let standardDeviations, means.count == features, standardDeviations.count == features else {
                return "a table needs one mean and one standard deviation per feature"
            }
            if !means.allSatisfy(\.isFinite) || !standardDeviations.allSatisfy({ $0.isFinite && $0 > 0 }) {
                return "means must be finite and standard deviations positive"
            }
        }
        return nil
    }
}
