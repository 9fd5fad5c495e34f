/// Inputs that are certainly not digits, made from digits, for choosing an uncertainty score without
/// looking at any real out-of-distribution set.
///
/// Each outlier keeps some statistics of real digits, so that telling it apart takes more than noticing
/// an unusual brightness: (1) a digit's pixels randomly permuted (same intensity histogram, no strokes);
/// (2) two digits of different classes overlaid (strokes, but no single digit); (3) a digit rotated by
/// 90° (strokes of one digit, but rarely a digit).
public enum SyntheticOutliers {
    /// `count` outliers (a third of each kind) made from `digits` (square images, `side × side`).
    public static func make(from digits: LabeledImages, count: Int, generator: inout RandomGenerator) -> Tensor {
        let side = digits.rows
        precondition(side == digits.columns, "synthetic outliers need square images")
        let pixels = side * side
        let result = Tensor(shape: [count, pixels])
        var permutation = Array(0..<pixels)
        for index in 0..<count {
            let source = digits.images.pointer + generator.integer(below: digits.count) * pixels
            let destination = result.pointer + index * pixels
            switch index % 3 {
            case 0:
                generator.shuffle(&permutation)
                for p in 0..<pixels { destination[p] = source[permutation[p]] }
            case 1:
                var other = generator.integer(below: digits.count)
                var tries = 0
                let sourceIndex = (source - digits.images.pointer) / pixels
                while digits.labels[other] == digits.labels[sourceIndex] && tries < 20 {
                    other = generator.integer(below: digits.count)
                    tries += 1
                }
                let second = digits.images.pointer + other * pixels
                for p in 0..<pixels { destination[p] = max(source[p], second[p]) }
            default:
                for row in 0..<side {
                    for column in 0..<side { destination[column * side + (side - 1 - row)] = source[row * side + column] }
                }
            }
        }
        return result
    }

    /// The `side × side` image at `source` cut into `tile × tile` squares (`side` a multiple of `tile`)
    /// that are put back in a random order, into `destination`: the strokes of a digit, locally intact,
    /// with the digit's shape gone. Outlier exposure trains on these (see
    /// `TrainingConfiguration.outlierWeight`); they are not among the kinds `make` builds for choosing
    /// the refusal score, so that choice is never made on the kind of outlier the model was trained on.
    public static func tileShuffled(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, side: Int, tile: Int,
        generator: inout RandomGenerator
    ) {
        precondition(tile > 0 && side % tile == 0, "tile \(tile) does not divide side \(side)")
        let perRow = side / tile
        var order = Array(0..<(perRow * perRow))
        generator.shuffle(&order)
        for (target, origin) in order.enumerated() {
            let (targetRow, targetColumn) = (target / perRow * tile, target % perRow * tile)
            let (originRow, originColumn) = (origin / perRow * tile, origin % perRow * tile)
            for y in 0..<tile {
                (destination + (targetRow + y) * side + targetColumn)
                    .update(from: source + (originRow + y) * side + originColumn, count: tile)
            }
        }
    }
}
