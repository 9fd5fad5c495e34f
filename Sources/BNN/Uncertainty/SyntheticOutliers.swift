/// Inputs that are certainly not in a data set, made from its own examples, for choosing an uncertainty
/// score (and for outlier exposure) without looking at any real out-of-distribution set.
///
/// Each outlier keeps some statistics of real examples, so that telling it apart takes more than noticing
/// an unusual brightness or scale. For images (`[channels, height, width]`, height and width at least 2):
/// (1) an image's values randomly permuted (same histogram, no strokes); (2) two images of different
/// classes overlaid (strokes, but no single object); (3) an image rotated by 90° when it is square, by
/// 180° otherwise (the strokes of one object, but rarely an object of its class). For feature vectors
/// (any other shape): (1) each feature taken from a different random example (every feature's values are
/// real ones, their combination is not); (2) every feature of an example moved far outside the range the
/// set spans; (3) one feature of an example moved far outside it.
public enum SyntheticOutliers {
    /// Whether `shape` is read as images: `[channels, height, width]` with height and width at least 2.
    /// Anything else (one dimension, or images one pixel high or wide) is a vector of features.
    static func isImage(_ shape: [Int]) -> Bool { shape.count == 3 && shape[1] >= 2 && shape[2] >= 2 }

    /// The shape of one example of `set` when the network reads `networkShape`: the network's own shape
    /// when it is `[channels, height, width]`, else the set's `[1, rows, columns]` (an MLP flattens its
    /// images, but its outliers are still made from images).
    public static func exampleShape(of set: LabeledImages, networkShape: [Int]) -> [Int] {
        networkShape.count == 3 && networkShape.reduce(1, *) == set.valuesPerImage ? networkShape : [1, set.rows, set.columns]
    }

    /// `count` outliers (a third of each kind) made from `examples`, whose rows are examples of `shape`
    /// (see the type's documentation; by default `[1, rows, columns]` of the set).
    public static func make(from examples: LabeledImages, shape: [Int]? = nil, count: Int, generator: inout RandomGenerator) -> Tensor {
        let shape = shape ?? [1, examples.rows, examples.columns]
        let size = examples.valuesPerImage
        precondition(shape.reduce(1, *) == size, "outlier shape \(shape) does not match examples of \(size) values")
        let result = Tensor(shape: [count, size])
        guard count > 0, examples.count > 0, size > 0 else { return result }
        let values = examples.expandedImages()
        if isImage(shape) {
            makeImages(from: examples, values: values, shape: shape, into: result, generator: &generator)
        } else {
            makeVectors(from: examples, values: values, into: result, generator: &generator)
        }
        return result
    }

    private static func makeImages(from examples: LabeledImages, values: Tensor, shape: [Int], into result: Tensor, generator: inout RandomGenerator) {
        let (channels, height, width) = (shape[0], shape[1], shape[2])
        let size = channels * height * width, plane = height * width
        var permutation = Array(0..<size)
        for index in 0..<result.rows {
            let sourceIndex = generator.integer(below: examples.count)
            let source = values.pointer + sourceIndex * size
            let destination = result.pointer + index * size
            switch index % 3 {
            case 0:
                generator.shuffle(&permutation)
                for p in 0..<size { destination[p] = source[permutation[p]] }
            case 1:
                let second = values.pointer + otherClass(than: sourceIndex, in: examples, generator: &generator) * size
                for p in 0..<size { destination[p] = max(source[p], second[p]) }
            default:
                for channel in 0..<channels {
                    let (from, to) = (source + channel * plane, destination + channel * plane)
                    for row in 0..<height {
                        for column in 0..<width {
                            if height == width {
                                to[column * width + (width - 1 - row)] = from[row * width + column]
                            } else {
                                to[(height - 1 - row) * width + (width - 1 - column)] = from[row * width + column]
                            }
                        }
                    }
                }
            }
        }
    }

    private static func makeVectors(from examples: LabeledImages, values: Tensor, into result: Tensor, generator: inout RandomGenerator) {
        let size = examples.valuesPerImage
        // Each feature's range over the set; "far outside" is a few ranges beyond it.
        var low = [Float](repeating: .infinity, count: size), high = [Float](repeating: -.infinity, count: size)
        for example in 0..<examples.count {
            let row = values.pointer + example * size
            for feature in 0..<size where row[feature].isFinite {
                low[feature] = min(low[feature], row[feature])
                high[feature] = max(high[feature], row[feature])
            }
        }
        func farOutside(_ feature: Int, generator: inout RandomGenerator) -> Float {
            guard low[feature] <= high[feature] else { return 0 }
            let span = max(high[feature] - low[feature], 1)
            let distance = (3 + 2 * generator.uniform()) * span
            return generator.integer(below: 2) == 0 ? low[feature] - distance : high[feature] + distance
        }
        for index in 0..<result.rows {
            let destination = result.pointer + index * size
            let source = values.pointer + generator.integer(below: examples.count) * size
            switch index % 3 {
            case 0:
                for feature in 0..<size {
                    destination[feature] = values.pointer[generator.integer(below: examples.count) * size + feature]
                }
            case 1:
                for feature in 0..<size { destination[feature] = farOutside(feature, generator: &generator) }
            default:
                destination.update(from: source, count: size)
                let feature = generator.integer(below: size)
                destination[feature] = farOutside(feature, generator: &generator)
            }
        }
    }

    /// An example of another class than `index` (up to 20 tries, then whatever the last draw was).
    private static func otherClass(than index: Int, in examples: LabeledImages, generator: inout RandomGenerator) -> Int {
        var other = generator.integer(below: examples.count)
        var tries = 0
        while examples.labels[other] == examples.labels[index] && tries < 20 {
            other = generator.integer(below: examples.count)
            tries += 1
        }
        return other
    }

    /// Fills the `count` rows at `destination` with outliers for outlier exposure (see
    /// `TrainingConfiguration.outlierWeight`), made from the `rows` examples of `shape` at `batch`.
    ///
    /// Images are cut into a 4 × 4 grid of tiles (`tileShuffled`), outlier `i` from example `i % rows`:
    /// pieces of strokes, never a whole object. Feature vectors are points 1.5 to 5 times the batch's radius
    /// from its centre in a random direction, beyond every example: a ReLU network is otherwise sure of
    /// some class far from all data. They lie outside the data, not among it: outliers inside the data's
    /// range would teach the network to doubt real rows.
    /// Neither is among the kinds `make` builds for choosing the refusal score, so that choice is never
    /// made on the kind of outlier the model was trained on.
    public static func exposure(
        from batch: UnsafePointer<Float>, rows: Int, shape: [Int], into destination: UnsafeMutablePointer<Float>, count: Int,
        generator: inout RandomGenerator
    ) {
        let size = shape.reduce(1, *)
        guard count > 0, rows > 0, size > 0 else { return }
        if isImage(shape) {
            for row in 0..<count {
                tileShuffled(batch + (row % rows) * size, into: destination + row * size, channels: shape[0], height: shape[1],
                             width: shape[2], grid: 4, generator: &generator)
            }
        } else {
            // The batch's centre and radius (the largest distance of an example from the centre; 1 when the
            // batch is one point): outliers lie 1.5 to 5 radii from the centre, beyond every example.
            var centre = [Float](repeating: 0, count: size)
            for row in 0..<rows {
                for feature in 0..<size { centre[feature] += batch[row * size + feature] / Float(rows) }
            }
            var radius: Float = 0
            for row in 0..<rows {
                var squares: Float = 0
                for feature in 0..<size { squares += (batch[row * size + feature] - centre[feature]) * (batch[row * size + feature] - centre[feature]) }
                radius = max(radius, squares.squareRoot())
            }
            if !(radius > 0 && radius.isFinite) { radius = 1 }
            var direction = [Float](repeating: 0, count: size)
            for row in 0..<count {
                direction.withUnsafeMutableBufferPointer { generator.fillNormal($0.baseAddress!, count: size) }
                let norm = max(direction.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                let scale = radius * (1.5 + 3.5 * generator.uniform()) / norm
                for feature in 0..<size { destination[row * size + feature] = centre[feature] + scale * direction[feature] }
            }
        }
    }

    /// The `side × side` image at `source` cut into `tile × tile` squares (`side` a multiple of `tile`)
    /// that are put back in a random order, into `destination`.
    public static func tileShuffled(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, side: Int, tile: Int,
        generator: inout RandomGenerator
    ) {
        precondition(tile > 0 && side % tile == 0, "tile \(tile) does not divide side \(side)")
        tileShuffled(source, into: destination, channels: 1, height: side, width: side, grid: side / tile, generator: &generator)
    }

    /// The `[channels, height, width]` image at `source` cut into a `grid × grid` array of equal tiles put
    /// back in a random order (the same for every channel), into `destination`. Tiles are
    /// `height / grid × width / grid` pixels (at least 1); the rows and columns left over at the bottom and
    /// right, when the sides are not multiples of `grid`, are copied in place.
    public static func tileShuffled(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
        grid: Int, generator: inout RandomGenerator
    ) {
        precondition(channels > 0 && height > 0 && width > 0 && grid > 0,
                     "tileShuffled needs a positive shape and grid, got [\(channels), \(height), \(width)], grid \(grid)")
        let tileHeight = max(1, height / grid), tileWidth = max(1, width / grid)
        let gridRows = height / tileHeight, gridColumns = width / tileWidth
        let plane = height * width
        if gridRows * tileHeight < height || gridColumns * tileWidth < width {
            destination.update(from: source, count: channels * plane)
        }
        var order = Array(0..<(gridRows * gridColumns))
        generator.shuffle(&order)
        for (target, origin) in order.enumerated() {
            let (targetRow, targetColumn) = (target / gridColumns * tileHeight, target % gridColumns * tileWidth)
            let (originRow, originColumn) = (origin / gridColumns * tileHeight, origin % gridColumns * tileWidth)
            for channel in 0..<channels {
                for y in 0..<tileHeight {
                    (destination + channel * plane + (targetRow + y) * width + targetColumn)
                        .update(from: source + channel * plane + (originRow + y) * width + originColumn, count: tileWidth)
                }
            }
        }
    }
}
