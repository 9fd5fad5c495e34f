import Dispatch

/// How many threads compute kernels may use (defaults to all cores; `--threads N` sets it), and in which
/// precision the portable path multiplies matrices.
public enum ComputeSettings {
    nonisolated(unsafe) private static var _threads: Int = ProcessInfoCores.count
    nonisolated(unsafe) private static var _matrixPrecision: MatrixPrecision? = nil

    /// The number of worker threads for parallel loops and BLAS (at least 1).
    public static var threads: Int {
        get { _threads }
        set { _threads = max(1, newValue) }
    }

    /// The arithmetic of the portable path's matrix multiplies and convolutions: `.float32` unless set, or
    /// unless the environment says `BNN_PRECISION=bf16`. `.bfloat16` takes effect only where
    /// `MatrixPrecision.bfloat16IsAvailable`; elsewhere the products stay in fp32. (The `bnn` command
    /// line sets `.bfloat16` for prediction and `.float32` for training unless told otherwise.)
    public static var matrixPrecision: MatrixPrecision {
        get { _matrixPrecision ?? MatrixPrecision.environment ?? .float32 }
        set { _matrixPrecision = newValue }
    }
}

enum ProcessInfoCores {
    static let count: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return max(1, Int(sysconf(_SC_NPROCESSORS_ONLN)))
        #endif
    }()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parallel loops over index ranges, on `ComputeSettings.threads` threads.
public enum Parallel {
    /// Splits `0..<count` into at most `threads` (default `ComputeSettings.threads`) contiguous chunks and
    /// runs `body` on each chunk concurrently. Chunks smaller than `minimumChunk` are not split further, so
    /// small loops run on the calling thread without dispatch overhead.
    public static func forChunks(
        of count: Int, minimumChunk: Int = 1, threads: Int? = nil, _ body: @Sendable (Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let maxChunks = max(1, min(threads ?? ComputeSettings.threads, count / max(1, minimumChunk)))
        if maxChunks == 1 {
            body(0..<count)
            return
        }
        let chunk = (count + maxChunks - 1) / maxChunks
        DispatchQueue.concurrentPerform(iterations: maxChunks) { index in
            let start = index * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}

extension Parallel {
    /// `forChunks` for element-wise passes over large buffers: pieces of at least 32,768 elements, so
    /// that smaller loops stay on the calling thread.
    public static func forElements(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
        forChunks(of: count, minimumChunk: 1 << 15, body)
    }
}

/// A pointer that may cross into `@Sendable` closures of parallel loops. Each parallel task must
/// touch a disjoint part of the memory; the type only states that the caller guarantees it.
public struct SendablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Pointee>
    public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}
