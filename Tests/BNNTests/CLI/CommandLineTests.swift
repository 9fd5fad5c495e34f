import Foundation
import Testing
@testable import BNN
import BNNData

/// Runs the built `bnn` executable: bad input gets one clear line on stderr and a non-zero exit code;
/// with real data (BNN_DATA_DIR), train → evaluate → predict works end to end.
@Suite(.serialized) struct CommandLineTests {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `bnn` binary built beside the test bundle.
    static let executable: URL? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent(), directory.deletingLastPathComponent().deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("bnn")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }()

    static let dataDirectory = ProcessInfo.processInfo.environment["BNN_DATA_DIR"].flatMap {
        FileManager.default.fileExists(atPath: $0 + "/mnist") ? $0 : nil
    }

    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Outcome {
        let executable = try #require(Self.executable, "bnn executable not found next to the test bundle")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["BNN_NO_DOWNLOAD"] = "1"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bnn-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// One line on stderr that names `file`, exit status 1.
    func expectCleanError(_ outcome: Outcome, naming file: String, mentioning words: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome.status == 1, "exit status \(outcome.status); stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
        let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("bnn: error:") }
        #expect(lines.count == 1, "expected one error line, got: \(outcome.stderr)", sourceLocation: sourceLocation)
        #expect(outcome.stderr.contains(file), "error does not name \(file): \(outcome.stderr)", sourceLocation: sourceLocation)
        for word in words {
            #expect(outcome.stderr.lowercased().contains(word.lowercased()), "error lacks '\(word)': \(outcome.stderr)", sourceLocation: sourceLocation)
        }
        #expect(!outcome.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    /// A small valid model file.
    func writeModel(to url: URL) throws {
        var generator = RandomGenerator(seed: 1)
        let network = NetworkBuilder.mlp(inputs: 784, hidden: 8, classes: 10)
        for case let layer as BayesianDense in network.layers { layer.initialize(.he, initialSigma: 0.05, generator: &generator) }
        let model = BayesianClassifier(network: network, training: .default)
        model.calibration = Calibration(score: .mutualInformation, threshold: 0.1, coverage: 0.975, samples: 10, validationCount: 100, acceptedAccuracy: 0.99)
        try model.save(to: url)
    }

    @Test func usageErrorsExit64() throws {
        let outcome = try run(["train"])  // --output is required
        #expect(outcome.status == 64, "status \(outcome.status)")
        let badRule = try run(["evaluate", "--model", "m.safetensors", "--rule", "vibes"])
        #expect(badRule.status == 64)
        let badOutlierWeight = try run(["train", "--outlier-weight", "-1", "--output", "m.safetensors"])
        #expect(badOutlierWeight.status == 64 && badOutlierWeight.stderr.contains("--outlier-weight"))
        let badPart = try run(["bench", "--only", "evaluate,gpu"])
        #expect(badPart.status == 64 && badPart.stderr.contains("'gpu'") && badPart.stderr.contains("normals"), "\(badPart.stderr)")
    }

    /// A mistyped option is named with the closest real one, not reported as whatever it left missing.
    @Test func mistypedOptionsGetASuggestion() throws {
        for (arguments, typo, suggestion) in [(["evaluate", "--modle", "x"], "--modle", "--model"),
                                              (["train", "--output", "m.safetensors", "--epcohs", "2"], "--epcohs", "--epochs"),
                                              (["report", "--model=m", "--output", "r.html", "--data-dri", "d"], "--data-dri", "--data-dir")] {
            let outcome = try run(arguments)
            #expect(outcome.status == 64, "\(arguments): status \(outcome.status)")
            #expect(outcome.stderr.contains("Unknown option '\(typo)'; did you mean '\(suggestion)'?"), "\(arguments): \(outcome.stderr)")
            #expect(!outcome.stderr.contains("Missing expected argument"), "\(outcome.stderr)")
        }
        // Nothing close: the option is named, without a guess.
        let far = try run(["evaluate", "--model", "x", "--colour", "red"])
        #expect(far.status == 64 && far.stderr.contains("Unknown option '--colour'") && !far.stderr.contains("did you mean"), "\(far.stderr)")
        // Correct command lines are untouched by the check.
        #expect(try run(["evaluate", "--help"]).status == 0)
    }

    /// `bnn calibrate` never replaces the model unless told to: `--output` or `--in-place`, exactly one.
    @Test func calibrateSaysWhereTheModelGoes() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        try writeModel(to: model)
        let before = try Data(contentsOf: model)
        let neither = try run(["calibrate", "--model", model.path])
        #expect(neither.status == 64 && neither.stderr.contains("--output") && neither.stderr.contains("--in-place"), "\(neither.stderr)")
        let both = try run(["calibrate", "--model", model.path, "--in-place", "--output", folder.appendingPathComponent("other.safetensors").path])
        #expect(both.status == 64 && both.stderr.contains("not both"), "\(both.stderr)")
        #expect(try Data(contentsOf: model) == before, "the model file was touched")
    }

    @Test func missingModelFile() throws {
        let outcome = try run(["predict", "--model", "/nonexistent/model.safetensors", "x.png"])
        expectCleanError(outcome, naming: "/nonexistent/model.safetensors")
    }

    @Test func truncatedAndMalformedModelFiles() throws {
        let folder = try temporaryDirectory()
        let good = folder.appendingPathComponent("good.safetensors")
        try writeModel(to: good)
        let bytes = try Data(contentsOf: good)
        let truncated = folder.appendingPathComponent("truncated.safetensors")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        expectCleanError(try run(["predict", "--model", truncated.path, "x.png"]), naming: "truncated.safetensors")

        var malformed = bytes
        malformed[10] = UInt8(ascii: "}")  // breaks the JSON header
        let broken = folder.appendingPathComponent("broken.safetensors")
        try malformed.write(to: broken)
        expectCleanError(try run(["predict", "--model", broken.path, "x.png"]), naming: "broken.safetensors")

        let notAModel = folder.appendingPathComponent("other.safetensors")
        try SafeTensorsFile(tensors: [(name: "x", tensor: Tensor(shape: [2]))], metadata: [:]).write(to: notAModel)
        expectCleanError(try run(["predict", "--model", notAModel.path, "x.png"]), naming: "other.safetensors", mentioning: ["swift-bnn"])
    }

    @Test func imageThatIsNotPNGOrPGM() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        try writeModel(to: model)
        let text = folder.appendingPathComponent("notes.txt")
        try Data("hello".utf8).write(to: text)
        expectCleanError(try run(["predict", "--model", model.path, text.path]), naming: "notes.txt")
        let missing = folder.appendingPathComponent("missing.png")
        expectCleanError(try run(["predict", "--model", model.path, missing.path]), naming: "missing.png")
    }

    /// `--rule conformal`: its options are checked as usage errors, a model file without conformal scores
    /// is refused with the command that adds them, an α too small for the stored scores is named, and a
    /// model with them answers a set with its α.
    @Test func conformalRuleOptionsAndOldModelFiles() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        try writeModel(to: model)
        let image = folder.appendingPathComponent("digit.pgm")
        var pgm = Data("P5\n28 28\n255\n".utf8)
        pgm.append(contentsOf: (0..<784).map { UInt8(($0 % 28 > 10 && $0 % 28 < 16) ? 255 : 0) })
        try pgm.write(to: image)
        for (arguments, option) in [(["--alpha", "0.1"], "--alpha"), (["--conformal-score", "aps"], "--conformal-score"),
                                    (["--rule", "conformal", "--threshold", "0.5"], "--threshold"),
                                    (["--rule", "conformal", "--alpha", "1.5"], "--alpha"), (["--rule", "conformal", "--alpha", "0"], "--alpha")] {
            let outcome = try run(["predict", "--model", model.path, image.path] + arguments)
            #expect(outcome.status == 64 && outcome.stderr.contains(option), "\(arguments): \(outcome.status) \(outcome.stderr)")
        }
        expectCleanError(try run(["predict", "--model", model.path, image.path, "--rule", "conformal"]), naming: "model.safetensors",
                         mentioning: ["no conformal scores", "bnn calibrate --model"])
        // A model with (hand-made) conformal scores of 9 validation inputs: α ≥ 0.1 works, 0.05 is refused.
        let classifier = try BayesianClassifier.load(from: model)
        let scores: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
        classifier.calibration?.conformal = ConformalCalibration(defaultScore: .lac, penaltyFreeRanks: 1, rankPenalty: 0.01,
                                                                  lac: scores, aps: scores, raps: scores)
        let calibrated = folder.appendingPathComponent("conformal.safetensors")
        try classifier.save(to: calibrated)
        expectCleanError(try run(["predict", "--model", calibrated.path, image.path, "--rule", "conformal", "--alpha", "0.05"]),
                         naming: "conformal.safetensors", mentioning: ["at least 19 calibration examples", "has 9"])
        let answered = try run(["predict", "--model", calibrated.path, image.path, "--rule", "conformal", "--alpha", "0.1", "--json"])
        #expect(answered.status == 0, "\(answered.stderr)")
        #expect(answered.stdout.contains("\"alpha\" : 0.1") && answered.stdout.contains("\"conformal_score\" : \"lac\"")
                && answered.stdout.contains("\"rule\" : \"conformal\""), "\(answered.stdout)")
    }

    @Test func missingDataFolderHasHint() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        try writeModel(to: model)
        let outcome = try run(["evaluate", "--model", model.path, "--data-dir", folder.appendingPathComponent("nowhere").path])
        expectCleanError(outcome, naming: "nowhere", mentioning: MNIST.fileNames + ["--data-dir", "BNN_DATA_DIR"])
    }

    /// Without network (an unreachable proxy stands in for it), each download attempt is a plain progress
    /// line, not a warning, and the error says what to do instead: the four files, `--data-dir`, `BNN_DATA_DIR`.
    @Test func offlineDownloadIsReportedAsProgressAndExplained() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        try writeModel(to: model)
        let unreachable = "http://127.0.0.1:9"
        let outcome = try run(["evaluate", "--model", model.path, "--data-dir", folder.appendingPathComponent("nowhere").path],
                              environment: ["BNN_NO_DOWNLOAD": "0", "XDG_CACHE_HOME": folder.appendingPathComponent("cache").path,
                                            "https_proxy": unreachable, "HTTPS_PROXY": unreachable, "no_proxy": "", "NO_PROXY": ""])
        expectCleanError(outcome, naming: MNIST.testImagesName, mentioning: MNIST.fileNames + ["--data-dir", "BNN_DATA_DIR", "download failed"])
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("downloading https://") }.count == MNIST.mirrors.count, "\(outcome.stderr)")
        #expect(!lines.contains { $0.hasPrefix("bnn: warning: downloading") }, "\(outcome.stderr)")
    }

    /// With stderr not a terminal (here a pipe), training prints a plain progress line within an epoch
    /// at most every 10 s (`BNN_PROGRESS_INTERVAL` seconds), and never terminal control codes.
    @Test(.enabled(if: dataDirectory != nil, "needs BNN_DATA_DIR with mnist/"))
    func plainProgressLinesWhenNotATerminal() throws {
        let folder = try temporaryDirectory()
        // 1,600 images (MNIST's alone) in batches of 8: 200 batches, reported after batches 50, 100 and 150.
        let arguments = ["train", "--recipe", "mnist-only", "--epochs", "1", "--hidden", "16", "--batch-size", "8", "--train-count", "1600",
                         "--output", folder.appendingPathComponent("model.safetensors").path]
        let everyLine = try run(arguments, environment: ["BNN_PROGRESS_INTERVAL": "0"])
        #expect(everyLine.status == 0, "train failed: \(everyLine.stderr)")
        #expect(everyLine.stderr.split(separator: "\n").filter { $0.hasPrefix("epoch  1/1  batch ") }.count == 3, "\(everyLine.stderr)")
        #expect(!everyLine.stderr.contains("\u{1B}") && !everyLine.stderr.contains("\r"))
        let throttled = try run(arguments, environment: ["BNN_PROGRESS_INTERVAL": "1000"])
        #expect(throttled.status == 0 && throttled.stderr.contains("epoch  1/1  loss"), "\(throttled.stderr)")
        #expect(!throttled.stderr.contains("batch "), "\(throttled.stderr)")
    }

    @Test(.enabled(if: dataDirectory != nil, "needs BNN_DATA_DIR with mnist/"))
    func badOutOfDistributionFiles() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        try writeModel(to: model)
        let good = IDXFile(dimensions: [3, 28, 28], bytes: [UInt8](repeating: 7, count: 3 * 784))
        let encoded = good.encoded()
        let cases: [(String, [UInt8], String)] = [
            ("truncated.idx", Array(encoded.prefix(encoded.count - 100)), "truncated"),
            ("magic.idx", [0, 0, 9, 3] + Array(encoded.dropFirst(4)), "magic"),
            ("claims-more.idx", Array(encoded.prefix(4)) + [0, 0, 0, 9] + Array(encoded.dropFirst(8)), "9"),
            ("corrupt.idx.gz", Array(Zlib.compress(encoded).prefix(40)) + [1, 2, 3, 4, 5, 6, 7, 8], "gzip"),
        ]
        for (name, bytes, word) in cases {
            let url = folder.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            let outcome = try run(["evaluate", "--model", model.path, "--samples", "2", "--ood", "bad=\(url.path)"])
            expectCleanError(outcome, naming: name, mentioning: [word])
        }
    }

    /// `bnn predict`: an image's answer and numbers are the same alone, first, last and among 100 others
    /// (the case: a grey gradient, no digit), and a different --seed changes its samples.
    @Test func predictionsDoNotDependOnTheOtherImages() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        try writeModel(to: model)
        func pgm(_ name: String, width: Int, height: Int, _ value: (Int, Int) -> UInt8) throws -> String {
            let url = folder.appendingPathComponent(name)
            var bytes = Array("P5\n\(width) \(height)\n255\n".utf8)
            for y in 0..<height { for x in 0..<width { bytes.append(value(x, y)) } }
            try Data(bytes).write(to: url)
            return url.path
        }
        let gradient = try pgm("gradient.pgm", width: 40, height: 30) { x, _ in UInt8(255 * x / 39) }
        var generator = RandomGenerator(seed: 3)
        let others = try (0..<100).map { index in
            try pgm("other\(index).pgm", width: 28, height: 28) { _, _ in generator.uniform() < 0.15 ? 255 : 0 }
        }
        /// The answer for the gradient, as sorted-key JSON text (numbers exactly as printed).
        func answer(_ files: [String], at index: Int, seed: Int = 0) throws -> String {
            let outcome = try run(["predict", "--model", model.path, "--json", "--seed", "\(seed)"] + files)
            #expect(outcome.status == 0, "predict failed: \(outcome.stderr)")
            let answers = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
            var entry = answers[index]
            #expect(entry.removeValue(forKey: "file") as? String == gradient)
            return String(decoding: try JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]), as: UTF8.self)
        }
        let alone = try answer([gradient], at: 0)
        for (files, index) in [([gradient] + others, 0), (others + [gradient], 100), (Array(others[..<50]) + [gradient] + others[50...], 50)] {
            let among = try answer(files, at: index)
            #expect(among == alone)
        }
        let otherSeed = try answer([gradient], at: 0, seed: 1)
        #expect(otherSeed != alone, "--seed 1 gave the same samples as --seed 0")
    }

    /// train → evaluate --json → predict, on real MNIST (a small, quick model).
    @Test(.enabled(if: dataDirectory != nil, "needs BNN_DATA_DIR with mnist/"))
    func trainEvaluatePredict() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("model.safetensors")
        let trained = try run(["train", "--epochs", "2", "--hidden", "128", "--train-count", "6000", "--output", model.path])
        #expect(trained.status == 0, "train failed: \(trained.stderr)")
        #expect(trained.stderr.contains("epoch  2/2"))

        let evaluated = try run(["evaluate", "--model", model.path, "--samples", "10", "--json"])
        #expect(evaluated.status == 0, "evaluate failed: \(evaluated.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        for key in ["samples", "rule", "threshold", "score", "forced_accuracy", "datasets", "seconds"] {
            #expect(object[key] != nil, "missing key \(key)")
        }
        let datasets = try #require(object["datasets"] as? [String: [String: Any]])
        let mnist = try #require(datasets["mnist"])
        for key in ["count", "refused", "accepted_accuracy", "ece", "nll"] { #expect(mnist[key] != nil, "mnist lacks \(key)") }
        #expect(mnist["count"] as? Int == 10000)
        let noise = try #require(datasets["noise"])
        for key in ["count", "refused", "auroc", "auroc_entropy", "auroc_mutual_information"] { #expect(noise[key] != nil, "noise lacks \(key)") }
        let forced = try #require(object["forced_accuracy"] as? Double)
        #expect(forced > 0.85, "a 2-epoch model on 6,000 images should be > 85% accurate, got \(forced)")

        // A real test digit as a black-on-white PNG of another size: predicted like the original.
        let mnistData = try MNIST.load(dataDirectory: Self.dataDirectory, download: false)
        let digit = mnistData.test.subset(0..<1)
        var grey = [UInt8](repeating: 255, count: 56 * 56)
        for y in 0..<56 { for x in 0..<56 { grey[y * 56 + x] = UInt8(255 - Int(digit.images[(y / 2) * 28 + x / 2] * 255)) } }
        let png = folder.appendingPathComponent("digit.png")
        try Data(PNGEncoder.encode(grey: grey, width: 56, height: 56)).write(to: png)
        let predicted = try run(["predict", "--model", model.path, "--json", "--rule", "median", png.path])
        #expect(predicted.status == 0, "predict failed: \(predicted.stderr)")
        let answers = try #require(try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [[String: Any]])
        #expect(answers.first?["prediction"] as? Int == digit.labels[0])
        #expect(answers.first?["file"] as? String == png.path)
        // Without --samples, predict uses the model's calibration sample count (100 for the MLP recipe).
        #expect(answers.first?["samples"] as? Int == 100)

        // Re-calibrating at another coverage moves the threshold and is stored in a new file; the
        // original model is left as it was.
        let recalibrated = folder.appendingPathComponent("recalibrated.safetensors")
        let calibrated = try run(["calibrate", "--model", model.path, "--coverage", "0.9", "--samples", "10",
                                  "--output", recalibrated.path])
        #expect(calibrated.status == 0, "calibrate failed: \(calibrated.stderr)")
        #expect(calibrated.stdout.contains("← chosen"))
        let original = try BayesianClassifier.load(from: model), refitted = try BayesianClassifier.load(from: recalibrated)
        let before = try #require(original.calibration), after = try #require(refitted.calibration)
        #expect(abs(after.coverage - 0.9) < 0.01 && abs(before.coverage - 0.975) < 0.01)
        #expect(after.samples == 10 && refitted.training.calibrationCoverage == 0.9)
        let badCoverage = try run(["calibrate", "--model", model.path, "--coverage", "1.5", "--in-place"])
        #expect(badCoverage.status == 64)
        // --in-place replaces the model itself.
        let inPlace = try run(["calibrate", "--model", model.path, "--coverage", "0.95", "--samples", "5", "--in-place"])
        #expect(inPlace.status == 0, "calibrate --in-place failed: \(inPlace.stderr)")
        let replaced = try #require(try BayesianClassifier.load(from: model).calibration)
        #expect(abs(replaced.coverage - 0.95) < 0.01 && replaced.samples == 5)
    }
}
