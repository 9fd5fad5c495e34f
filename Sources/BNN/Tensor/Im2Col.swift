import CBNNKernels
/// The shape arithmetic of a 2-D convolution or pooling window over `[channels, height, width]` inputs.
///
/// Concretely, with kernel `k`, stride `s` and zero padding `p` on every side,
///
///     outputHeight = ⌊(height + 2p − k) / s⌋ + 1,   outputWidth = ⌊(width + 2p − k) / s⌋ + 1,
///
/// and one output position reads the patch `x[c, oh·s − p + i, ow·s − p + j]` for `c < channels`,
/// `i, j < k` (entries outside the image are zero).
public struct ConvolutionGeometry: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    public init(channels: Int, height: Int, width: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0) {
        precondition(channels > 0 && height > 0 && width > 0, "convolution input must be positive, got [\(channels), \(height), \(width)]")
        precondition(kernelSize > 0 && stride > 0 && padding >= 0, "bad kernel \(kernelSize), stride \(stride), padding \(padding)")
        precondition(height + 2 * padding >= kernelSize && width + 2 * padding >= kernelSize,
                     "kernel \(kernelSize) larger than the padded input \(height)×\(width) (padding \(padding))")
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    /// Whether these settings describe a valid geometry (for checking stored architectures without trapping).
    public static func isValid(channels: Int, height: Int, width: Int, kernelSize: Int, stride: Int, padding: Int) -> Bool {
        channels > 0 && height > 0 && width > 0 && kernelSize > 0 && stride > 0 && padding >= 0
            && height + 2 * padding >= kernelSize && width + 2 * padding >= kernelSize
    }

    public var outputHeight: Int { (height + 2 * padding - kernelSize) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelSize) / stride + 1 }
    /// Output positions per channel, `outputHeight · outputWidth`.
    public var positions: Int { outputHeight * outputWidth }
    /// Values in one patch, `channels · k · k` (the fan-in of one filter).
    public var patchSize: Int { channels * kernelSize * kernelSize }
    /// Values per input example, `channels · height · width`.
    public var inputSize: Int { channels * height * width }

    /// The range of output columns `ow` whose input column `ow·s − p + offset` lies inside the image.
    func validColumns(offset: Int) -> Range<Int> {
        let shift = padding - offset  // iw = ow·s − shift
        let low = shift > 0 ? (shift + stride - 1) / stride : 0
        let last = width - 1 + shift  // iw ≤ width − 1  ⇔  ow ≤ (width − 1 + shift) / s
        let high = last < 0 ? 0 : min(outputWidth, last / stride + 1)
        return low..<max(low, high)
    }
}

/// im2col and its adjoint col2im: turning a convolution into one large matrix multiply.
///
/// For a block of `n` examples, `columns(…)` writes the matrix `X` of shape `[patchSize, n · positions]`
/// whose column `b · positions + oh · outputWidth + ow` is the (zero-padded) patch read by output
/// position `(oh, ow)` of example `b`. With filters stored `[filters, patchSize]` (PyTorch's
/// `[filters, channels, k, k]` order), the convolution of the whole block is `W · X`, shape
/// `[filters, n · positions]`; `scatter` turns that into the batch-first `[n, filters, positions]` layout.
/// Gradients flow back through `Wᵀ · G` and `images(…)`, which adds every column entry back onto the
/// pixel it was read from (col2im is the transpose of im2col).
///
/// Building the columns of several examples at once makes the GEMMs wide enough for BLAS to run near
/// peak (Chellapilla et al. 2006, "High Performance Convolutional Neural Networks for Document Processing").
enum Im2Col {
    /// The number of examples per block so that a `[patchSize, n · positions]` buffer stays near 8 MB:
    /// large enough for efficient GEMMs, small enough to stay out of swap on any machine.
    static func blockSize(batch: Int, geometry: ConvolutionGeometry) -> Int {
        let perExample = geometry.patchSize * geometry.positions
        return max(1, min(batch, (1 << 21) / max(1, perExample)))
    }

    /// Writes the columns of `examples` consecutive inputs `[examples, channels, height, width]` into
    /// `columns` (`[patchSize, examples · positions]`, row-major).
    static func columns(_ input: UnsafePointer<Float>, examples: Int, geometry g: ConvolutionGeometry,
                        into columns: UnsafeMutablePointer<Float>) {
        let source = SendablePointer(UnsafeMutablePointer(mutating: input))
        let destination = SendablePointer(columns)
        let k = g.kernelSize, stride = g.stride, padding = g.padding
        let height = g.height, width = g.width, channels = g.channels
        let outputHeight = g.outputHeight, outputWidth = g.outputWidth, positions = g.positions
        let leading = examples * positions
        // One task per (example, channel): it owns k·k rows × `positions` columns of the matrix.
        // Stride 1 with "same"-style padding (the CNN's layers) goes to the C kernel, which copies whole runs.
        let fast = stride == 1 && padding < k
        Parallel.forChunks(of: examples * channels, minimumChunk: max(1, 4096 / max(1, k * k * positions))) { range in
            for task in range {
                let b = task / channels, c = task % channels
                let plane = UnsafePointer(source.pointer) + (b * channels + c) * height * width
                if fast, bnn_im2col_plane_stride1(plane, height, width, k, padding,
                                                  destination.pointer + c * k * k * leading + b * positions, leading) == 1 {
                    continue
                }
                for i in 0..<k {
                    for j in 0..<k {
                        let row = destination.pointer + ((c * k + i) * k + j) * leading + b * positions
                        let valid = g.validColumns(offset: j)
                        for oh in 0..<outputHeight {
                            let line = row + oh * outputWidth
                            let ih = oh * stride - padding + i
                            if ih < 0 || ih >= height {
                                line.update(repeating: 0, count: outputWidth)
                                continue
                            }
                            let pixels = plane + ih * width - padding + j
                            for ow in 0..<valid.lowerBound { line[ow] = 0 }
                            if stride == 1 {
                                for ow in valid { line[ow] = pixels[ow] }
                            } else {
                                for ow in valid { line[ow] = pixels[ow * stride] }
                            }
                            for ow in valid.upperBound..<outputWidth { line[ow] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// col2im: overwrites `images` (`[examples, channels, height, width]`) with the sum, for every pixel,
    /// of the column entries that were read from it (the adjoint of `columns`).
    static func images(_ columns: UnsafePointer<Float>, examples: Int, geometry g: ConvolutionGeometry,
                       into images: UnsafeMutablePointer<Float>) {
        let source = SendablePointer(UnsafeMutablePointer(mutating: columns))
        let destination = SendablePointer(images)
        let k = g.kernelSize, stride = g.stride, padding = g.padding
        let height = g.height, width = g.width, channels = g.channels
        let outputHeight = g.outputHeight, outputWidth = g.outputWidth, positions = g.positions
        let leading = examples * positions
        // One task per (example, channel) image plane, so that no two tasks add to the same pixel.
        Parallel.forChunks(of: examples * channels, minimumChunk: max(1, 4096 / max(1, k * k * positions))) { range in
            for task in range {
                let b = task / channels, c = task % channels
                let plane = destination.pointer + (b * channels + c) * height * width
                plane.update(repeating: 0, count: height * width)
                for i in 0..<k {
                    for j in 0..<k {
                        let row = UnsafePointer(source.pointer) + ((c * k + i) * k + j) * leading + b * positions
                        let valid = g.validColumns(offset: j)
                        for oh in 0..<outputHeight {
                            let ih = oh * stride - padding + i
                            if ih < 0 || ih >= height { continue }
                            let line = row + oh * outputWidth
                            let pixels = plane + ih * width - padding + j
                            if stride == 1 {
                                for ow in valid { pixels[ow] += line[ow] }
                            } else {
                                for ow in valid { pixels[ow * stride] += line[ow] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `output[b, f, p] = product[f, b · positions + p] + bias[f]`: from the GEMM's filter-major layout to
    /// batch-first.
    static func scatter(_ product: UnsafePointer<Float>, bias: UnsafePointer<Float>, examples: Int, filters: Int,
                        positions: Int, into output: UnsafeMutablePointer<Float>) {
        scatterPlanes(product, offsets: bias, squareRoot: false, examples: examples, filters: filters, positions: positions, into: output)
    }

    /// `std[b, f, p] = sqrt(product[f, b · positions + p] + biasVariance[f])`: the local-reparameterisation
    /// standard deviation from the variance GEMM.
    static func scatterStandardDeviation(_ product: UnsafePointer<Float>, biasVariance: UnsafePointer<Float>, examples: Int,
                                         filters: Int, positions: Int, into std: UnsafeMutablePointer<Float>) {
        scatterPlanes(product, offsets: biasVariance, squareRoot: true, examples: examples, filters: filters, positions: positions, into: std)
    }

    /// `output[b, f, p] = product[f, b · positions + p] + offsets[f]`, or its square root; the planes
    /// (b, f) are split between the worker threads.
    private static func scatterPlanes(_ product: UnsafePointer<Float>, offsets: UnsafePointer<Float>, squareRoot: Bool, examples: Int,
                                      filters: Int, positions: Int, into output: UnsafeMutablePointer<Float>) {
        let leading = examples * positions
        let source = SendablePointer(UnsafeMutablePointer(mutating: product)), destination = SendablePointer(output)
        let shift = SendablePointer(UnsafeMutablePointer(mutating: offsets))
        Parallel.forChunks(of: examples * filters, minimumChunk: max(1, (1 << 15) / max(1, positions))) { range in
            for plane in range {
                let b = plane / filters, f = plane % filters
                let from = UnsafePointer(source.pointer) + f * leading + b * positions, to = destination.pointer + plane * positions
                let offset = shift.pointer[f]
                if squareRoot {
                    for p in 0..<positions { to[p] = (from[p] + offset).squareRoot() }
                } else {
                    for p in 0..<positions { to[p] = from[p] + offset }
                }
            }
        }
    }

    /// `product[f, b · positions + p] = gradient[b, f, p]` (the transpose of `scatter`), adding each
    /// filter's sum to `biasGradient[f]`. Filters are split between the worker threads.
    static func gather(_ gradient: UnsafePointer<Float>, examples: Int, filters: Int, positions: Int,
                       into product: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>) {
        let leading = examples * positions
        let source = SendablePointer(UnsafeMutablePointer(mutating: gradient)), destination = SendablePointer(product)
        let sums = SendablePointer(biasGradient)
        Parallel.forChunks(of: filters, minimumChunk: max(1, (1 << 15) / max(1, leading))) { range in
            for f in range {
                for b in 0..<examples {
                    let from = UnsafePointer(source.pointer) + (b * filters + f) * positions
                    let to = destination.pointer + f * leading + b * positions
                    var sum: Float = 0
                    for p in 0..<positions {
                        to[p] = from[p]
                        sum += from[p]
                    }
                    sums.pointer[f] += sum
                }
            }
        }
    }

    /// `product = weight · X` and, when `variance` is given, `variance.into = variance.weight · X²`, X the
    /// columns of `examples` inputs (`[filters, examples · positions]` each): packed straight from padded
    /// planes when `ImplicitIm2Col.applies`, else through the stored columns, which `columns` (sized for
    /// them) holds either way: the padded planes, or X, squared in place when `variance` is given.
    static func products(_ input: UnsafePointer<Float>, examples: Int, geometry g: ConvolutionGeometry, filters: Int,
                         weight: UnsafePointer<Float>, into product: UnsafeMutablePointer<Float>,
                         variance: (weight: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>)? = nil,
                         columns: UnsafeMutablePointer<Float>, path: MatrixMultiply.Path?) {
        let width = examples * g.positions, patch = g.patchSize
        if ImplicitIm2Col.applies(geometry: g, filters: filters, width: width, path: path) {
            ImplicitIm2Col.pad(input, examples: examples, geometry: g, into: columns)
            ImplicitIm2Col.multiply(weight, filters: filters, padded: columns, examples: examples, geometry: g,
                                    squared: false, into: product)
            if let variance {
                ImplicitIm2Col.multiply(variance.weight, filters: filters, padded: columns, examples: examples, geometry: g,
                                        squared: true, into: variance.into)
            }
            return
        }
        Self.columns(input, examples: examples, geometry: g, into: columns)
        MatrixMultiply.gemm(m: filters, n: width, k: patch, a: weight, lda: patch, b: columns, ldb: width,
                            c: product, ldc: width, path: path)
        if let variance {
            // The columns of x² are the squares of the columns of x (padding stays zero).
            square(columns, into: columns, count: patch * width)
            MatrixMultiply.gemm(m: filters, n: width, k: patch, a: variance.weight, lda: patch, b: columns, ldb: width,
                                c: variance.into, ldc: width, path: path)
        }
    }

    /// `destination[i] = source[i]²` on the worker threads (the im2col buffers hold millions of values).
    static func square(_ source: UnsafeMutablePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        let (from, to) = (SendablePointer(source), SendablePointer(destination))
        Parallel.forElements(count) { range in
            Elementwise.square(from.pointer + range.lowerBound, to.pointer + range.lowerBound, count: range.count)
        }
    }

    /// `y = conv(x, W) + bias` for a whole batch, block by block. `columns` holds at least
    /// `patchSize · block · positions` values and `product` at least `filters · block · positions`, with
    /// `block = blockSize(batch:geometry:)`.
    static func convolve(_ input: UnsafePointer<Float>, batch: Int, geometry g: ConvolutionGeometry,
                         weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, filters: Int,
                         columns: Tensor, product: Tensor, output: UnsafeMutablePointer<Float>, path: MatrixMultiply.Path? = nil) {
        let block = blockSize(batch: batch, geometry: g)
        let positions = g.positions
        var start = 0
        while start < batch {
            let n = min(block, batch - start)
            products(input + start * g.inputSize, examples: n, geometry: g, filters: filters, weight: weight,
                     into: product.pointer, columns: columns.pointer, path: path)
            scatter(product.pointer, bias: bias, examples: n, filters: filters, positions: positions,
                    into: output + start * filters * positions)
            start += n
        }
    }

    /// The backward pass of `convolve`: `∂L/∂W = Σ G·Xᵀ`, `∂L/∂bias = Σ G` (both overwritten) and, when
    /// `inputGradient` is given, `∂L/∂x = col2im(Wᵀ·G)`. `gradientColumns` is sized like `columns`.
    static func convolveBackward(_ input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, batch: Int,
                                 geometry g: ConvolutionGeometry, weight: UnsafePointer<Float>, filters: Int,
                                 columns: Tensor, gradientColumns: Tensor, product: Tensor,
                                 weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                                 inputGradient: UnsafeMutablePointer<Float>?) {
        let block = blockSize(batch: batch, geometry: g)
        let positions = g.positions, patch = g.patchSize
        biasGradient.update(repeating: 0, count: filters)
        var start = 0
        while start < batch {
            let n = min(block, batch - start)
            let width = n * positions
            gather(outputGradient + start * filters * positions, examples: n, filters: filters, positions: positions,
                   into: product.pointer, biasGradient: biasGradient)
            Self.columns(input + start * g.inputSize, examples: n, geometry: g, into: columns.pointer)
            MatrixMultiply.gemm(transposeB: true, m: filters, n: patch, k: width, a: product.pointer, lda: width,
                                b: columns.pointer, ldb: width, beta: start == 0 ? 0 : 1, c: weightGradient, ldc: patch)
            if let inputGradient {
                MatrixMultiply.gemm(transposeA: true, m: patch, n: width, k: filters, a: weight, lda: patch,
                                    b: product.pointer, ldb: width, c: gradientColumns.pointer, ldc: width)
                images(gradientColumns.pointer, examples: n, geometry: g, into: inputGradient + start * g.inputSize)
            }
            start += n
        }
    }

    /// The plain direct convolution `y[b, f, oh, ow] = bias[f] + Σ_{c,i,j} W[f, c, i, j] · x[b, c, oh·s−p+i, ow·s−p+j]`
    /// (accumulated in Double), the oracle the im2col path is tested against.
    static func referenceConvolution(_ input: Tensor, batch: Int, geometry g: ConvolutionGeometry,
                                     weight: Tensor, bias: Tensor, filters: Int) -> Tensor {
        let output = Tensor(shape: [batch, filters, g.outputHeight, g.outputWidth])
        let k = g.kernelSize
        for b in 0..<batch {
            for f in 0..<filters {
                for oh in 0..<g.outputHeight {
                    for ow in 0..<g.outputWidth {
                        var sum = Double(bias[f])
                        for c in 0..<g.channels {
                            for i in 0..<k {
                                for j in 0..<k {
                                    let ih = oh * g.stride - g.padding + i, iw = ow * g.stride - g.padding + j
                                    if ih < 0 || ih >= g.height || iw < 0 || iw >= g.width { continue }
                                    let x = input[((b * g.channels + c) * g.height + ih) * g.width + iw]
                                    sum += Double(x) * Double(weight[((f * g.channels + c) * k + i) * k + j])
                                }
                            }
                        }
                        output[((b * filters + f) * g.outputHeight + oh) * g.outputWidth + ow] = Float(sum)
                    }
                }
            }
        }
        return output
    }
}
