import ArgumentParser
import BNN
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

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
    }

    func apply() {
        if let threads { ComputeSettings.threads = threads }
    }
}

/// The help of `--ood` (evaluate, report); `UnlabeledImages.load(outOfDistribution:)` reads the set.
let outOfDistributionHelp = ArgumentHelp(
    "An extra out-of-distribution set: an IDX file of 28×28 images (gzip or raw), a PNG/PGM image, or a folder of them.",
    valueName: "name=path")

extension UncertaintyScore: ExpressibleByArgument {}
extension GradientEstimator: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}

/// Runs `body`, turning any error into one line on stderr and exit code 1 (usage errors keep 64).
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
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
