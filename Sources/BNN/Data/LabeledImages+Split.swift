/// Holding out a validation set that keeps the class proportions of the whole.
extension LabeledImages {
    /// Splits the set in two, class by class: of a class's `n` examples, `round(validationFraction · n)`
    /// go to `validation` — at least one when the class has two or more examples and the fraction is
    /// positive, and never all of them, so that every class is still trained on. Which examples are held
    /// out is drawn with `RandomGenerator(seed: seed)`, so the same seed gives the same split; each part
    /// keeps the set's order.
    ///
    /// - Parameter validationFraction: in [0, 1); 0 holds nothing out.
    public func stratifiedSplit(validationFraction: Double, seed: UInt64) -> (training: LabeledImages, validation: LabeledImages) {
        precondition(validationFraction >= 0 && validationFraction < 1,
                     "stratifiedSplit needs a validation fraction in [0, 1), got \(validationFraction)")
        var generator = RandomGenerator(seed: seed)
        var positionsByClass: [Int: [Int]] = [:]
        for (position, label) in labels.enumerated() { positionsByClass[label, default: []].append(position) }
        var heldOut = [Bool](repeating: false, count: count)
        // Classes in label order, so that the draws do not depend on dictionary order.
        for label in positionsByClass.keys.sorted() {
            var positions = positionsByClass[label]!
            let n = positions.count
            var held = Int((validationFraction * Double(n)).rounded())
            if validationFraction > 0 && n >= 2 { held = max(held, 1) }
            held = min(held, n - 1)
            guard held > 0 else { continue }
            generator.shuffle(&positions)
            for position in positions.prefix(held) { heldOut[position] = true }
        }
        let validation = (0..<count).filter { heldOut[$0] }
        let training = (0..<count).filter { !heldOut[$0] }
        return (subset(indices: training), subset(indices: validation))
    }
}
