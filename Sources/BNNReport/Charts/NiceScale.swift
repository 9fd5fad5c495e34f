import Foundation

/// An axis range widened to round numbers, with its ticks ("nice numbers", after Heckbert,
/// Graphics Gems 1990: steps of 1, 2 or 5 × 10ᵏ).
///
/// The step is the nice number nearest to span / (target − 1); the range is then widened outwards to
/// multiples of the step, so that both ends carry a tick. For (−37, 0) and 5 ticks that is −40…0 by 10.
public struct NiceScale: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    public let step: Double
    /// The tick values from `lower` to `upper`, rounded to the step's decimals (0.3, not 0.30000000000000004).
    public let ticks: [Double]

    /// A scale covering `lower…upper` with about `target` ticks (at least 2). Non-finite bounds give 0…1;
    /// an empty span is widened around its value.
    /// `minimumStep` keeps ticks apart, e.g. 1 for whole epochs.
    public init(_ lower: Double, _ upper: Double, target: Int = 5, minimumStep: Double = 0) {
        var low = lower, high = upper
        if !low.isFinite || !high.isFinite { (low, high) = (0, 1) }
        if low > high { swap(&low, &high) }
        if high - low <= max(abs(low), abs(high)) * 1e-12 {
            // One value: a range around it (0…1 for zero).
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = low == 0 ? (0, 1) : (low - pad, high + pad)
        }
        let step = max(Self.niceStep((high - low) / Double(max(target - 1, 1))), minimumStep)
        // The slack keeps a bound that is already a multiple (0.6 / 0.2 = 2.9999999999999996) from
        // gaining an extra step.
        let first = (low / step + 1e-9).rounded(.down)
        let last = (high / step - 1e-9).rounded(.up)
        let decimals = Self.decimals(step)
        let scale = pow(10, Double(decimals))
        func tick(_ k: Double) -> Double {
            let value = ((k * step) * scale).rounded() / scale
            return value == 0 ? 0 : value  // no −0
        }
        self.step = step
        self.lower = tick(first)
        self.upper = tick(last)
        ticks = stride(from: first, through: last, by: 1).map(tick)
    }

    /// The 1, 2 or 5 × 10ᵏ nearest to `raw` (geometric thresholds 1.5, 3, 7 as Heckbert's).
    static func niceStep(_ raw: Double) -> Double {
        let exponent = floor(log10(raw))
        let power = pow(10, exponent)
        let fraction = raw / power
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * power
    }

    /// Decimals needed to write multiples of `step` exactly (0 for steps ≥ 1).
    static func decimals(_ step: Double) -> Int {
        max(0, Int(-floor(log10(step) + 1e-9)))
    }

    /// `value` written with the decimals of the step and a true minus sign.
    public func label(_ value: Double) -> String {
        let text = String(format: "%.\(Self.decimals(step))f", value)
        if text.hasPrefix("-") {
            let digits = text.dropFirst()
            return digits.allSatisfy { $0 == "0" || $0 == "." } ? String(digits) : "\u{2212}" + digits
        }
        return text
    }
}

/// A linear map from a data interval to a drawing interval (which may run backwards, as y does).
public struct LinearScale: Sendable {
    public let domain: (lower: Double, upper: Double)
    public let range: (from: Double, to: Double)

    public init(domain: (Double, Double), range: (Double, Double)) {
        self.domain = (domain.0, domain.1)
        self.range = (range.0, range.1)
    }

    /// The drawing coordinate of `value`; values outside the domain are clamped to its ends, so that
    /// no mark leaves its plot area.
    public func callAsFunction(_ value: Double) -> Double {
        let span = domain.upper - domain.lower
        guard span > 0, value.isFinite || value.isInfinite else { return range.from }
        let t = min(max((value - domain.lower) / span, 0), 1)
        return range.from + t * (range.to - range.from)
    }
}
