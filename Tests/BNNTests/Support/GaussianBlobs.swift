@testable import BNN

/// `perClass` points around each of `centres` (one class per centre), each coordinate the centre's plus
/// `spread` times a standard Normal draw from `seed`: the synthetic table of the Swift example and the tests.
func gaussianBlobs(centres: [[Float]], perClass: Int, spread: Float, seed: UInt64) -> (points: [[Float]], labels: [Int]) {
    var random = RandomGenerator(seed: seed)
    var points: [[Float]] = [], labels: [Int] = []
    for (label, centre) in centres.enumerated() {
        for _ in 0..<perClass {
            points.append(centre.map { $0 + spread * random.normal() })
            labels.append(label)
        }
    }
    return (points, labels)
}
