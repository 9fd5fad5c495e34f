import Foundation
import Testing
@testable import BNN
import BNNData

/// Issue 15 at the command line: bounded options (usage errors, exit 64), outputs that would overwrite an
/// input, unwritable outputs found before the work, and one-line messages for folders, FIFOs, empty sets
/// and a port in use.
extension CommandLineTests {
    /// A usage error (exit 64) whose message names `option`.
    func expectUsageError(_ arguments: [String], naming option: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let outcome = try run(arguments)
        #expect(outcome.status == 64, "\(arguments): status \(outcome.status), stderr \(outcome.stderr)", sourceLocation: sourceLocation)
        #expect(outcome.stderr.contains(option), "\(arguments): \(outcome.stderr)", sourceLocation: sourceLocation)
    }

    /// Runs `body` with a fresh folder holding a small valid model file `m.safetensors`, then removes it.
    func withModel(_ body: (_ directory: URL, _ model: URL) throws -> Void) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("m.safetensors")
        try writeModel(to: model)
        try body(directory, model)
    }

    @Test func samplesAreBoundedEverywhere() throws {
        for command in [["evaluate", "--model", "m.safetensors"], ["predict", "--model", "m.safetensors", "x.png"],
                        ["calibrate", "--model", "m.safetensors"], ["report", "--model", "m.safetensors", "-o", "r.html"],
                        ["serve", "--model", "m.safetensors"], ["demo"]] {
            for samples in ["0", "-3", "1000000000"] {
                try expectUsageError(command + ["--samples", samples], naming: "--samples")
            }
        }
        try expectUsageError(["evaluate", "--model", "m.safetensors", "--samples", "10001"], naming: "1–10000")
        try expectUsageError(["serve", "--model", "m.safetensors", "--samples", "1001"], naming: "1–1000")
    }

    @Test func trainingSizesAreBounded() throws {
        try expectUsageError(["train", "-o", "m.safetensors", "--hidden", "1000000000"], naming: "--hidden must be within 1–16384")
        try expectUsageError(["train", "-o", "m.safetensors", "--epochs", "1000000000"], naming: "--epochs")
        try expectUsageError(["train", "-o", "m.safetensors", "--batch-size", "1000000000"], naming: "--batch-size")
        try expectUsageError(["train", "-o", "m.safetensors", "--train-count", "0"], naming: "--train-count")
        try expectUsageError(["train", "-o", "m.safetensors", "--learning-rate", "inf"], naming: "--learning-rate")
        try expectUsageError(["train", "-o", "m.safetensors", "--prior-sigma", "nan"], naming: "--prior-sigma")
        try expectUsageError(["bench", "--repeats", "1000000000"], naming: "--repeats")
        try expectUsageError(["evaluate", "--model", "m.safetensors", "--threads", "100000"], naming: "--threads")
        try expectUsageError(["serve", "--model", "m.safetensors", "--max-batch", "100000"], naming: "--max-batch")
        try expectUsageError(["serve", "--model", "m.safetensors", "--max-connections", "0"], naming: "--max-connections")
        try expectUsageError(["serve", "--model", "m.safetensors", "--request-timeout", "0"], naming: "--request-timeout")
    }

    /// `--precision` takes bf16 or fp32 on every computing command, and `BNN_PRECISION` only those values.
    @Test func precisionIsValidated() throws {
        try expectUsageError(["evaluate", "--model", "m.safetensors", "--precision", "fp16"], naming: "--precision")
        try expectUsageError(["train", "-o", "m.safetensors", "--precision", "half"], naming: "--precision")
        let outcome = try run(["evaluate", "--model", "m.safetensors"], environment: ["BNN_PRECISION": "half"])
        #expect(outcome.status == 64, "status \(outcome.status), stderr \(outcome.stderr)")
        #expect(outcome.stderr.contains("BNN_PRECISION is 'half'"), "\(outcome.stderr)")
    }

    /// `report --output` and `predict --plot` on an input file are refused and the file is untouched.
    @Test func outputOntoAnInputIsRefused() throws {
        try withModel { directory, model in
            let before = try Data(contentsOf: model)
            let image = directory.appendingPathComponent("digit.pgm")
            try Data("P2 2 2 255 0 255 255 0\n".utf8).write(to: image)
            let link = directory.appendingPathComponent("link.safetensors")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: model)
            try expectUsageError(["report", "--model", model.path, "--output", model.path], naming: "is an input")
            try expectUsageError(["report", "--model", model.path, "--output", link.path], naming: "is an input")
            try expectUsageError(["predict", "--model", model.path, image.path, "--plot", model.path], naming: "--plot")
            try expectUsageError(["predict", "--model", model.path, image.path, "--plot", image.path], naming: "--plot")
            #expect(try Data(contentsOf: model) == before)
            let future = directory.appendingPathComponent("new.safetensors").path
            try expectUsageError(["demo", "--model", future, "--report", future], naming: "--report")
        }
    }

    /// `train` and `calibrate` check their destination before loading data or training (the data folder
    /// here does not exist, so an error about it would mean the check came too late).
    @Test func unwritableOutputIsFoundBeforeTheWork() throws {
        try withModel { directory, model in
            let missing = directory.appendingPathComponent("no-such-folder/out.safetensors").path
            let noData = ["--data-dir", directory.appendingPathComponent("no-data").path]
            let train = try run(["train", "-o", missing] + noData)
            expectCleanError(train, naming: missing, mentioning: ["no-such-folder"])
            let calibrate = try run(["calibrate", "--model", model.path, "-o", missing] + noData)
            expectCleanError(calibrate, naming: missing)
            let intoFolder = try run(["train", "-o", directory.path] + noData)
            expectCleanError(intoFolder, naming: directory.path, mentioning: ["is a folder"])
        }
    }

    /// A folder without images or a FIFO given as an image, a folder or FIFO as a model: one line naming
    /// it, never blocking on the FIFO.
    @Test func foldersAndFIFOsAreNamed() throws {
        try withModel { directory, model in
            let fifo = directory.appendingPathComponent("pipe").path
            try #require(mkfifo(fifo, 0o600) == 0)
            // A folder of images is read whole (every PNG/PGM inside); one without any is named.
            expectCleanError(try run(["predict", "--model", model.path, directory.path]), naming: directory.path,
                             mentioning: ["holds no .png or .pgm image"])
            expectCleanError(try run(["predict", "--model", model.path, fifo]), naming: fifo, mentioning: ["FIFO"])
            expectCleanError(try run(["predict", "--model", directory.path, fifo]), naming: directory.path, mentioning: ["is a folder"])
            expectCleanError(try run(["evaluate", "--model", fifo]), naming: fifo, mentioning: ["FIFO"])
            for outcome in [try run(["predict", "--model", directory.path, "x.png"])] {
                #expect(!outcome.stderr.contains("NSCocoaErrorDomain") && !outcome.stderr.contains("permission"), "\(outcome.stderr)")
            }
        }
    }

    /// An `--ood` set of no images: an error naming the file (it printed `0  0.00% nan`).
    @Test func emptyOutOfDistributionSetNamesTheFile() throws {
        try withModel { directory, model in
            let empty = directory.appendingPathComponent("empty.idx")
            try IDXFile(dimensions: [0, 28, 28], bytes: []).write(to: empty)
            let outcome = try run(["evaluate", "--model", model.path, "--ood", "empty=\(empty.path)", "--json",
                                   "--data-dir", directory.path])
            expectCleanError(outcome, naming: empty.path, mentioning: ["0 images"])
        }
    }

    /// A model whose metadata is out of range is refused at load by every command (`predict` trapped).
    @Test func modelWithZeroCalibrationSamplesIsRefused() throws {
        try withModel { directory, model in
            let classifier = try BayesianClassifier.load(from: model)
            classifier.calibration?.samples = 0
            try classifier.save(to: model)
            let image = directory.appendingPathComponent("digit.pgm")
            try Data("P2 2 2 255 0 255 255 0\n".utf8).write(to: image)
            expectCleanError(try run(["predict", "--model", model.path, image.path]), naming: model.path, mentioning: ["samples is 0"])
            expectCleanError(try run(["serve", "--model", model.path, "--port", "0"]), naming: model.path, mentioning: ["samples is 0"])
        }
    }

    /// A port in use: one line naming host:port.
    @Test func portInUseIsNamed() throws {
        try withModel { directory, model in
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(listener) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try withUnsafeMutablePointer(to: &address) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    try #require(bind(listener, raw, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, raw, &length) == 0)
                }
            }
            let port = Int(UInt16(bigEndian: address.sin_port))
            let outcome = try run(["serve", "--model", model.path, "--port", "\(port)", "--data-dir", directory.path])
            expectCleanError(outcome, naming: "127.0.0.1:\(port)", mentioning: ["already in use"])
        }
    }
}
