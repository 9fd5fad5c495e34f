import Foundation

/// A set of images with one class label each, held in memory: what training, calibration and evaluation read.
///
/// Image `i` is `valuesPerImage` (= rows·columns) values, row-major pixels in [0, 1]; `labels[i]` is its
/// class. The values are held either as Float32 (`init(images:labels:rows:columns:)`) or as 8-bit grey
/// levels `g`, read as `g / 255` (`init(greyLevels:labels:rows:columns:)`, `heldAsGreyLevels()`): a quarter
/// of the memory, for large training sets of pixels (MNIST's training split is read this way). Training
/// reads one image at a time (`copyImage(_:into:)`), which is as fast from either storage.
public struct LabeledImages: Sendable {
    /// How the values are held.
    private enum Storage: Sendable {
        case values(Tensor)
        case greyLevels([UInt8])
    }
    private let storage: Storage
    /// The class of each image, 0 ..< the number of classes.
    public let labels: [Int]
    /// The height of each image in pixels.
    public let rows: Int
    /// The width of each image in pixels.
    public let columns: Int

    /// The number of images.
    public var count: Int { labels.count }
    /// The values of one image, rows·columns.
    public var valuesPerImage: Int { rows * columns }
    /// Whether the values are held as 8-bit grey levels rather than Float32.
    public var isHeldAsGreyLevels: Bool {
        if case .greyLevels = storage { return true } else { return false }
    }

    /// The pixels, shape [count, rows·columns], values in [0, 1], of a set held as Float32 (the tensor itself,
    /// not a copy). A set held as grey levels has no such tensor: read it with `copyImage(_:into:)` or
    /// `expandedImages()`; asking it for `images` is a programmer error (a copy made here could be freed
    /// while its `pointer` was still in use).
    public var images: Tensor {
        guard case .values(let tensor) = storage else {
            preconditionFailure("this set is held as grey levels: read it with copyImage(_:into:) or expandedImages()")
        }
        return tensor
    }

    /// The pixels as Float32, shape [count, rows·columns], whatever the storage: `images` for a set held as
    /// Float32, a new tensor of `g / 255` values for one held as grey levels.
    public func expandedImages() -> Tensor {
        switch storage {
        case .values(let tensor): return tensor
        case .greyLevels(let levels):
            let tensor = Tensor(shape: [count, valuesPerImage])
            GreyLevels.expand(levels, from: 0, count: levels.count, into: tensor.pointer)
            return tensor
        }
    }

    /// Creates a set held as Float32; `images` must have shape [labels.count, rows·columns].
    public init(images: Tensor, labels: [Int], rows: Int, columns: Int) {
        precondition(images.shape == [labels.count, rows * columns],
                     "LabeledImages needs images of shape [\(labels.count), \(rows * columns)], got \(images.shape)")
        self.storage = .values(images)
        self.labels = labels
        self.rows = rows
        self.columns = columns
    }

    /// Creates a set held as 8-bit grey levels, `labels.count · rows · columns` of them, image after image;
    /// level `g` is the value `g / 255`.
    public init(greyLevels: [UInt8], labels: [Int], rows: Int, columns: Int) {
        precondition(greyLevels.count == labels.count * rows * columns,
                     "LabeledImages needs \(labels.count) × \(rows * columns) grey levels, got \(greyLevels.count)")
        self.storage = .greyLevels(greyLevels)
        self.labels = labels
        self.rows = rows
        self.columns = columns
    }

    /// The same set held as 8-bit grey levels (`GreyLevels.quantize`): exact for images read from 8-bit
    /// files; a resampled image's values move by at most 1/510, below what an 8-bit image can show.
    public func heldAsGreyLevels() -> LabeledImages {
        guard case .values(let tensor) = storage else { return self }
        let levels = GreyLevels.quantize(tensor.pointer, count: tensor.count)
        return LabeledImages(greyLevels: levels, labels: labels, rows: rows, columns: columns)
    }

    /// Writes image `index`'s `valuesPerImage` values to `destination`.
    public func copyImage(_ index: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < count, "image \(index) out of 0..<\(count)")
        copyImages(index..<index + 1, into: destination)
    }

    /// Writes the values of the images at `range`, one after another, to `destination`.
    private func copyImages(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let size = valuesPerImage
        switch storage {
        case .values(let tensor): destination.update(from: tensor.pointer + range.lowerBound * size, count: range.count * size)
        case .greyLevels(let levels): GreyLevels.expand(levels, from: range.lowerBound * size, count: range.count * size, into: destination)
        }
    }

    /// The images without their labels (as Float32: `expandedImages()`).
    public var unlabeled: UnlabeledImages { UnlabeledImages(images: expandedImages(), rows: rows, columns: columns) }

    /// A copy of the images and labels at positions `range`, held as this set is.
    public func subset(_ range: Range<Int>) -> LabeledImages {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "Subset \(range) out of 0..<\(count)")
        let size = valuesPerImage
        switch storage {
        case .values:
            let result = Tensor(shape: [range.count, size])
            copyImages(range, into: result.pointer)
            return LabeledImages(images: result, labels: Array(labels[range]), rows: rows, columns: columns)
        case .greyLevels(let levels):
            return LabeledImages(greyLevels: Array(levels[range.lowerBound * size ..< range.upperBound * size]),
                                 labels: Array(labels[range]), rows: rows, columns: columns)
        }
    }

    /// The sets one after another, copied once into one set; all must have the same image size (at least
    /// one set). The result is held as grey levels when every set is, else as Float32.
    public init(concatenating sets: [LabeledImages]) {
        precondition(!sets.isEmpty, "concatenating no sets")
        let (rows, columns) = (sets[0].rows, sets[0].columns)
        for set in sets {
            precondition(set.rows == rows && set.columns == columns,
                         "concatenating \(set.rows)×\(set.columns) images with a set of \(rows)×\(columns)")
        }
        let labels = sets.flatMap(\.labels)
        if sets.allSatisfy(\.isHeldAsGreyLevels) {
            var levels: [UInt8] = []
            levels.reserveCapacity(labels.count * rows * columns)
            for set in sets { if case .greyLevels(let part) = set.storage { levels += part } }
            self.init(greyLevels: levels, labels: labels, rows: rows, columns: columns)
            return
        }
        let size = rows * columns
        let result = Tensor(shape: [labels.count, size])
        var offset = 0
        for set in sets {
            set.copyImages(0..<set.count, into: result.pointer + offset * size)
            offset += set.count
        }
        self.init(images: result, labels: labels, rows: rows, columns: columns)
    }

    /// A copy of the images and labels at `indices`, in that order (repeats allowed), held as this set is.
    public func subset(indices: [Int]) -> LabeledImages {
        let size = valuesPerImage
        for index in indices { precondition(index >= 0 && index < count, "Subset index \(index) out of 0..<\(count)") }
        let labels = indices.map { self.labels[$0] }
        switch storage {
        case .values:
            let result = Tensor(shape: [indices.count, size])
            for (position, index) in indices.enumerated() { copyImages(index..<index + 1, into: result.pointer + position * size) }
            return LabeledImages(images: result, labels: labels, rows: rows, columns: columns)
        case .greyLevels(let levels):
            var picked: [UInt8] = []
            picked.reserveCapacity(indices.count * size)
            for index in indices { picked += levels[index * size ..< (index + 1) * size] }
            return LabeledImages(greyLevels: picked, labels: labels, rows: rows, columns: columns)
        }
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
