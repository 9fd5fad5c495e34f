import Foundation

/// A set of images with one class label each, held in memory: what training, calibration and evaluation read.
///
/// `images` has shape [count, rows·columns] (row-major pixels, values in [0, 1]); `labels[i]` is the
/// class of image `i`.
public struct LabeledImages: Sendable {
    /// The pixels, shape [count, rows·columns], values in [0, 1].
    public let images: Tensor
    /// The class of each image, 0 ..< the number of classes.
    public let labels: [Int]
    /// The height of each image in pixels.
    public let rows: Int
    /// The width of each image in pixels.
    public let columns: Int

    /// The number of images.
    public var count: Int { labels.count }

    /// Creates a set; `images` must have shape [labels.count, rows·columns].
    public init(images: Tensor, labels: [Int], rows: Int, columns: Int) {
        precondition(images.shape == [labels.count, rows * columns],
                     "LabeledImages needs images of shape [\(labels.count), \(rows * columns)], got \(images.shape)")
        self.images = images
        self.labels = labels
        self.rows = rows
        self.columns = columns
    }

    /// The images without their labels.
    public var unlabeled: UnlabeledImages { UnlabeledImages(images: images, rows: rows, columns: columns) }

    /// A copy of the images and labels at positions `range`.
    public func subset(_ range: Range<Int>) -> LabeledImages {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "Subset \(range) out of 0..<\(count)")
        let size = rows * columns
        let result = Tensor(shape: [range.count, size])
        result.pointer.update(from: images.pointer + range.lowerBound * size, count: range.count * size)
        return LabeledImages(images: result, labels: Array(labels[range]), rows: rows, columns: columns)
    }

    /// The sets one after another, copied once into one set; all must have the same image size (at least one set).
    public init(concatenating sets: [LabeledImages]) {
        precondition(!sets.isEmpty, "concatenating no sets")
        let (rows, columns) = (sets[0].rows, sets[0].columns)
        for set in sets {
            precondition(set.rows == rows && set.columns == columns,
                         "concatenating \(set.rows)×\(set.columns) images with a set of \(rows)×\(columns)")
        }
        let size = rows * columns
        let result = Tensor(shape: [sets.reduce(0) { $0 + $1.count }, size])
        var offset = 0
        for set in sets {
            (result.pointer + offset * size).update(from: set.images.pointer, count: set.count * size)
            offset += set.count
        }
        self.init(images: result, labels: sets.flatMap(\.labels), rows: rows, columns: columns)
    }

    /// A copy of the images and labels at `indices`, in that order (repeats allowed).
    public func subset(indices: [Int]) -> LabeledImages {
        let size = rows * columns
        let result = Tensor(shape: [indices.count, size])
        for (position, index) in indices.enumerated() {
            precondition(index >= 0 && index < count, "Subset index \(index) out of 0..<\(count)")
            (result.pointer + position * size).update(from: images.pointer + index * size, count: size)
        }
        return LabeledImages(images: result, labels: indices.map { labels[$0] }, rows: rows, columns: columns)
    }
}

/// A set of images without labels, e.g. white noise or an out-of-distribution set.
public struct UnlabeledImages: Sendable {
    /// The pixels, shape [count, rows·columns], values in [0, 1].
    public let images: Tensor
    /// The height of each image in pixels.
    public let rows: Int
    /// The width of each image in pixels.
    public let columns: Int
    /// The number of images.
    public var count: Int { images.shape[0] }

    /// Creates a set; `images` must have shape [count, rows·columns].
    public init(images: Tensor, rows: Int, columns: Int) {
        precondition(images.shape.count == 2 && images.shape[1] == rows * columns,
                     "UnlabeledImages needs images of shape [count, \(rows * columns)], got \(images.shape)")
        self.images = images
        self.rows = rows
        self.columns = columns
    }
}
