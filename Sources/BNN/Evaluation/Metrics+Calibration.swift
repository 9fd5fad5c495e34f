/// One bin of a reliability diagram.
public struct ReliabilityBin: Sendable, Equatable, Codable {
    /// The bin covers confidences in (`lower`, `upper`] (the first bin also holds 0).
    public let lower: Double
    public let upper: Double
    /// The number of examples whose confidence falls in the bin.
    public let count: Int
    /// The mean confidence of those examples (NaN when `count` is 0).
    public let meanConfidence: Double
    /// The share of them whose prediction is correct (NaN when `count` is 0).
    public let accuracy: Double
}

extension Metrics {
    /// Reliability-diagram binning (DeGroot & Fienberg 1983; Guo et al. 2017): examples are binned by
    /// confidence confᵢ = max_c pᵢ(c) into `bins` equal-width bins Bₖ = (k/K, (k+1)/K] (0 goes into
    /// the first bin, confidences outside [0, 1] into the nearest end bin); each bin reports its count,
    /// mean confidence and the accuracy of the arg-max predictions in it.
    public static func reliabilityDiagram(probabilities: Tensor, labels: [Int], bins: Int = 15) -> [ReliabilityBin] {
        precondition(bins >= 1, "need at least one bin, got \(bins)")
        let (count, classes) = checkShape(probabilities, labels)
        var counts = [Int](repeating: 0, count: bins)
        var confidenceSums = [Double](repeating: 0, count: bins)
        var correctCounts = [Int](repeating: 0, count: bins)
        for i in 0..<count {
            let row = probabilities.pointer + i * classes
            let prediction = argmax(row, classes)
            let confidence = Double(row[prediction])
            let bin = binIndex(confidence: confidence, bins: bins)
            counts[bin] += 1
            confidenceSums[bin] += confidence
            if prediction == labels[i] { correctCounts[bin] += 1 }
        }
        return (0..<bins).map { k in
            ReliabilityBin(
                lower: Double(k) / Double(bins), upper: Double(k + 1) / Double(bins), count: counts[k],
                meanConfidence: counts[k] > 0 ? confidenceSums[k] / Double(counts[k]) : .nan,
                accuracy: counts[k] > 0 ? Double(correctCounts[k]) / Double(counts[k]) : .nan)
        }
    }

    /// Expected calibration error (Naeini et al. 2015; Guo et al. 2017) over equal-width confidence bins:
    ///
    ///     ECE = Σₖ (|Bₖ| / N) · |acc(Bₖ) − conf(Bₖ)|
    ///
    /// where conf(Bₖ) is the mean confidence (max mean probability) and acc(Bₖ) the accuracy of the
    /// arg-max predictions of the examples in bin k (see `reliabilityDiagram`). 0 is perfectly
    /// calibrated. NaN when N = 0.
    public static func expectedCalibrationError(probabilities: Tensor, labels: [Int], bins: Int = 15) -> Double {
        guard !labels.isEmpty else { return .nan }
        let diagram = reliabilityDiagram(probabilities: probabilities, labels: labels, bins: bins)
        var total = 0.0
        for bin in diagram where bin.count > 0 {
            total += Double(bin.count) * abs(bin.accuracy - bin.meanConfidence)
        }
        return total / Double(labels.count)
    }

    /// The bin k with k/K < confidence ≤ (k+1)/K, i.e. ⌈confidence · K⌉ − 1, clamped to 0..<K.
    static func binIndex(confidence: Double, bins: Int) -> Int {
        guard confidence.isFinite else { return confidence > 0 ? bins - 1 : 0 }
        let index = Int((confidence * Double(bins)).rounded(.up)) - 1
        return min(max(index, 0), bins - 1)
    }
}
