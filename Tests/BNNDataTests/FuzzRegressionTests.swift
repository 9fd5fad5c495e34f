import Foundation
import Testing
@testable import BNN
@testable import BNNData

/// Inputs the fuzz targets (Fuzz/, docs/fuzzing.md) reported, kept so that their answer stays fast and
/// clean without the fuzzer.
@Suite struct FuzzRegressionTests {
    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    /// FuzzPNG's only report in its 10-minute run: a "slow unit" (10 s) while the machine was busy with the
    /// test suite. A 4×4 grey PNG whose IDAT CRC is zero: refused at the CRC check, in microseconds.
    @Test func pngSlowUnitIsRefusedAtOnce() throws {
        let png = Self.bytes("89504e470d0a1a0a0000000d49484452000000040000000408000000008c9ac1a20000003249444154789c012700d8ff02fa0ff0169dc957567406667602cfb0b4eb8902c44269da1cf602ba0000000000000000000000000000000000000000000000000000002a000000f8ff790000000000000000000000000000000000000000000000000000000066d3f8b6d4eab175000ea975c813bf1cdb34810000000049454e44ae426082")
        #expect(png.count == 169)
        let started = Date()
        let error = dataError { _ = try PNGDecoder.decode(png, path: "slow-unit.png", maximumPixelCount: 1 << 20) }
        #expect(Date().timeIntervalSince(started) < 0.5)
        guard case .badImage(_, let reason)? = error else { Issue.record("expected badImage, got \(String(describing: error))"); return }
        #expect(reason.contains("CRC mismatch in chunk IDAT"))
    }
}
