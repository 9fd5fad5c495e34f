#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs libFuzzer on one Swift closure.
///
/// A fuzz target is an executable whose `main.swift` calls `FuzzDriver.run { bytes in … }`. SwiftPM
/// compiles that top-level code into `<Module>_main` and links the executable with `main` aliased to it
/// (an executable target without top-level code fails to link with "undefined symbol <Module>_main");
/// `run` then starts libFuzzer's driver (`LLVMFuzzerRunDriver`) instead of libFuzzer's own `main`.
/// libFuzzer's entry point, `LLVMFuzzerTestOneInput`, is defined here too and calls the same closure.
public enum FuzzDriver {
    /// The test of the running target: called with every input; must return normally for any bytes.
    nonisolated(unsafe) static var test: ([UInt8]) -> Void = { _ in }

    /// Runs libFuzzer with the process's arguments (`-max_total_time=30 corpus/`, …) on `test`, then
    /// exits with its status.
    public static func run(test: @escaping ([UInt8]) -> Void) -> Never {
        FuzzDriver.test = test
        var count = CommandLine.argc
        var arguments = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput))
    }
}

/// libFuzzer's entry point: one input, handed to `FuzzDriver.test`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzDriver.test(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
