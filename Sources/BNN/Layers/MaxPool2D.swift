/// 2-D max pooling: the largest value of each `size × size` window, moved by `stride`.
///
/// Concretely, for input `[batch, channels, height, width]` the output is
/// `[batch, channels, ⌊(height − size)/stride⌋ + 1, ⌊(width − size)/stride⌋ + 1]` with
///
///     y[n, c, oh, ow] = max_{i, j < size} x[n, c, oh·stride + i, ow·stride + j].
///
/// The forward pass records where each maximum came from (the first one, on ties), so the backward pass
/// routes every output gradient to that input alone. No padding: rows and columns that do not fill a
/// window are dropped, as in LeNet and PyTorch's default.
public final class MaxPool2D: Layer {
    public var inputCount: Int? { channels * height * width }
    public let kind = "max_pool2d"
    public let channels: Int
    public let height: Int
    public let width: Int
    /// The window side.
    public let size: Int
    public let stride: Int
    public let outputHeight: Int
    public let outputWidth: Int

    private var outputBuffer = Workspace()
    private var inputGradient = Workspace()
    // The argmax of every output within its input plane (oh·stride + i)·width + ow·stride + j, for backward.
    private var indices: UnsafeMutablePointer<Int32>
    private var indexCapacity: Int
    private var savedShape: [Int]?

    /// - Parameters: the per-example input `[channels, height, width]`, the window side (2 by default) and
    ///   the stride (the window side by default: non-overlapping windows).
    public init(channels: Int, height: Int, width: Int, size: Int = 2, stride: Int? = nil) {
        let stride = stride ?? size
        precondition(channels > 0 && height > 0 && width > 0, "MaxPool2D input must be positive, got [\(channels), \(height), \(width)]")
        precondition(size > 0 && stride > 0 && size <= height && size <= width,
                     "MaxPool2D window \(size) (stride \(stride)) does not fit [\(height), \(width)]")
        precondition(height * width < Int(Int32.max), "MaxPool2D plane too large")
        self.channels = channels
        self.height = height
        self.width = width
        self.size = size
        self.stride = stride
        outputHeight = (height - size) / stride + 1
        outputWidth = (width - size) / stride + 1
        indexCapacity = 0
        indices = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    }

    deinit { indices.deallocate() }

    public var configuration: LayerConfiguration {
        LayerConfiguration(kind: kind, channels: channels, kernelSize: size, stride: stride, height: height, width: width)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == channels * height * width,
                     "MaxPool2D expects [\(channels), \(height), \(width)] inputs, got shape \(inputShape)")
        return [channels, outputHeight, outputWidth]
    }

    public func forward(_ input: Tensor, mode: ForwardMode, generator: inout RandomGenerator) -> Tensor {
        let batch = input.rows
        precondition(input.count == batch * channels * height * width,
                     "MaxPool2D expects \(channels * height * width) values per example, got \(input.shape)")
        let output = outputBuffer.tensor(shape: [batch, channels, outputHeight, outputWidth])
        let planes = batch * channels
        let outputPlane = outputHeight * outputWidth
        if planes * outputPlane > indexCapacity {
            indices.deallocate()
            indexCapacity = planes * outputPlane
            indices = UnsafeMutablePointer<Int32>.allocate(capacity: indexCapacity)
        }
        if mode == .train { savedShape = input.shape }
        let source = SendablePointer(input.pointer), destination = SendablePointer(output.pointer)
        let argmax = SendablePointer(indices)
        let height = height, width = width, size = size, stride = stride
        let outputHeight = outputHeight, outputWidth = outputWidth
        let recordsArgmax = mode == .train
        Parallel.forChunks(of: planes, minimumChunk: max(1, 16384 / max(1, height * width))) { range in
            for plane in range {
                let x = UnsafePointer(source.pointer) + plane * height * width
                let y = destination.pointer + plane * outputPlane
                let index = argmax.pointer + plane * outputPlane
                if size == 2 && stride == 2 {
                    Self.pool2x2(x, width: width, outputHeight: outputHeight, outputWidth: outputWidth, into: y,
                                 argmax: recordsArgmax ? index : nil)
                    continue
                }
                for oh in 0..<outputHeight {
                    for ow in 0..<outputWidth {
                        let corner = oh * stride * width + ow * stride
                        var best = x[corner], position = corner
                        for i in 0..<size {
                            for j in 0..<size {
                                let at = corner + i * width + j
                                if x[at] > best { best = x[at]; position = at }
                            }
                        }
                        y[oh * outputWidth + ow] = best
                        index[oh * outputWidth + ow] = Int32(position)
                    }
                }
            }
        }
        return output
    }

    /// The 2 × 2, stride 2 windows of one plane (the CNN's pooling), unrolled, with the same first-maximum
    /// rule as the general loop; the argmax only when training needs it.
    @inline(__always)
    private static func pool2x2(_ x: UnsafePointer<Float>, width: Int, outputHeight: Int, outputWidth: Int,
                                into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?) {
        for oh in 0..<outputHeight {
            let top = x + 2 * oh * width, bottom = top + width, row = y + oh * outputWidth
            if let argmax {
                let indexRow = argmax + oh * outputWidth, corner = 2 * oh * width
                // Selects rather than branches: which of four activations wins depends on the data, so a
                // branch would be mispredicted about as often as taken.
                for ow in 0..<outputWidth {
                    let j = 2 * ow
                    var best = top[j], position = Int32(truncatingIfNeeded: corner + j)
                    Self.keepLarger(&best, &position, top[j + 1], Int32(truncatingIfNeeded: corner + j + 1))
                    Self.keepLarger(&best, &position, bottom[j], Int32(truncatingIfNeeded: corner + width + j))
                    Self.keepLarger(&best, &position, bottom[j + 1], Int32(truncatingIfNeeded: corner + width + j + 1))
                    row[ow] = best
                    indexRow[ow] = position
                }
            } else {
                for ow in 0..<outputWidth {
                    let j = 2 * ow
                    row[ow] = max(max(top[j], top[j + 1]), max(bottom[j], bottom[j + 1]))
                }
            }
        }
    }

    /// `best, position = candidate, at` when `candidate > best`, without a branch: the same comparison as
    /// an `if` (ties keep the earlier value; any comparison with NaN is false).
    @inline(__always)
    private static func keepLarger(_ best: inout Float, _ position: inout Int32, _ candidate: Float, _ at: Int32) {
        let larger = candidate > best
        best = larger ? candidate : best
        position = larger ? at : position
    }

    /// ∂L/∂x[argmax] += ∂L/∂y; every other input gets 0.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard let shape = savedShape else { preconditionFailure("MaxPool2D.backward called before a training forward pass") }
        let batch = shape.first ?? 1
        let outputPlane = outputHeight * outputWidth, inputPlane = height * width
        precondition(outputGradient.count == batch * channels * outputPlane, "MaxPool2D.backward: gradient shape \(outputGradient.shape)")
        let gx = inputGradient.tensor(shape: shape)
        gx.fill(0)
        let g = outputGradient.pointer, d = gx.pointer
        for plane in 0..<batch * channels {
            let source = g + plane * outputPlane, index = indices + plane * outputPlane
            let destination = d + plane * inputPlane
            for o in 0..<outputPlane { destination[Int(index[o])] += source[o] }
        }
        return gx
    }
}
