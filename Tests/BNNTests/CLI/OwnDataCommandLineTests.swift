import Foundation
import Testing
@testable import BNN
import BNNData

/// `bnn` on the user's own data, end to end: a CSV table and a folder of colour images of two sizes,
/// trained, evaluated, and predicted with class names; malformed sources are one clear line.
extension CommandLineTests {
    /// Two well-separated classes of 3 features with text labels (label column in the middle).
    func writeTable(_ url: URL, rows: Int, seed: UInt64, extraColumn: Bool = false) throws {
        var generator = RandomGenerator(seed: seed)
        var text = "height,kind,width,depth" + (extraColumn ? ",colour" : "") + "\n"
        for row in 0..<rows {
            let positive = row % 2 == 0
            let centre: Float = positive ? 3 : -3
            let values = (0..<3).map { _ in centre + generator.normal() }
            text += "\(values[0]),\(positive ? "tall" : "flat"),\(values[1] * 100),\(values[2])" + (extraColumn ? ",1" : "") + "\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func tableTrainEvaluatePredict() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let train = folder.appendingPathComponent("train.csv"), test = folder.appendingPathComponent("test.csv")
        try writeTable(train, rows: 200, seed: 1)
        try writeTable(test, rows: 60, seed: 2)
        let model = folder.appendingPathComponent("table.safetensors").path
        let trained = try run(["train", "--train", train.path, "--label-column", "kind", "--hidden", "16", "--epochs", "20",
                               "--output", model])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("rows of 3 features of 2 classes (20 held out)"), "\(trained.stderr)")

        let evaluated = try run(["evaluate", "--model", model, "--test", test.path, "--label-column", "kind", "--json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let result = try JSONDecoder().decode(EvaluationResult.self, from: Data(evaluated.stdout.utf8))
        #expect(result.datasets.keys.sorted() == ["noise", "test"])
        #expect(result.forcedAccuracy > 0.95, "forced accuracy \(result.forcedAccuracy)")
        #expect((result.datasets["noise"]?.refused ?? 0) > 0.3, "noise refused \(result.datasets["noise"]?.refused ?? 0)")

        let predicted = try run(["predict", "--model", model, "--csv", test.path, "--label-column", "kind", "--json"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let lines = predicted.stdout.split(separator: "\n")
        #expect(lines.count == 60)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["row"] as? Int == 1)
        #expect((first?["class_names"] as? [String]).map { $0 == ["tall"] || $0.isEmpty } == true, "\(lines[0])")

        // Columns that are not the training columns are refused, naming the file and the column.
        let other = folder.appendingPathComponent("other.csv")
        try writeTable(other, rows: 4, seed: 3, extraColumn: true)
        expectCleanError(try run(["predict", "--model", model, "--csv", other.path, "--label-column", "kind"]), naming: "other.csv",
                         mentioning: ["colour"])
        // Augmentation changes images: asked of a table it is a usage error, before any training.
        let augmented = try run(["train", "--train", train.path, "--label-column", "kind", "--augmentation", "digits",
                                 "--output", folder.appendingPathComponent("augmented").path])
        #expect(augmented.status == 64 && augmented.stderr.contains("--augmentation changes images"), "\(augmented.stderr)")
        // A non-numeric cell names its line and column.
        let bad = folder.appendingPathComponent("bad.csv")
        try "height,kind,width,depth\n1,tall,2,3\n1,flat,two,3\n".write(to: bad, atomically: true, encoding: .utf8)
        expectCleanError(try run(["train", "--train", bad.path, "--label-column", "kind", "--output", folder.appendingPathComponent("x").path]),
                         naming: "bad.csv", mentioning: ["width"])
    }

    @Test func imageFolderTrainEvaluatePredict() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Two classes: a bright left half or a bright right half, as RGB images of 12×12 and 16×16.
        var generator = RandomGenerator(seed: 4)
        func write(_ set: String, count: Int) throws {
            for (label, name) in ["left", "right"].enumerated() {
                let directory = folder.appendingPathComponent(set).appendingPathComponent(name)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                for index in 0..<count {
                    let side = index % 3 == 0 ? 16 : 12
                    var samples = [UInt8]()
                    for _ in 0..<side {
                        for x in 0..<side {
                            let lit = (x < side / 2) == (label == 0)
                            let value = lit ? 200 + Int(generator.integer(below: 50)) : Int(generator.integer(below: 40))
                            samples += [UInt8(value), UInt8(value / 2), UInt8(255 - value)]
                        }
                    }
                    try Data(PNGEncoder.encode(rgb: samples, width: side, height: side))
                        .write(to: directory.appendingPathComponent("\(index).png"))
                }
            }
        }
        try write("train", count: 40)
        try write("test", count: 10)
        let model = folder.appendingPathComponent("images.safetensors").path
        let trained = try run(["train", "--train", folder.appendingPathComponent("train").path, "--hidden", "16", "--epochs", "10",
                               "--output", model])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("12×12 RGB images of 2 classes"), "\(trained.stderr)")
        let evaluated = try run(["evaluate", "--model", model, "--test", folder.appendingPathComponent("test").path, "--json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let result = try JSONDecoder().decode(EvaluationResult.self, from: Data(evaluated.stdout.utf8))
        #expect(result.datasets["test"]?.count == 20 && result.forcedAccuracy > 0.9, "\(evaluated.stdout)")

        let predicted = try run(["predict", "--model", model, folder.appendingPathComponent("test/right").path, "--json"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let answers = try #require(try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [[String: Any]])
        #expect(answers.count == 10)
        #expect(answers.filter { ($0["class_names"] as? [String]) == ["right"] }.count >= 8, "\(predicted.stdout)")

        // Outlier exposure against a folder of real non-examples (both halves lit: neither class), read at
        // the training images' size; the model records where its outliers came from. A missing source is
        // one line naming it; --outlier-weight 0 with --outliers, and --outlier-pool-share without it or
        // outside 0…1, are usage errors.
        let outliers = folder.appendingPathComponent("outliers")
        try FileManager.default.createDirectory(at: outliers, withIntermediateDirectories: true)
        for index in 0..<6 {
            let samples = [UInt8](repeating: UInt8(180 + index * 10), count: 14 * 14 * 3)
            try Data(PNGEncoder.encode(rgb: samples, width: 14, height: 14)).write(to: outliers.appendingPathComponent("\(index).png"))
        }
        let exposed = folder.appendingPathComponent("exposed.safetensors")
        let withOutliers = try run(["train", "--train", folder.appendingPathComponent("train").path, "--hidden", "16", "--epochs", "10",
                                    "--outliers", outliers.path, "--outlier-pool-share", "0.5", "--output", exposed.path])
        #expect(withOutliers.status == 0, "\(withOutliers.stderr)")
        let exposedModel = try BayesianClassifier.load(from: exposed)
        #expect(exposedModel.training.outlierSource == "outliers" && exposedModel.training.outlierWeight == 0.25)
        #expect(exposedModel.training.outlierPoolShare == 0.5)
        #expect(exposedModel.history.last?.outlierTerm != nil)
        let missing = folder.appendingPathComponent("no-such-outliers").path
        expectCleanError(try run(["train", "--train", folder.appendingPathComponent("train").path, "--outliers", missing,
                                  "--output", model + "3"]), naming: missing)
        let off = try run(["train", "--train", folder.appendingPathComponent("train").path, "--outliers", outliers.path,
                           "--outlier-weight", "0", "--output", model + "4"])
        #expect(off.status == 64 && off.stderr.contains("--outliers needs outlier exposure"), "\(off.stderr)")
        let shareAlone = try run(["train", "--train", folder.appendingPathComponent("train").path, "--outlier-pool-share", "0.5",
                                  "--output", model + "4"])
        #expect(shareAlone.status == 64 && shareAlone.stderr.contains("--outlier-pool-share needs --outliers"), "\(shareAlone.stderr)")
        let shareTooLarge = try run(["train", "--train", folder.appendingPathComponent("train").path, "--outliers", outliers.path,
                                     "--outlier-pool-share", "2", "--output", model + "4"])
        #expect(shareTooLarge.status == 64 && shareTooLarge.stderr.contains("--outlier-pool-share"), "\(shareTooLarge.stderr)")

        // Labelled examples added to the training split (never held out): the test folder's 20 join the 72
        // training images left after the 10% validation split; a class the data does not have is named.
        let extended = folder.appendingPathComponent("extended.safetensors")
        let withExtra = try run(["train", "--train", folder.appendingPathComponent("train").path, "--hidden", "16", "--epochs", "2",
                                 "--extra-train", folder.appendingPathComponent("test").path, "--output", extended.path])
        #expect(withExtra.status == 0 && withExtra.stderr.contains("on 92 examples (72 12×12 RGB images + 20 added) of 2 classes (8 held out)"), "\(withExtra.stderr)")
        #expect(try BayesianClassifier.load(from: extended).training.extraTrainingSource == "test")
        // Given twice, both sources join: 72 + 20 + 20 images, both names recorded.
        let twice = try run(["train", "--train", folder.appendingPathComponent("train").path, "--hidden", "16", "--epochs", "2",
                             "--extra-train", folder.appendingPathComponent("test").path,
                             "--extra-train", folder.appendingPathComponent("test").path, "--output", extended.path])
        #expect(twice.status == 0 && twice.stderr.contains("on 112 examples (72 12×12 RGB images + 40 added) of 2 classes (8 held out)"), "\(twice.stderr)")
        #expect(try BayesianClassifier.load(from: extended).training.extraTrainingSource == "test, test")
        // Either file of an IDX pair is an input: --output there is refused before anything is written.
        let labelsFile = folder.appendingPathComponent("pair-labels.idx").path
        try Data([0, 0, 8, 1, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: labelsFile))
        let ontoPair = try run(["train", "--train", folder.appendingPathComponent("train").path,
                                "--extra-train", "\(extended.path),\(labelsFile)", "--output", labelsFile])
        #expect(ontoPair.status == 64 && ontoPair.stderr.contains("is an input of this command"), "\(ontoPair.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: labelsFile)) == Data([0, 0, 8, 1, 0, 0, 0, 0]))
        let stranger = folder.appendingPathComponent("stranger/middle")
        try FileManager.default.createDirectory(at: stranger, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: folder.appendingPathComponent("test/left/0.png"), to: stranger.appendingPathComponent("0.png"))
        expectCleanError(try run(["train", "--train", folder.appendingPathComponent("train").path, "--extra-train",
                                  folder.appendingPathComponent("stranger").path, "--output", model + "5"]), naming: "middle")

        // A class folder without images is one clear line naming it.
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("train/empty"), withIntermediateDirectories: true)
        expectCleanError(try run(["train", "--train", folder.appendingPathComponent("train").path, "--output", model + "2"]),
                         naming: "empty")
    }
}
