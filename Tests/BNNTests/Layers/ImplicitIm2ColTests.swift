import CBNNKernels
import Foundation
import Testing
@testable import BNN

/// The implicit-im2col products (panels packed straight from padded planes) against the stored im2col
/// matrix multiplied by the portable kernels: equal to the bit, for x and x², whole and from any column.
@Suite struct ImplicitIm2ColTests {
    /// (channels, height, width, filters, k, padding, examples): "same" padding, none, k − 1, 1 × 1, a
    /// patch deeper than one k slab (32 · 25 = 800), a wide output row cut into several runs, and enough
    /// columns for the product to be split over threads.
    static let shapes: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 28, 28, 32, 5, 2, 3), (32, 14, 14, 64, 5, 2, 5), (3, 7, 6, 4, 3, 0, 4), (2, 5, 9, 3, 3, 2, 3),
        (2, 6, 6, 8, 1, 0, 7), (1, 40, 37, 8, 3, 1, 2), (4, 9, 9, 5, 5, 2, 40),
    ]

    /// In bf16 (`MatrixPrecision`; fp32 where the CPU has no AMX) the products must equal the bf16 product
    /// with the stored columns to the bit too: the same values, rounded the same way.
    @Test(arguments: shapes, [false, true])
    func productsEqualTheStoredColumnsProduct(shape: (Int, Int, Int, Int, Int, Int, Int), squared: Bool) {
        for precision in MatrixPrecision.allCases { check(shape: shape, squared: squared, precision: precision) }
    }

    func check(shape: (Int, Int, Int, Int, Int, Int, Int), squared: Bool, precision: MatrixPrecision) {
        let (channels, height, width, filters, k, padding, examples) = shape
        let g = ConvolutionGeometry(channels: channels, height: height, width: width, kernelSize: k, padding: padding)
        let input = randomTensor([examples, g.inputSize], seed: 3)
        let weight = randomTensor([filters, g.patchSize], seed: 4)
        let columnCount = examples * g.positions
        #expect(ImplicitIm2Col.paddedCount(examples: examples, geometry: g) <= g.patchSize * columnCount)

        let columns = Tensor(shape: [g.patchSize, columnCount])
        Im2Col.columns(input.pointer, examples: examples, geometry: g, into: columns.pointer)
        if squared { for i in 0..<columns.count { columns[i] *= columns[i] } }
        let expected = Tensor(shape: [filters, columnCount])
        PortableGEMM.multiply(transposeA: false, transposeB: false, m: filters, n: columnCount, k: g.patchSize, alpha: 1,
                              a: weight.pointer, lda: g.patchSize, b: columns.pointer, ldb: columnCount, beta: 0,
                              c: expected.pointer, ldc: columnCount, precision: precision)

        let padded = Tensor(shape: [ImplicitIm2Col.paddedCount(examples: examples, geometry: g)], repeating: .nan)
        ImplicitIm2Col.pad(input.pointer, examples: examples, geometry: g, into: padded.pointer)
        #expect(!padded.array.contains { $0.isNaN }, "pad leaves no entry unwritten")
        let product = Tensor(shape: [filters, columnCount], repeating: .nan)
        ImplicitIm2Col.multiply(weight.pointer, filters: filters, padded: padded.pointer, examples: examples, geometry: g,
                                squared: squared, into: product.pointer, precision: precision)
        #expect(product.array == expected.array, "\(shape), squared \(squared), \(precision)")

        // From a column inside an example (a thread's share starts on any micro-tile), single-threaded.
        let first = min(columnCount - 1, g.positions / 2 + 3), count = columnCount - first
        let part = Tensor(shape: [filters, count], repeating: .nan)
        var described = bnn_conv_columns(padded: padded.pointer, channels: channels, padded_height: height + 2 * padding,
                                         padded_width: width + 2 * padding, kernel_size: k, output_height: g.outputHeight,
                                         output_width: g.outputWidth, squared: squared ? 1 : 0)
        // Packing buffers left full of NaN: padding a packer does not write shows up.
        BFloat16GEMMTests.poisonPackingBuffers()
        let multiply = precision.effective == .bfloat16 ? bnn_sgemm_convolution_bf16 : bnn_sgemm_convolution
        #expect(multiply(filters, count, g.patchSize, weight.pointer, g.patchSize, &described, first, part.pointer, count) == 1)
        var mismatches = 0
        for f in 0..<filters {
            for j in 0..<count where part[f * count + j] != expected[f * columnCount + first + j] { mismatches += 1 }
        }
        #expect(mismatches == 0, "\(mismatches) entries differ from column \(first) on, \(shape), \(precision)")
    }

    /// Every packer this CPU can run (the AVX2 one on an AVX-512 machine too) writes the plain packer's
    /// panels: runs that start and end inside a panel row's 8-lane halves, straddle them, and fill a panel
    /// only partly; from the first patch row and from the middle of one; squared and not.
    @Test(arguments: shapes, [false, true])
    func everyPackerWritesThePlainPanels(shape: (Int, Int, Int, Int, Int, Int, Int), squared: Bool) {
        let (channels, height, width, _, k, padding, examples) = shape
        let g = ConvolutionGeometry(channels: channels, height: height, width: width, kernelSize: k, padding: padding)
        let input = randomTensor([examples, g.inputSize], seed: 5)
        let padded = Tensor(shape: [ImplicitIm2Col.paddedCount(examples: examples, geometry: g)])
        ImplicitIm2Col.pad(input.pointer, examples: examples, geometry: g, into: padded.pointer)
        var described = bnn_conv_columns(padded: padded.pointer, channels: channels, padded_height: height + 2 * padding,
                                         padded_width: width + 2 * padding, kernel_size: k, output_height: g.outputHeight,
                                         output_width: g.outputWidth, squared: squared ? 1 : 0)
        let columns = examples * g.positions
        for first in [0, 3, 13, g.outputWidth + 5] where first < columns {
            for (p0, kc) in [(0, g.patchSize), (g.patchSize / 2, g.patchSize - g.patchSize / 2)] where kc > 0 {
                for nc in [columns - first, min(columns - first, 37)] {
                    #expect(bnn_conv_packers_disagreeing(&described, first, p0, kc, nc) == 0,
                            "\(shape), squared \(squared), columns \(first)+\(nc), rows \(p0)+\(kc)")
                }
            }
        }
    }

    /// The padded planes: the input in the middle, zeros around it.
    @Test func padSurroundsEachPlaneWithZeros() {
        let g = ConvolutionGeometry(channels: 2, height: 3, width: 4, kernelSize: 5, padding: 2)
        let input = Tensor(shape: [2, g.inputSize], values: (0..<(2 * g.inputSize)).map { Float($0 + 1) })
        let padded = Tensor(shape: [ImplicitIm2Col.paddedCount(examples: 2, geometry: g)], repeating: .nan)
        ImplicitIm2Col.pad(input.pointer, examples: 2, geometry: g, into: padded.pointer)
        let (paddedHeight, paddedWidth) = (7, 8)
        var mismatches = 0
        for plane in 0..<4 {
            for y in 0..<paddedHeight {
                for x in 0..<paddedWidth {
                    let (iy, ix) = (y - 2, x - 2)
                    let inside = iy >= 0 && iy < 3 && ix >= 0 && ix < 4
                    let expected: Float = inside ? input[plane * 12 + iy * 4 + ix] : 0
                    if padded[(plane * paddedHeight + y) * paddedWidth + x] != expected { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
    }

    /// A description that does not fit k (patch depth) is refused, writing nothing.
    @Test func inconsistentGeometryIsRefused() {
        let planes = Tensor(shape: [64], repeating: 1)
        let c = Tensor(shape: [4], repeating: .nan)
        let a = Tensor(shape: [9], repeating: 1)
        var described = bnn_conv_columns(padded: planes.pointer, channels: 1, padded_height: 8, padded_width: 8, kernel_size: 3,
                                         output_height: 6, output_width: 6, squared: 0)
        #expect(bnn_sgemm_convolution(1, 4, 8, a.pointer, 8, &described, 0, c.pointer, 4) == 0)  // k = 8, not 9
        described.output_width = 7  // 7 + 3 − 1 > 8 padded columns
        #expect(bnn_sgemm_convolution(1, 4, 9, a.pointer, 9, &described, 0, c.pointer, 4) == 0)
        #expect(c.array.allSatisfy { $0.isNaN })
    }
}
