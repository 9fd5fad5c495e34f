import ArgumentParser
import BNN
import BNNData
import Foundation

/// Where the data sets are.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "Folder holding mnist/ (and optionally notmnist/). Default: $BNN_DATA_DIR, else the user's cache folder.",
        valueName: "folder"))
    var dataDirectory: String?
}

/// Threads and the random seed.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Worker threads for matrix multiplies and parallel loops (default: all cores).")
    var threads: Int?

    @Option(help: "Seed for every random draw (posterior samples, white noise, shuffling).")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Arithmetic of the matrix multiplies and convolutions: bf16 (bfloat16 factors summed in fp32, on Intel AMX; fp32 on a CPU without AMX) or fp32. Default: $BNN_PRECISION, else fp32 for training and bf16 for prediction.",
                               valueName: "bf16|fp32"))
    var precision: MatrixPrecision?

    func validate() throws {
        try requireRange(threads, 1...1024, option: "--threads")
        if let value = ProcessInfo.processInfo.environment["BNN_PRECISION"], MatrixPrecision(rawValue: value) == nil {
            throw ValidationError("BNN_PRECISION is '\(value)'; it must be bf16 or fp32.")
        }
    }

    /// Sets the threads and the precision: --precision, else BNN_PRECISION, else `defaultPrecision` — bf16
    /// for prediction (on a CPU with AMX it changes answers only in rounding: docs/performance.md, round
    /// six), fp32 for training (`bnn train` passes it), so that a model trains to the same weights on
    /// every machine unless asked otherwise.
    func apply(defaultPrecision: MatrixPrecision = .bfloat16) {
        if let threads { ComputeSettings.threads = threads }
        ComputeSettings.matrixPrecision = resolvedPrecision(default: defaultPrecision)
    }

    /// The precision `apply(defaultPrecision:)` sets.
    func resolvedPrecision(default defaultPrecision: MatrixPrecision) -> MatrixPrecision {
        precision ?? MatrixPrecision.environment ?? defaultPrecision
    }
}

/// The help of `--ood` (evaluate, report); `UnlabeledImages.load(outOfDistribution:)` reads the set.
let outOfDistributionHelp = ArgumentHelp(
    "An extra out-of-distribution set: an IDX images file (gzip or raw; other sizes than 28×28 are normalised like predict's images), a PNG/PGM image, or a folder of them.",
    valueName: "name=path")

extension UncertaintyScore: ExpressibleByArgument {}
extension GradientEstimator: ExpressibleByArgument {}
extension MatrixPrecision: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}
extension TrainingMethod: ExpressibleByArgument {}

/// A usage error (exit 64) unless `value`, given to `option`, is within `range`; nil passes.
func requireRange<Value: Comparable>(_ value: Value?, _ range: ClosedRange<Value>, option: String) throws {
    guard let value, !range.contains(value) else { return }
    throw ValidationError("\(option) must be within \(range.lowerBound)–\(range.upperBound), got \(value).")
}

/// `--samples`: posterior samples per input, 1…`Predictive.maximumSamples` (10,000) on the command line.
func requireSampleCount(_ samples: Int?, maximum: Int = Predictive.maximumSamples) throws {
    try requireRange(samples, 1...maximum, option: "--samples")
}

/// A usage error when `output`, given to `option`, is the same file as one of `inputs` (the model, an
/// image, a data set, either file of an IDX pair IMAGES,LABELS): writing there would destroy an input.
/// Compares files, not spellings: `./m`, a symbolic link or a hard link to the model are the model too
/// (and equal paths, for files not yet made).
func refuseOverwritingInputs(_ output: String?, option: String, inputs: [String]) throws {
    guard let output else { return }
    let path = { (text: String) in URL(fileURLWithPath: text).standardizedFileURL.path }
    let (outputPath, outputIdentity) = (path(output), fileIdentity(output))
    for input in inputs.flatMap(DataSource.paths(of:))
    where path(input) == outputPath || (outputIdentity.map { $0 == fileIdentity(input) } ?? false) {
        throw ValidationError("\(option) \(output) is an input of this command (\(input)); write to another file.")
    }
}

/// The device and inode of the file at `path` (after symbolic links), or nil when there is none.
func fileIdentity(_ path: String) -> [UInt64]? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return [UInt64(status.st_dev), UInt64(status.st_ino)]
}

/// Fails (exit 1) before a long run when the posterior samples for `count` inputs of `classes` classes
/// (`Predictive.resultBytes`) would take more than half of this machine's memory.
func requireMemory(samples: Int, count: Int, classes: Int) throws {
    let available = ProcessInfo.processInfo.physicalMemory / 2
    let needed = Predictive.resultBytes(samples: samples, count: count, classes: classes)
    guard let needed, UInt64(needed) <= available else {
        let gigabytes = { (bytes: Double) in String(format: "%.1f GB", bytes / 1e9) }
        throw CommandError(description: "\(samples) samples of \(count) images need \(needed.map { gigabytes(Double($0)) } ?? "more memory than exists") "
                          + "for their class probabilities, more than half of this machine's \(gigabytes(Double(ProcessInfo.processInfo.physicalMemory))); use fewer --samples")
    }
}

/// A command that cannot run as asked (reported as one line, exit 1).
struct CommandError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body`, turning any error into one line on stderr and exit code 1 (usage errors keep 64).
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as DataError where MNIST.asksForFiles(error) {
        // The library speaks of "the data folder"; the command line's name for it is --data-dir.
        Console.error("\(error); with bnn, --data-dir names the data folder")
        throw ExitCode(1)
    } catch {
        Console.error("\(error)")
        throw ExitCode(1)
    }
}

/// Output helpers: results to stdout, progress and diagnostics to stderr.
enum Console {
    static let isTerminal = isatty(STDERR_FILENO) != 0

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("bnn: error: \(message)\n".utf8))
    }

    static func warning(_ message: String) {
        // Library messages may already say "warning:"; say it once.
        let text = message.hasPrefix("warning: ") ? String(message.dropFirst(9)) : message
        FileHandle.standardError.write(Data("bnn: warning: \(text)\n".utf8))
    }

    static func info(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// A message from the library's `log` callbacks: its warnings ("warning: …") as warnings, anything
    /// else (e.g. "downloading …") as a plain progress line.
    static func relay(_ message: String) {
        if message.hasPrefix("warning: ") { warning(message) } else { info(message) }
    }

    /// Seconds between plain progress lines within a step when stderr is not a terminal (10, or
    /// `BNN_PROGRESS_INTERVAL`, which the tests set to see every line).
    static let plainInterval = ProcessInfo.processInfo.environment["BNN_PROGRESS_INTERVAL"].flatMap(Double.init) ?? 10
    /// When the last plain progress line was printed (or the first progress was reported).
    nonisolated(unsafe) private static var lastPlainLine: Date?

    /// A progress line: rewritten in place on a terminal. Otherwise (a log file, a pipe) every `final`
    /// line is printed, and the others as plain lines at most every `plainInterval` seconds, so a long
    /// epoch still shows that it advances.
    static func progress(_ message: String, final: Bool) {
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(message)\(final ? "\n" : "")".utf8))
        } else {
            let now = Date()
            let last = lastPlainLine ?? now
            if lastPlainLine == nil { lastPlainLine = now }
            if final || now.timeIntervalSince(last) >= plainInterval {
                FileHandle.standardError.write(Data("\(message)\n".utf8))
                lastPlainLine = now
            }
        }
    }
}
