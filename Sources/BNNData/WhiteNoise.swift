import BNN

/// Images of uniform white noise: every pixel an independent draw from [0, 1).
///
/// The simplest "not a digit" input: a classifier that is confident on noise has not learned to
/// say "I don't know".
public enum WhiteNoise {
    /// `count` noise images of `rows`×`columns` drawn from `generator`.
    public static func images(count: Int, rows: Int = 28, columns: Int = 28, generator: inout RandomGenerator) -> UnlabeledImages {
        precondition(count >= 0 && rows > 0 && columns > 0, "WhiteNoise needs count ≥ 0 and a positive size, got \(count), \(rows)×\(columns)")
        let tensor = Tensor(shape: [count, rows * columns])
        generator.fillUniform(tensor.pointer, count: tensor.count)
        return UnlabeledImages(images: tensor, rows: rows, columns: columns)
    }

    /// `count` noise images drawn from a generator seeded with `seed`.
    public static func images(count: Int, rows: Int = 28, columns: Int = 28, seed: UInt64) -> UnlabeledImages {
        var generator = RandomGenerator(seed: seed)
        return images(count: count, rows: rows, columns: columns, generator: &generator)
    }
}
