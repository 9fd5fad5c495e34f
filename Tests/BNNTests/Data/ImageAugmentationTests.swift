import Foundation
import Testing
@testable import BNN

/// Training-time shape changes: what stays (class-free framing: centre of mass, ink extent, range), the
/// identity settings, and the thickness step by hand.
@Suite struct ImageAugmentationTests {
    /// A digit-like test image: a slanted bar and a crossbar of full ink with grey edges, off centre.
    func strokeImage() -> [Float] {
        var plane = [Float](repeating: 0, count: 784)
        for y in 5...22 {
            let x = 9 + (y - 5) / 5
            plane[y * 28 + x] = 1
            plane[y * 28 + x + 1] = 1
            plane[y * 28 + x + 2] = 0.4
        }
        for x in 12...19 { plane[20 * 28 + x] = 1; plane[21 * 28 + x] = 0.6 }
        return plane
    }

    func centreAndExtent(_ plane: [Float]) -> (x: Float, y: Float, extent: Int) {
        var (mass, sx, sy) = (Float(0), Float(0), Float(0))
        var (left, right, top, bottom) = (28, -1, 28, -1)
        for y in 0..<28 {
            for x in 0..<28 {
                let v = plane[y * 28 + x]
                mass += v; sx += v * Float(x); sy += v * Float(y)
                if v > 0.1 { left = min(left, x); right = max(right, x); top = min(top, y); bottom = max(bottom, y) }
            }
        }
        return (sx / mass, sy / mass, max(right - left + 1, bottom - top + 1))
    }

    /// Probability 0 changes nothing; probability 1 with every change set to 0 is the identity (the
    /// bilinear sample lands exactly on pixel centres).
    @Test func identitySettingsChangeNothing() {
        let original = strokeImage()
        var scratch = [Float](repeating: 0, count: 784)
        var generator = RandomGenerator(seed: 1)
        var image = original
        var never = ImageAugmentation.digits
        never.probability = 0
        never.apply(to: &image, channels: 1, height: 28, width: 28, scratch: &scratch, generator: &generator)
        #expect(image == original)
        let identity = ImageAugmentation(probability: 1, rotationDegrees: 0, shear: 0, aspect: 0, thicknessProbability: 0)
        identity.apply(to: &image, channels: 1, height: 28, width: 28, scratch: &scratch, generator: &generator)
        for index in 0..<784 { #expect(abs(image[index] - original[index]) < 1e-5, "pixel \(index)") }
    }

    /// Under the digit setting, over many draws: values stay in [0, 1], the centre of mass moves by less
    /// than a pixel and the ink's longer side by at most three (thickening widens it by up to two, the
    /// resampling by one: the framing MNIST gives every digit), while the image itself does change.
    @Test func keepsTheFraming() {
        let original = strokeImage()
        let before = centreAndExtent(original)
        var scratch = [Float](repeating: 0, count: 784)
        var generator = RandomGenerator(seed: 4)
        var always = ImageAugmentation.digits
        always.probability = 1
        var changed = 0
        for draw in 0..<100 {
            var image = original
            always.apply(to: &image, channels: 1, height: 28, width: 28, scratch: &scratch, generator: &generator)
            #expect(image.allSatisfy { $0 >= 0 && $0 <= 1.0001 }, "draw \(draw)")
            let after = centreAndExtent(image)
            #expect(abs(after.x - before.x) < 1 && abs(after.y - before.y) < 1, "draw \(draw): centre moved to (\(after.x), \(after.y))")
            #expect(abs(after.extent - before.extent) <= 3, "draw \(draw): extent \(before.extent) → \(after.extent)")
            if zip(image, original).contains(where: { abs($0 - $1) > 0.1 }) { changed += 1 }
        }
        #expect(changed >= 95)
    }

    /// Thickening by a full step turns one lit pixel into a plus; thinning a 3 × 3 square by a full step
    /// leaves its centre (the only pixel whose four neighbours are all lit), rescaled to the old peak.
    @Test func thicknessStepByHand() {
        var plane = [Float](repeating: 0, count: 25), scratch = [Float](repeating: 0, count: 25)
        plane[12] = 0.8
        ImageAugmentation.changeThickness(&plane, height: 5, width: 5, thicker: true, strength: 1, scratch: &scratch)
        var expected = [Float](repeating: 0, count: 25)
        for index in [7, 11, 12, 13, 17] { expected[index] = 0.8 }
        #expect(plane == expected)

        plane = [Float](repeating: 0, count: 25)
        for y in 1...3 { for x in 1...3 { plane[y * 5 + x] = 0.6 } }
        ImageAugmentation.changeThickness(&plane, height: 5, width: 5, thicker: false, strength: 1, scratch: &scratch)
        expected = [Float](repeating: 0, count: 25)
        expected[12] = 0.6
        #expect(plane == expected)
        // Half a step thins the square's edge pixels to half their value, and the centre keeps the peak.
        plane = [Float](repeating: 0, count: 25)
        for y in 1...3 { for x in 1...3 { plane[y * 5 + x] = 0.6 } }
        ImageAugmentation.changeThickness(&plane, height: 5, width: 5, thicker: false, strength: 0.5, scratch: &scratch)
        #expect(abs(plane[12] - 0.6) < 1e-6 && abs(plane[6] - 0.3) < 1e-6 && abs(plane[7] - 0.3) < 1e-6)
    }

    /// One epoch through `Trainer` with augmentation (and outlier exposure, drawn from the changed images)
    /// against the same steps by hand: each minibatch's images are changed in order before anything else.
    @Test func trainerChangesEachMinibatchBeforeOutlierExposure() throws {
        var configuration = handCheckedConfiguration(outlierWeight: 0.5)
        configuration.augmentation = .digits
        let count = 40
        let images = Tensor(shape: [count, 784])
        for item in 0..<count {
            let image = strokeImage()
            for index in 0..<784 { images.pointer[item * 784 + (index + item) % 784] = image[index] }
        }
        let labels = (0..<count).map { $0 % 3 }
        let data = LabeledImages(images: images, labels: labels, rows: 28, columns: 28)
        let networks = try identicalNetworks(configuration, count: 3, classes: 3)
        let (network, twin, unchanged) = (networks[0], networks[1], networks[2])
        Trainer(network: network, configuration: configuration, generator: RandomGenerator(seed: 9)).train(on: data, validation: nil)
        trainOneEpochByHand(twin, configuration: configuration, images: images, labels: labels, classes: 3, seed: 9, side: 28, tile: 7)
        var without = configuration
        without.augmentation = nil
        Trainer(network: unchanged, configuration: without, generator: RandomGenerator(seed: 9)).train(on: data, validation: nil)
        var differs = false
        for (((name, a), (_, b)), (_, c)) in zip(zip(network.namedParameters, twin.namedParameters), unchanged.namedParameters) {
            var worst: Float = 0
            for i in 0..<a.value.count {
                worst = max(worst, abs(a.value.pointer[i] - b.value.pointer[i]) / (1e-3 + abs(b.value.pointer[i])))
                if a.value.pointer[i] != c.value.pointer[i] { differs = true }
            }
            #expect(worst < 1e-4, "\(name): \(worst)")
        }
        #expect(differs, "augmentation changed nothing")
    }

    /// The setting is stored with the model: it survives a JSON round trip, a configuration written before
    /// it existed decodes without it, and a value out of range is named as the invalid setting.
    @Test func configurationStoresTheAugmentation() throws {
        var settings = TrainingConfiguration.default
        settings.augmentation = .digits
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(settings)) == settings)
        let old = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(TrainingConfiguration.seed))
        #expect(old.augmentation == nil)
        settings.augmentation?.rotationDegrees = 200
        #expect(settings.invalidSetting?.hasPrefix("augmentation: rotationDegrees") == true)
    }

    @Test func settingsOutOfRangeAreNamed() {
        var setting = ImageAugmentation.digits
        #expect(setting.invalidSetting == nil)
        setting.probability = 1.5
        #expect(setting.invalidSetting?.hasPrefix("probability") == true)
        setting = .digits
        setting.shear = .nan
        #expect(setting.invalidSetting?.hasPrefix("shear") == true)
        setting = .digits
        setting.aspect = -0.1
        #expect(setting.invalidSetting?.hasPrefix("aspect") == true)
    }
}
