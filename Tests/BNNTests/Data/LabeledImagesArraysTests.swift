import Testing
@testable import BNN

@Suite struct LabeledImagesArraysTests {
    @Test func featureRowsBecomeOnePixelHighImages() throws {
        let set = try LabeledImages(features: [[1, 2, 3], [4, 5, 6]], labels: [1, 0])
        #expect(set.rows == 1 && set.columns == 3 && set.count == 2)
        #expect(set.images.shape == [2, 3] && set.images.array == [1, 2, 3, 4, 5, 6])
        #expect(set.classCount == 2)
        let images = try LabeledImages(images: [[0, 0.5, 1, 0.25, 0, 0]], height: 2, width: 3, labels: [0])
        #expect(images.rows == 2 && images.columns == 3 && images.images.array == [0, 0.5, 1, 0.25, 0, 0])
    }

    @Test func concatenationKeepsEveryImageWithItsLabelInOrder() throws {
        let first = try LabeledImages(images: [[0, 0.5], [1, 0.25]], height: 1, width: 2, labels: [1, 0])
        let second = try LabeledImages(images: [[0.75, 0]], height: 1, width: 2, labels: [2])
        let both = LabeledImages(concatenating: [first, second, first])
        #expect(both.count == 5 && both.rows == 1 && both.columns == 2)
        #expect(both.images.array == [0, 0.5, 1, 0.25, 0.75, 0, 0, 0.5, 1, 0.25])
        #expect(both.labels == [1, 0, 2, 1, 0])
        #expect(LabeledImages(concatenating: [second]).images.array == [0.75, 0])
    }

    @Test func unusableArraysAreNamedErrors() {
        func message(_ make: () throws -> LabeledImages) -> String? {
            do { _ = try make(); return nil } catch { return "\(error)" }
        }
        #expect(message { try LabeledImages(features: [], labels: []) }?.contains("no examples") == true)
        #expect(message { try LabeledImages(features: [[1, 2]], labels: [0, 1]) }?.contains("1 feature rows but 2 labels") == true)
        #expect(message { try LabeledImages(features: [[1, 2], [3]], labels: [0, 1]) }?.contains("feature row 1 has 1 values, expected 2") == true)
        #expect(message { try LabeledImages(features: [[1, .nan]], labels: [0]) }?.contains("feature row 0 holds nan at position 1") == true)
        #expect(message { try LabeledImages(features: [[1]], labels: [-1]) }?.contains("label 0 is -1") == true)
        #expect(message { try LabeledImages(images: [[0, 0, 0]], height: 2, width: 2, labels: [0]) }?.contains("image 0 has 3 values, expected 4") == true)
        #expect(message { try LabeledImages(images: [[0]], height: 0, width: 1, labels: [0]) }?.contains("at least 1×1") == true)
    }

    @Test func splitIsStratifiedSeededAndDisjoint() throws {
        let labels = Array(repeating: 0, count: 50) + Array(repeating: 1, count: 30) + [2, 2, 3]
        let features = labels.indices.map { [Float($0)] }
        let set = try LabeledImages(features: features, labels: labels)
        let (kept, heldOut) = set.stratifiedSplit(validationFraction: 0.2, seed: 5)
        // 20% of 50, of 30, of 2 (rounded, at least one), and none of the single example of class 3.
        #expect(heldOut.labels.filter { $0 == 0 }.count == 10)
        #expect(heldOut.labels.filter { $0 == 1 }.count == 6)
        #expect(heldOut.labels.filter { $0 == 2 }.count == 1)
        #expect(!heldOut.labels.contains(3))
        let keptValues = Set(kept.images.array), heldValues = Set(heldOut.images.array)
        #expect(keptValues.isDisjoint(with: heldValues) && keptValues.count + heldValues.count == set.count)
        #expect(set.stratifiedSplit(validationFraction: 0.2, seed: 5).validation.images.array == heldOut.images.array)
        #expect(set.stratifiedSplit(validationFraction: 0.2, seed: 6).validation.images.array != heldOut.images.array)
        #expect(set.stratifiedSplit(validationFraction: 0, seed: 5).validation.count == 0)
    }
}
