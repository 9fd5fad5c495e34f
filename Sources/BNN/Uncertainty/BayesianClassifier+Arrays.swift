extension BayesianClassifier {
    /// Predicts the class of each input given as a Swift array: a row of features as the training table
    /// held them (the model's recorded standardisation is applied here), or an image's pixels row by row
    /// as training saw them. Otherwise as `predict(_:rule:samples:refinement:generator:)` on a tensor.
    ///
    /// Throws `DataSetError` when an input does not have the `network.inputCount` values the model reads,
    /// or holds a non-finite value.
    public func predict(_ inputs: [[Float]], rule: DecisionRule, samples: Int? = nil,
                        generator: inout RandomGenerator) throws -> [PredictionResult] {
        let size = network.inputCount
        let rows = Tensor(shape: [inputs.count, size])
        for (index, input) in inputs.enumerated() {
            guard input.count == size else { throw DataSetError("input \(index) has \(input.count) values; the model reads \(size)") }
            if let position = input.firstIndex(where: { !$0.isFinite }) {
                throw DataSetError("input \(index) holds \(input[position]) at position \(position); values must be finite")
            }
            (rows.pointer + index * size).update(from: input, count: size)
        }
        preprocessing.standardize(rows)
        return predict(rows, rule: rule, samples: samples ?? defaultSampleCount, generator: &generator)
    }
}
