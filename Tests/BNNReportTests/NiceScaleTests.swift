import Testing
@testable import BNNReport

@Suite struct NiceScaleTests {
    @Test func unitRange() {
        let scale = NiceScale(0, 1, target: 6)
        #expect(scale.step == 0.2)
        #expect(scale.ticks == [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    @Test func logProbabilityRangeWidensToRoundNumbers() {
        let scale = NiceScale(-37, 0, target: 5)
        #expect(scale.step == 10)
        #expect(scale.ticks == [-40, -30, -20, -10, 0])
        #expect(scale.label(-40) == "\u{2212}40")
        #expect(scale.label(0) == "0")
    }

    @Test func hundredsAndSmallNumbers() {
        #expect(NiceScale(0, 100, target: 6).ticks == [0, 20, 40, 60, 80, 100])
        let small = NiceScale(0.0013, 0.0087, target: 5)
        #expect(small.step == 0.002)
        #expect(small.ticks == [0, 0.002, 0.004, 0.006, 0.008, 0.01])
        #expect(small.label(0.006) == "0.006")
        // No floating-point residue such as 0.30000000000000004.
        #expect(NiceScale(0, 0.9, target: 10).ticks.contains(0.3))
    }

    @Test func offsetRange() {
        let scale = NiceScale(0.913, 0.987, target: 5)
        #expect(scale.step == 0.02)
        #expect(scale.lower == 0.9 && scale.upper == 1.0)
    }

    @Test func degenerateRanges() {
        #expect(NiceScale(0, 0).ticks == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(NiceScale(0, 0).lower == 0 && NiceScale(0, 0).upper == 1)
        let single = NiceScale(5, 5)
        #expect(single.lower < 5 && single.upper > 5)
        let nonFinite = NiceScale(.nan, .infinity)
        #expect(nonFinite.lower == 0 && nonFinite.upper == 1)
        let reversed = NiceScale(10, 0, target: 6)
        #expect(reversed.ticks == [0, 2, 4, 6, 8, 10])
        #expect(NiceScale(-1e-20, 1e-20).ticks.count >= 2)
    }

    @Test func minimumStepKeepsWholeEpochs() {
        #expect(NiceScale(1, 4, target: 6).step == 0.5)
        let epochs = NiceScale(1, 4, target: 6, minimumStep: 1)
        #expect(epochs.ticks == [1, 2, 3, 4])
        #expect(epochs.label(3) == "3")
    }

    @Test func exactScaleKeepsItsEnds() {
        let scale = NiceScale.exact(0, 1, target: 5)
        #expect(scale.lower == 0 && scale.upper == 1)
        #expect(scale.ticks.first == 0 && scale.ticks.last == 1)
    }

    @Test func linearScaleClampsAndFlips() {
        let y = LinearScale(domain: (0, 1), range: (100, 0))
        #expect(y(0) == 100 && y(1) == 0 && y(0.25) == 75)
        #expect(y(2) == 0 && y(-1) == 100 && y(.infinity) == 0)
    }

    @Test func histogramCountsClampOutliersAndSkipNaN() {
        let counts = Histogram.counts([-5, 0, 0.1, 0.5, 0.99, 1, 7, .nan, -.infinity], lower: 0, upper: 1, bins: 4)
        #expect(counts == [4, 0, 1, 3])
    }
}
