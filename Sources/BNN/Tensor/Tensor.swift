import CBNNKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dense, contiguous, row-major array of `Float` (32-bit) values with a shape.
///
/// `Tensor` is a reference type: layers keep their parameters, gradients and scratch buffers as
/// tensors that are allocated once and reused, so no training step allocates. Storage is 64-byte
/// aligned (one cache line, one AVX-512 vector) and owned by the tensor.
///
/// Element access through `subscript` is bounds-checked and meant for tests and setup; hot loops use
/// `pointer` directly.
public final class Tensor: @unchecked Sendable {
    /// The extent of each dimension, outermost first. A scalar has shape `[]`.
    public let shape: [Int]
    /// The number of elements, the product of `shape`.
    public let count: Int
    /// The first element. Valid for `count` elements for the lifetime of the tensor.
    public let pointer: UnsafeMutablePointer<Float>

    /// The number of elements of a tensor of `shape`, or nil when a dimension is negative or the product
    /// (or its size in bytes) overflows `Int`. Checked arithmetic: safe on any shape, such as one read from
    /// a file, which should be checked with this before it reaches `init(shape:repeating:)`.
    public static func elementCount(of shape: [Int]) -> Int? {
        var product = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            product = next
        }
        return product <= Int.max / MemoryLayout<Float>.stride ? product : nil
    }

    /// Asks the C allocator (glibc; elsewhere nothing happens) to map every block of `threshold` bytes or
    /// more on its own and unmap it when freed, with that threshold fixed. glibc by default raises the
    /// threshold to the size of the first such block freed, after which large tensors come from its heap
    /// and their memory stays with the process when they are freed (the buffers of validation and
    /// calibration then added to the peak of training). A process-wide setting, for programs to make at
    /// start-up; returns whether it was taken.
    @discardableResult
    public static func mapLargeAllocations(threshold: Int = 4 << 20) -> Bool {
        bnn_map_large_allocations(threshold) == 1
    }

    /// Creates a tensor of the given shape with every element equal to `value`.
    ///
    /// A negative dimension, or a shape whose size overflows, is a programmer error (checked, never an
    /// arithmetic trap): shapes from files are validated where they are read.
    public init(shape: [Int], repeating value: Float = 0) {
        guard let count = Tensor.elementCount(of: shape) else {
            preconditionFailure("Tensor shape must be non-negative with a product that fits in memory, got \(shape)")
        }
        self.shape = shape
        self.count = count
        let bytes = max(self.count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(self.count, 1))
        self.pointer.initialize(repeating: value, count: max(self.count, 1))
    }

    /// Creates a tensor of the given shape holding `values` in row-major order.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "Tensor of shape \(shape) needs \(count) values, got \(values.count)")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    /// The element at a flat (row-major) index.
    public subscript(index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "Index \(index) out of range for \(count) elements")
            return pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "Index \(index) out of range for \(count) elements")
            pointer[index] = newValue
        }
    }

    /// The element at `[row, column]` of a tensor viewed as a matrix (`rows` × `columns`).
    public subscript(row: Int, column: Int) -> Float {
        get { self[row * columns + column] }
        set { self[row * columns + column] = newValue }
    }

    /// The extent of the first dimension (1 for a scalar).
    public var rows: Int { shape.first ?? 1 }
    /// The number of elements per row: the product of all dimensions but the first.
    public var columns: Int { shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 1 }

    /// The elements as an array, in row-major order.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// A new tensor with the same shape and values.
    public func copy() -> Tensor {
        let result = Tensor(shape: shape)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        pointer.update(repeating: value, count: count)
    }

    /// Copies all elements from a tensor with the same number of elements.
    public func assign(from other: Tensor) {
        precondition(other.count == count, "Cannot assign \(other.shape) to \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    /// A buffer view of the elements.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = (0..<min(count, 8)).map { "\(pointer[$0])" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
