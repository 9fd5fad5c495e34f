import Testing
@testable import BNN

/// Synthetic outliers for any input shape: bit-identical to the square-image version for MNIST's shapes,
/// and finite, in-bounds outliers for images of other sizes and channel counts and for feature vectors.
@Suite struct SyntheticOutliersTests {
    /// FNV-1a over the bit patterns of `count` floats.
    static func checksum(_ values: UnsafePointer<Float>, _ count: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for index in 0..<count {
            var bits = values[index].bitPattern
            for _ in 0..<4 {
                hash ^= UInt64(bits & 0xff)
                hash = hash &* 0x100_0000_01b3
                bits >>= 8
            }
        }
        return hash
    }

    /// 40 sparse 28×28 "digits" (80% zeros), labels `index % 10`.
    static func digits() -> LabeledImages {
        var generator = RandomGenerator(seed: 2024)
        let images = Tensor(shape: [40, 784])
        for index in 0..<images.count {
            let value = generator.uniform()
            images.pointer[index] = value < 0.8 ? 0 : value
        }
        return LabeledImages(images: images, labels: (0..<40).map { $0 % 10 }, rows: 28, columns: 28)
    }

    /// The checksums were recorded from the square-image-only implementation (main at 2792ef1) on the same
    /// fixture and seeds, with the generator's next draw after each (so the number of draws matches too).
    @Test func mnistShapesAreBitIdenticalToTheSquareImageVersion() {
        let digits = Self.digits()
        #expect(Self.checksum(digits.images.pointer, digits.images.count) == 7_488_138_303_976_850_550)
        for shape in [nil, [1, 28, 28], SyntheticOutliers.exampleShape(of: digits, networkShape: [784])] {
            var generator = RandomGenerator(seed: 7)
            let outliers = SyntheticOutliers.make(from: digits, shape: shape, count: 31, generator: &generator)
            #expect(Self.checksum(outliers.pointer, outliers.count) == 1_534_906_568_156_464_340)
            #expect(generator.next() == 8_132_941_603_570_991_687)
        }

        var generator = RandomGenerator(seed: 9)
        let tiles = Tensor(shape: [40, 784])
        SyntheticOutliers.exposure(from: digits.images.pointer, rows: 40, shape: [1, 28, 28], into: tiles.pointer, count: 40,
                                   generator: &generator)
        #expect(Self.checksum(tiles.pointer, tiles.count) == 5_133_650_181_367_609_006)
        #expect(generator.next() == 709_288_517_515_133_849)
    }

    /// Images of odd sizes and several channels, feature vectors and degenerate sets: right shape, finite
    /// values, no trap.
    @Test(arguments: [[3, 10, 7], [1, 5, 5], [2, 9, 13], [4, 2, 2], [12], [1], [1, 1, 6], [3, 1, 1]])
    func anyShapeGivesFiniteOutliers(shape: [Int]) {
        let size = shape.reduce(1, *)
        var generator = RandomGenerator(seed: 5)
        for count in [1, 2, 30] {
            let images = Tensor(shape: [count, size])
            generator.fillUniform(images.pointer, count: images.count, low: -2, high: 3)
            let set = LabeledImages(images: images, labels: (0..<count).map { $0 % 3 }, rows: 1, columns: size)
            let outliers = SyntheticOutliers.make(from: set, shape: shape, count: 17, generator: &generator)
            #expect(outliers.shape == [17, size])
            #expect((0..<outliers.count).allSatisfy { outliers.pointer[$0].isFinite })

            let exposed = Tensor(shape: [5, size])
            SyntheticOutliers.exposure(from: images.pointer, rows: count, shape: shape, into: exposed.pointer, count: 5,
                                       generator: &generator)
            #expect((0..<exposed.count).allSatisfy { exposed.pointer[$0].isFinite })
        }
    }

    /// Colour images: the tile shuffle moves the same tile in every channel; a square image's rotation
    /// and a non-square image's half turn keep each channel's values in that channel.
    @Test func channelsStayTogether() {
        let (channels, height, width) = (3, 8, 12)
        let plane = height * width
        let source = (0..<(channels * plane)).map(Float.init)
        var destination = [Float](repeating: -1, count: source.count)
        var generator = RandomGenerator(seed: 3)
        SyntheticOutliers.tileShuffled(source, into: &destination, channels: channels, height: height, width: width, grid: 4,
                                       generator: &generator)
        for channel in 1..<channels {
            for pixel in 0..<plane {
                #expect(destination[channel * plane + pixel] == destination[pixel] + Float(channel * plane))
            }
        }
        #expect(Set(destination) == Set(source))

        let set = LabeledImages(images: Tensor(shape: [2, channels * plane], values: source + source), labels: [0, 1],
                                rows: 1, columns: channels * plane)
        let outliers = SyntheticOutliers.make(from: set, shape: [channels, height, width], count: 3, generator: &generator)
        let rotated = Array(UnsafeBufferPointer(start: outliers.pointer + 2 * source.count, count: source.count))
        #expect(rotated == (0..<source.count).map { Float($0 / plane * plane + plane - 1 - $0 % plane) })
    }

    /// Feature vectors: "far outside" lies beyond the range of every feature in the set.
    @Test func farOutsideLeavesTheTrainingRange() {
        var generator = RandomGenerator(seed: 11)
        let images = Tensor(shape: [50, 6])
        generator.fillUniform(images.pointer, count: images.count, low: -1, high: 1)
        let set = LabeledImages(images: images, labels: (0..<50).map { $0 % 2 }, rows: 1, columns: 6)
        let outliers = SyntheticOutliers.make(from: set, shape: [6], count: 30, generator: &generator)
        for row in stride(from: 1, to: 30, by: 3) {
            #expect((0..<6).allSatisfy { abs(outliers.pointer[row * 6 + $0]) > 3 })
        }
    }
}
