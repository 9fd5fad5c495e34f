import CBNNKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The arithmetic of a matrix multiply on the portable path (`ComputeSettings.matrixPrecision`).
///
/// - `float32`: fp32 products and sums (the reference; every kernel on every CPU).
/// - `bfloat16`: both factors rounded to bfloat16 (8 significant bits, round to nearest even) and their
///   products summed in fp32, on Intel AMX tiles (Xeons from Sapphire Rapids on). Each factor's relative
///   rounding error is at most 2⁻⁸, so an element of C differs from the fp32 product by at most
///   (2⁻⁷ + 2⁻¹⁶) · Σₚ |aᵢₚ · bₚⱼ| (plus fp32 summation). Each element still sums over k in an order that
///   depends on k only, so a row of C does not depend on the rows it is computed with. Products with
///   k < 16 stay in fp32 (faster there).
public enum MatrixPrecision: String, Sendable, CaseIterable {
    case float32 = "fp32"
    case bfloat16 = "bf16"

    /// Whether this machine multiplies in bfloat16 (AMX-BF16, granted by the OS; not with `BNN_ISA` below
    /// avx512). Elsewhere `.bfloat16` computes in fp32.
    public static var bfloat16IsAvailable: Bool { bnn_bf16_available() != 0 }

    /// The precision products actually run in on this machine when `self` is asked for.
    public var effective: MatrixPrecision { self == .bfloat16 && Self.bfloat16IsAvailable ? .bfloat16 : .float32 }

    /// `x` rounded to the nearest bfloat16 (ties to even), as VCVTNE2PS2BF16 rounds: the model of the
    /// bf16 kernels' input rounding that the references and tests use.
    public static func roundedToBFloat16(_ x: Float) -> Float {
        if x.isNaN { return x }
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    }

    /// The precision `BNN_PRECISION` names ("fp32" or "bf16"), nil when it is unset or names neither.
    public static var environment: MatrixPrecision? {
        guard let value = getenv("BNN_PRECISION") else { return nil }
        return MatrixPrecision(rawValue: String(cString: value))
    }
}
