import Testing
@testable import BNN

@Suite struct GreyLevelsTests {
    @Test func levelsAreExactQuotientsAndQuantizingInvertsThem() {
        #expect(GreyLevels.values.count == 256)
        #expect((0...255).allSatisfy { GreyLevels.values[$0] == Float($0) / 255 })
        #expect(GreyLevels.quantize(GreyLevels.values, count: 256) == (0...255).map(UInt8.init))
    }

    @Test func quantizingRoundsToTheNearestLevelAndClamps() {
        let values: [Float] = [0.4 / 255, 0.6 / 255, 127.49 / 255, 127.51 / 255, -3, 1.5, .nan, .infinity, -.infinity]
        #expect(GreyLevels.quantize(values, count: values.count) == [0, 1, 127, 128, 0, 255, 0, 255, 0])
        // Any value in [0, 1] moves by at most half a level.
        var generator = RandomGenerator(seed: 3)
        let random = (0..<10_000).map { _ in generator.uniform() }
        let levels = GreyLevels.quantize(random, count: random.count)
        let worst = zip(random, levels).map { abs($0 - GreyLevels.values[Int($1)]) }.max()!
        #expect(worst <= 0.5 / 255 + 1e-7)
    }

    @Test func expandingWritesTheRangeAsked() {
        let levels: [UInt8] = [0, 51, 102, 255, 17]
        var out = [Float](repeating: -1, count: 4)
        GreyLevels.expand(levels, from: 1, count: 3, into: &out)
        #expect(out == [0.2, 0.4, 1, -1])
    }

    /// A set held as grey levels answers every question as its Float32 twin does, and keeps its storage
    /// through subsets; concatenation stays in grey levels only when every part is.
    @Test func greyLevelSetsBehaveAsTheirFloatTwins() throws {
        var generator = RandomGenerator(seed: 5)
        let levels = (0..<6 * 4).map { _ in UInt8(generator.integer(below: 256)) }
        let labels = [0, 1, 2, 0, 1, 2]
        let grey = LabeledImages(greyLevels: levels, labels: labels, rows: 2, columns: 2)
        let twin = LabeledImages(images: Tensor(shape: [6, 4], values: levels.map { Float($0) / 255 }), labels: labels, rows: 2, columns: 2)
        #expect(grey.isHeldAsGreyLevels && !twin.isHeldAsGreyLevels && twin.expandedImages() === twin.images)
        #expect(grey.expandedImages().array == twin.images.array && grey.count == 6 && grey.valuesPerImage == 4)
        var image = [Float](repeating: 0, count: 4)
        grey.copyImage(4, into: &image)
        #expect(image == Array(twin.images.array[16..<20]))

        let range = grey.subset(2..<5), picked = grey.subset(indices: [5, 0, 5])
        #expect(range.isHeldAsGreyLevels && range.expandedImages().array == twin.subset(2..<5).images.array && range.labels == [2, 0, 1])
        #expect(picked.isHeldAsGreyLevels && picked.expandedImages().array == twin.subset(indices: [5, 0, 5]).images.array)
        #expect(picked.labels == [2, 0, 2])

        let both = LabeledImages(concatenating: [grey, range])
        #expect(both.isHeldAsGreyLevels && both.labels == labels + [2, 0, 1])
        #expect(both.expandedImages().array == twin.images.array + range.expandedImages().array)
        let mixed = LabeledImages(concatenating: [grey, twin])
        #expect(!mixed.isHeldAsGreyLevels && mixed.images.array == twin.images.array + twin.images.array)

        let back = twin.heldAsGreyLevels()
        #expect(back.isHeldAsGreyLevels && back.expandedImages().array == twin.images.array && back.labels == labels)
    }

    /// Training reads a grey-level set image by image: the trained parameters are those of the same
    /// training on the Float32 twin, bit for bit.
    @Test func trainingOnGreyLevelsEqualsTrainingOnFloats() throws {
        var generator = RandomGenerator(seed: 7)
        let count = 40, features = 16
        let levels = (0..<count * features).map { _ in UInt8(generator.integer(below: 256)) }
        let labels = (0..<count).map { $0 % 3 }
        let grey = LabeledImages(greyLevels: levels, labels: labels, rows: 4, columns: 4)
        let floats = LabeledImages(images: grey.expandedImages(), labels: labels, rows: 4, columns: 4)
        var configuration = TrainingConfiguration.default
        configuration.epochs = 2
        configuration.batchSize = 8
        configuration.hidden = 5
        configuration.augmentation = .digits
        func trained(on set: LabeledImages) throws -> [[Float]] {
            var generator = RandomGenerator(seed: 1)
            let network = try ClassifierTraining.makeNetwork(configuration, inputShape: [features], classes: 3, generator: &generator)
            Trainer(network: network, configuration: configuration, generator: RandomGenerator(seed: 9)).train(on: set, validation: nil)
            return network.namedParameters.map { $0.parameter.value.array }
        }
        let fromGrey = try trained(on: grey), fromFloats = try trained(on: floats)
        #expect(fromGrey == fromFloats)
    }
}
