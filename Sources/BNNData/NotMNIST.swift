import BNN
import Foundation

/// notMNIST letters A–J (Yaroslav Bulatov) in MNIST format: the "not a digit" test set.
///
/// Looked up in `notmnist/` of the data folders (`DataLocator`); never downloaded.
public enum NotMNIST {
    /// Published SHA-256 of the decompressed content of the 10,000-image sample in shared/datasets.
    public static let knownChecksums: [String: String] = [
        "t10k-images-idx3-ubyte": "8e7f38ae95cc8f48e0986175ffc9137e5007ebcf3d8fdf6656c904eb9dab198b",
        "t10k-labels-idx1-ubyte": "5f8e6012f2ce730700d8d05fca098bc47f71d25b890e4bec7ac5ebfd614a4001",
    ]

    /// The notMNIST images (28×28, values in [0, 1]), or nil when no `notmnist/` images file exists.
    ///
    /// - Throws: `DataError` naming the file when it exists but is malformed or not 28×28.
    public static func loadImages(
        dataDirectory: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> UnlabeledImages? {
        let locator = DataLocator(dataDirectory: dataDirectory, environment: environment)
        guard let url = locator.file(named: "t10k-images-idx3-ubyte", in: "notmnist") else { return nil }
        return try UnlabeledImages.load(images: url, expectedRows: 28, expectedColumns: 28)
    }

    /// The notMNIST images with their labels (0–9 for A–J), or nil when either file is absent.
    public static func load(
        dataDirectory: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LabeledImages? {
        let locator = DataLocator(dataDirectory: dataDirectory, environment: environment)
        guard let images = locator.file(named: "t10k-images-idx3-ubyte", in: "notmnist"),
              let labels = locator.file(named: "t10k-labels-idx1-ubyte", in: "notmnist") else { return nil }
        return try LabeledImages.load(images: images, labels: labels, expectedRows: 28, expectedColumns: 28, classCount: 10)
    }
}
