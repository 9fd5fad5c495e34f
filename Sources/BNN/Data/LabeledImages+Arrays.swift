/// Data sets built from a program's own Swift arrays, and the seeded split that holds part of one out.
extension LabeledImages {
    /// A table: `features[i]` is example `i`'s row of numeric features (every row the same length, finite
    /// values), `labels[i]` its class in `0 ..< classes`. Stored as images one pixel high
    /// (`rows` = 1, `columns` = the number of features), which is how the library reads feature vectors.
    public init(features: [[Float]], labels: [Int]) throws {
        let width = features.first?.count ?? 0
        try self.init(checking: features, labels: labels, rows: 1, columns: width, what: "feature row")
    }

    /// Grey images: `images[i]` holds example `i`'s `height × width` pixels row by row, values in [0, 1];
    /// `labels[i]` is its class in `0 ..< classes`.
    public init(images: [[Float]], height: Int, width: Int, labels: [Int]) throws {
        guard height > 0, width > 0 else { throw DataSetError("images must be at least 1×1 pixels, got \(height)×\(width)") }
        try self.init(checking: images, labels: labels, rows: height, columns: width, what: "image")
    }

    private init(checking examples: [[Float]], labels: [Int], rows: Int, columns: Int, what: String) throws {
        guard !examples.isEmpty else { throw DataSetError("no examples: the data set needs at least one \(what)") }
        guard examples.count == labels.count else {
            throw DataSetError("\(examples.count) \(what)s but \(labels.count) labels; give one label per \(what)")
        }
        let size = rows * columns
        guard size > 0 else { throw DataSetError("\(what) 0 is empty") }
        let tensor = Tensor(shape: [examples.count, size])
        for (index, example) in examples.enumerated() {
            guard example.count == size else {
                throw DataSetError("\(what) \(index) has \(example.count) values, expected \(size) (as \(what) 0 has)")
            }
            if let column = example.firstIndex(where: { !$0.isFinite }) {
                throw DataSetError("\(what) \(index) holds \(example[column]) at position \(column); values must be finite")
            }
            (tensor.pointer + index * size).update(from: example, count: size)
        }
        if let index = labels.firstIndex(where: { $0 < 0 }) {
            throw DataSetError("label \(index) is \(labels[index]); labels are class numbers 0, 1, 2, …")
        }
        self.init(images: tensor, labels: labels, rows: rows, columns: columns)
    }

    /// The number of classes the labels name: the largest label plus one.
    public var classCount: Int { (labels.max() ?? -1) + 1 }
}

/// A data set that cannot be used as given: arrays of mismatched lengths, non-finite values, labels out of
/// range, examples of another size than the network reads. The description names the example and the problem.
public struct DataSetError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
