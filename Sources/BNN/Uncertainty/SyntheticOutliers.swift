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
}
