import BNN
import BNNData
import Foundation
import Synchronization

/// The images behind the page's "MNIST digit", "notMNIST letter" and "noise" buttons
/// (`GET /api/sample?kind=…`).
public final class SampleImages: Sendable {
    /// A kind of sample image.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case mnist, notmnist, noise
    }

    /// One image with what it shows.
    public struct Sample: Codable, Sendable, Equatable {
        public var kind: Kind
        /// The digit ("7"), the notMNIST letter ("C"), or nil for noise.
        public var label: String?
        /// The image's index in its set (for noise: the seed it was drawn from).
        public var index: Int
        /// 784 grey values in [0, 1], row-major, white on black.
        public var pixels: [Float]
    }

    private let mnist: LabeledImages?
    private let notMNIST: UnlabeledImages?
    private let notMNISTLabels: [Int]?
    private let generator: Mutex<RandomGenerator>

    /// The kinds this instance can serve (noise always).
    public var kinds: [Kind] {
        Kind.allCases.filter { kind in
            switch kind {
            case .mnist: return mnist != nil
            case .notmnist: return notMNIST != nil
            case .noise: return true
            }
        }
    }

    /// Sample images from loaded sets (nil when absent), drawing choices from `seed`.
    public init(mnistTest: LabeledImages?, notMNIST: UnlabeledImages?, notMNISTLabels: [Int]? = nil, seed: UInt64 = 0) {
        precondition(mnistTest.map { $0.rows == 28 && $0.columns == 28 } ?? true, "MNIST samples must be 28×28")
        precondition(notMNIST.map { $0.rows == 28 && $0.columns == 28 } ?? true, "notMNIST samples must be 28×28")
        precondition(notMNISTLabels.map { $0.count == notMNIST?.count } ?? true, "one notMNIST label per image")
        self.mnist = mnistTest.flatMap { $0.count > 0 ? $0 : nil }
        self.notMNIST = notMNIST.flatMap { $0.count > 0 ? $0 : nil }
        self.notMNISTLabels = notMNISTLabels
        self.generator = Mutex(RandomGenerator(seed: seed))
    }

    /// Loads the MNIST test set and notMNIST from a data folder (`--data-dir`, else `BNN_DATA_DIR`, else the
    /// cache folder). Missing sets are left out (their buttons are disabled); nothing is downloaded.
    /// - Throws: `DataError` when a file exists but is malformed.
    public static func load(dataDirectory: String?, seed: UInt64 = 0, log: (String) -> Void = { _ in }) throws -> SampleImages {
        let locator = DataLocator(dataDirectory: dataDirectory)
        var mnist: LabeledImages?
        if let images = locator.file(named: MNIST.testImagesName, in: "mnist"),
           let labels = locator.file(named: MNIST.testLabelsName, in: "mnist") {
            mnist = try LabeledImages.load(images: images, labels: labels, expectedRows: 28, expectedColumns: 28, classCount: 10)
        } else {
            log("no MNIST test set under \(locator.dataDirectory.path)/mnist: the MNIST button is disabled")
        }
        var letters: UnlabeledImages?
        var letterLabels: [Int]?
        if let labelled = try NotMNIST.load(dataDirectory: dataDirectory) {
            letters = labelled.unlabeled
            letterLabels = labelled.labels
        } else if let images = try NotMNIST.loadImages(dataDirectory: dataDirectory) {
            letters = images
        } else {
            log("no notMNIST under \(locator.dataDirectory.path)/notmnist: the notMNIST button is disabled")
        }
        return SampleImages(mnistTest: mnist, notMNIST: letters, notMNISTLabels: letterLabels, seed: seed)
    }

    /// A sample of `kind`: image `index` of its set, or a random one when `index` is nil.
    /// - Throws: `APIError` 404 when the set is not loaded, 400 when `index` is out of range.
    public func sample(_ kind: Kind, index requested: Int? = nil) throws -> Sample {
        func pick(_ count: Int) throws -> Int {
            if let requested {
                guard (0..<count).contains(requested) else {
                    throw APIError.badRequest("index must be in 0…\(count - 1) for \(kind.rawValue); found \(requested)")
                }
                return requested
            }
            return generator.withLock { $0.integer(below: count) }
        }
        func row(_ images: Tensor, _ index: Int) -> [Float] {
            let width = images.columns
            return Array(UnsafeBufferPointer(start: images.pointer + index * width, count: width))
        }
        switch kind {
        case .mnist:
            guard let mnist else { throw APIError(.notFound, "this server has no MNIST test set (start it with --data-dir)") }
            let index = try pick(mnist.count)
            return Sample(kind: kind, label: String(mnist.labels[index]), index: index, pixels: row(mnist.images, index))
        case .notmnist:
            guard let notMNIST else { throw APIError(.notFound, "this server has no notMNIST set (start it with --data-dir)") }
            let index = try pick(notMNIST.count)
            let letters = Array("ABCDEFGHIJ")
            let label = notMNISTLabels.map { labels in labels[index] < letters.count ? String(letters[labels[index]]) : "?" }
            return Sample(kind: kind, label: label, index: index, pixels: row(notMNIST.images, index))
        case .noise:
            // The seed is the index, so any noise image can be fetched again.
            let seed = try requested.map { value -> Int in
                guard value >= 0 else { throw APIError.badRequest("index must be non-negative for noise; found \(value)") }
                return value
            } ?? generator.withLock { $0.integer(below: 1 << 30) }
            let images = WhiteNoise.images(count: 1, seed: UInt64(seed))
            return Sample(kind: kind, label: nil, index: seed, pixels: row(images.images, 0))
        }
    }
}
