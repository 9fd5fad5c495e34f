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

    /// Over many draws of a setting: values stay in [0, 1], the centre of mass and the ink's longer side
    /// move by at most the given amounts, while the image itself does change.
    /// - `digits`: the centre by less than a pixel, the longer side by at most three (thickening widens it
    ///   by up to two, the resampling by one): the framing MNIST gives every digit.
    /// - `digitsElastic`: more loosely, as the warp moves ink by about 1.4 pixels: the centre by less than
    ///   1.5 (its second pass puts the centre back only to first order; 2.2 without it), the longer side by
    ///   at most 8 (it changes by the difference of the field at the ink's two ends, about 2 pixels'
    ///   standard deviation).
    @Test(arguments: [(ImageAugmentation.digits, Float(1), 3), (ImageAugmentation.digitsElastic, Float(1.5), 8)])
    func keepsTheFraming(setting: ImageAugmentation, centreBound: Float, extentBound: Int) {
        let original = strokeImage()
        let before = centreAndExtent(original)
        var scratch = [Float](repeating: 0, count: 784)
        var generator = RandomGenerator(seed: 4)
        var always = setting
        always.probability = 1
        var changed = 0
        for draw in 0..<100 {
            var image = original
            always.apply(to: &image, channels: 1, height: 28, width: 28, scratch: &scratch, generator: &generator)
            #expect(image.allSatisfy { $0 >= 0 && $0 <= 1.0001 }, "draw \(draw)")
            let after = centreAndExtent(image)
            #expect(abs(after.x - before.x) < centreBound && abs(after.y - before.y) < centreBound,
                    "draw \(draw): centre moved to (\(after.x), \(after.y))")
            #expect(abs(after.extent - before.extent) <= extentBound, "draw \(draw): extent \(before.extent) → \(after.extent)")
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
    /// The trainer draws a minibatch's changes first and changes the images in parallel; by hand each image
    /// is drawn and changed in turn.
    @Test(arguments: [ImageAugmentation.digits, .digitsElastic])
    func trainerChangesEachMinibatchBeforeOutlierExposure(augmentation: ImageAugmentation) throws {
        var configuration = handCheckedConfiguration(outlierWeight: 0.5)
        configuration.augmentation = augmentation
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

    /// The cubic B-spline's weights by hand: at a control point (1/6, 2/3, 1/6, 0), half way (1, 23, 23, 1)/48,
    /// and they sum to 1 everywhere (so equal control points displace every pixel equally).
    @Test func bSplineWeightsByHand() {
        func distance(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> Float { (0..<4).map { abs(a[$0] - b[$0]) }.max()! }
        let atPoint = ImageAugmentation.cubicBSplineWeights(2)
        #expect(atPoint.first == 2)
        #expect(distance(atPoint.weights, SIMD4<Float>(1, 4, 1, 0) / 6) < 1e-7)
        let halfway = ImageAugmentation.cubicBSplineWeights(0.5)
        #expect(halfway.first == 0)
        #expect(distance(halfway.weights, SIMD4<Float>(1, 23, 23, 1) / 48) < 1e-7)
        for step in 0..<40 {
            let weights = ImageAugmentation.cubicBSplineWeights(Float(step) * 0.1).weights
            #expect(abs(weights.sum() - 1) < 1e-6 && weights.min() >= 0, "u = \(Float(step) * 0.1)")
        }
    }

    /// The displacement field against its definition, summed directly in Double: control points
    /// `elasticSpacing` · 28 = 7 pixels apart from one spacing before the image, drawn in order (x then y per
    /// point, row by row), blended by the B-spline in both axes. A non-square image takes the longer side.
    @Test(arguments: [(28, 28), (20, 33)])
    func elasticFieldIsTheSplineOfItsControlPoints(height: Int, width: Int) {
        var setting = ImageAugmentation.digitsElastic
        setting.probability = 1
        var generator = RandomGenerator(seed: 12)
        var twin = generator
        var drawn = [Float](repeating: .nan, count: setting.elasticControlCount(height: height, width: width) + 1)
        _ = setting.draw(height: height, width: width, controls: &drawn, generator: &generator)
        #expect(drawn.last!.isNaN, "draw wrote past elasticControlCount")
        var fieldX = [Float](repeating: 0, count: height * width), fieldY = fieldX
        setting.elasticField(height: height, width: width, controls: drawn, x: &fieldX, y: &fieldY)
        let side = Double(max(height, width)), spacing = Double(ImageAugmentation.elasticSpacing) * side
        let rows = Int(Double(height - 1) / spacing) + 4, columns = Int(Double(width - 1) / spacing) + 4
        #expect(setting.elasticControlCount(height: height, width: width) == 2 * rows * columns)
        var plain = setting
        plain.elastic = 0
        _ = plain.draw(height: height, width: width, controls: &drawn, generator: &twin)  // the draws before the controls
        var draws = [Float](repeating: 0, count: 2 * rows * columns)
        twin.fillNormal(&draws, count: draws.count)  // one fill: x then y per point, row by row
        let controls = (0..<rows * columns).map {
            (x: Double(setting.elastic) * side * Double(draws[2 * $0]), y: Double(setting.elastic) * side * Double(draws[2 * $0 + 1]))
        }
        func basis(_ d: Double) -> Double {  // the uniform cubic B-spline centred at 0, support (−2, 2)
            let a = abs(d)
            return a < 1 ? (4 - 6 * a * a + 3 * a * a * a) / 6 : a < 2 ? (2 - a) * (2 - a) * (2 - a) / 6 : 0
        }
        var largest = 0.0
        for y in 0..<height {
            for x in 0..<width {
                var (ex, ey) = (0.0, 0.0)
                for row in 0..<rows {
                    for column in 0..<columns {  // control point (row, column) lies at ((column − 1)·spacing, (row − 1)·spacing)
                        let weight = basis(Double(x) / spacing - Double(column - 1)) * basis(Double(y) / spacing - Double(row - 1))
                        ex += weight * controls[row * columns + column].x
                        ey += weight * controls[row * columns + column].y
                    }
                }
                #expect(abs(Double(fieldX[y * width + x]) - ex) < 1e-4 && abs(Double(fieldY[y * width + x]) - ey) < 1e-4,
                        "(\(x), \(y)): (\(fieldX[y * width + x]), \(fieldY[y * width + x])) against (\(ex), \(ey))")
                largest = max(largest, abs(ex), abs(ey))
            }
        }
        #expect(largest > 0.5 && largest < 8, "the field's largest displacement is \(largest) pixels")
        #expect(generator.next() == twin.next(), "the field drew other than one x and one y per control point")
    }

    /// With every affine change set to 0 and no thickness change, a changed image is the source sampled at
    /// each pixel moved by the field (the field of a twin generator that made the same draws first), then
    /// sampled again with the field shifted by the first pass's move of the centre of mass, which puts it back.
    @Test func elasticDistortionMovesEachPixelByTheField() {
        let original = strokeImage()
        let setting = ImageAugmentation(probability: 1, rotationDegrees: 0, shear: 0, aspect: 0, thicknessProbability: 0,
                                        elastic: 0.07)
        var generator = RandomGenerator(seed: 3)
        var twin = generator
        var image = original, scratch = [Float](repeating: 0, count: 784)
        setting.apply(to: &image, channels: 1, height: 28, width: 28, scratch: &scratch, generator: &generator)
        var controls = [Float](repeating: 0, count: setting.elasticControlCount(height: 28, width: 28))
        _ = setting.draw(height: 28, width: 28, controls: &controls, generator: &twin)
        var fieldX = [Float](repeating: 0, count: 784), fieldY = fieldX
        setting.elasticField(height: 28, width: 28, controls: controls, x: &fieldX, y: &fieldY)
        func warped(shift: (x: Float, y: Float)) -> [Float] {
            original.withUnsafeBufferPointer { source in
                (0..<784).map { index in
                    let (x, y) = (index % 28, index / 28)
                    return ImageAugmentation.bilinear(source.baseAddress!, height: 28, width: 28,
                                                      x: Float(x) + fieldX[index] + shift.x, y: Float(y) + fieldY[index] + shift.y)
                }
            }
        }
        let centre = centreAndExtent(original), firstPass = centreAndExtent(warped(shift: (0, 0)))
        let expected = warped(shift: (firstPass.x - centre.x, firstPass.y - centre.y))
        var moved = 0
        for index in 0..<784 {
            #expect(abs(image[index] - expected[index]) < 1e-4, "pixel \(index)")
            if abs(image[index] - original[index]) > 0.1 { moved += 1 }
        }
        #expect(moved > 20, "the distortion moved only \(moved) pixels")
        let after = centreAndExtent(image)
        #expect(abs(after.x - centre.x) < 0.3 && abs(after.y - centre.y) < 0.3,
                "the centre moved from (\(centre.x), \(centre.y)) to (\(after.x), \(after.y)); the first pass to (\(firstPass.x), \(firstPass.y))")
    }

    /// A stored setting without `elastic` (every model before it) reads as no elastic distortion, and one
    /// without it is written without the key, as before; the elastic setting survives a round trip.
    @Test func elasticIsOptionalInStoredSettings() throws {
        let stored = #"{"probability":0.5,"rotationDegrees":12,"shear":0.3,"aspect":0.2,"thicknessProbability":0.5}"#
        #expect(try JSONDecoder().decode(ImageAugmentation.self, from: Data(stored.utf8)) == .digits)
        #expect(!String(decoding: try JSONEncoder().encode(ImageAugmentation.digits), as: UTF8.self).contains("elastic"))
        let elastic = ImageAugmentation.digitsElastic
        #expect(try JSONDecoder().decode(ImageAugmentation.self, from: JSONEncoder().encode(elastic)) == elastic)
        #expect(elastic.elastic > 0)
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
        setting = .digitsElastic
        #expect(setting.invalidSetting == nil)
        setting.elastic = 0.6
        #expect(setting.invalidSetting?.hasPrefix("elastic") == true)
    }
}
