import CBNNKernels

/// Convolution products `W · X` (and `W · X²`) without writing the im2col matrix `X`.
///
/// The matrix multiply packs `X` into cache-sized panels anyway; here it packs them straight from the
/// inputs' zero-padded planes (`bnn_sgemm_convolution`), so the `[patchSize, n · positions]` matrix —
/// 8 MB a block for the CNN's second layer, written out and read back from beyond the L2 cache — never
/// exists. The packed panels hold exactly the values `Im2Col.columns` would have written, and the portable
/// kernels sum every element of C in an order that depends only on k, so the products equal those of
/// `Im2Col.columns` followed by `MatrixMultiply.gemm(…, path: .portable)` to the bit.
enum ImplicitIm2Col {
    /// Whether `filters × (examples · positions)` products of this geometry take the implicit path: stride 1
    /// (each output row is a run of a padded input row), a product the portable kernels would compute, and
    /// C at least as wide as tall (so that `bnn_sgemm` would not have taken its transposed form either).
    static func applies(geometry g: ConvolutionGeometry, filters: Int, width: Int, path: MatrixMultiply.Path?) -> Bool {
        g.stride == 1 && width >= filters
            && (path ?? MatrixMultiply.automaticPath(m: filters, n: width, k: g.patchSize)) == .portable
    }

    /// Floats that `pad` writes for `examples` inputs: never more than their im2col matrix, so a buffer
    /// sized for the columns holds them (k²·(a − k + 1)² ≥ a² for a ≥ k, per plane side a).
    static func paddedCount(examples: Int, geometry g: ConvolutionGeometry) -> Int {
        examples * g.channels * (g.height + 2 * g.padding) * (g.width + 2 * g.padding)
    }

    /// Copies `examples` inputs `[examples, channels, height, width]` into `padded`, each plane surrounded by
    /// `padding` zeros: `[examples, channels, height + 2p, width + 2p]`.
    static func pad(_ input: UnsafePointer<Float>, examples: Int, geometry g: ConvolutionGeometry,
                    into padded: UnsafeMutablePointer<Float>) {
        let source = SendablePointer(UnsafeMutablePointer(mutating: input)), destination = SendablePointer(padded)
        let height = g.height, width = g.width, padding = g.padding
        let paddedWidth = width + 2 * padding, paddedPlane = (height + 2 * padding) * paddedWidth
        Parallel.forChunks(of: examples * g.channels, minimumChunk: max(1, 16_384 / paddedPlane)) { planes in
            for plane in planes {
                let from = UnsafePointer(source.pointer) + plane * height * width
                let to = destination.pointer + plane * paddedPlane
                if padding == 0 {
                    to.update(from: from, count: height * width)
                    continue
                }
                to.update(repeating: 0, count: padding * paddedWidth + padding)
                for y in 0..<height {
                    let row = to + (y + padding) * paddedWidth + padding
                    row.update(from: from + y * width, count: width)
                    // This row's right border and the next row's left border are adjacent.
                    (row + width).update(repeating: 0, count: 2 * padding)
                }
                let filled = (height + padding) * paddedWidth + padding
                (to + filled).update(repeating: 0, count: paddedPlane - filled)
            }
        }
    }

    /// `product[f, j] = Σ_p weight[f, p] · X[p, j]` (X², when `squared`) for the `examples` inputs that
    /// `pad` wrote into `padded`; `product` is `[filters, examples · positions]`. Split over the threads as
    /// `PortableGEMM.multiply` splits the stored product; in `precision` (bfloat16 only where the machine
    /// has it: `MatrixPrecision`), with the same values as that product of `precision`.
    static func multiply(_ weight: UnsafePointer<Float>, filters: Int, padded: UnsafePointer<Float>, examples: Int,
                         geometry g: ConvolutionGeometry, squared: Bool, into product: UnsafeMutablePointer<Float>,
                         precision: MatrixPrecision = ComputeSettings.matrixPrecision) {
        let width = examples * g.positions, patch = g.patchSize
        let planes = SendablePointer(UnsafeMutablePointer(mutating: padded))
        let kernel = precision.effective == .bfloat16 ? bnn_sgemm_convolution_bf16 : bnn_sgemm_convolution
        // Split like the stored product; B's pointer is not read (`bnn_conv_columns` describes the planes).
        PortableGEMM.forEachBlock(transposeA: false, transposeB: false, m: filters, n: width, k: patch, a: weight, lda: patch,
                                  b: padded, ldb: width, c: product, ldc: width, precision: precision) { part in
            var columns = bnn_conv_columns(padded: planes.pointer, channels: g.channels, padded_height: g.height + 2 * g.padding,
                                           padded_width: g.width + 2 * g.padding, kernel_size: g.kernelSize,
                                           output_height: g.outputHeight, output_width: g.outputWidth, squared: squared ? 1 : 0)
            let done = kernel(part.m, part.n, patch, part.a, patch, &columns, part.firstColumn, part.c, width)
            precondition(done == 1, "ImplicitIm2Col: inconsistent geometry \(g)")
        }
    }
}
