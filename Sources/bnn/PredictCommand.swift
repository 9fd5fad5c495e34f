import ArgumentParser
import BNN
import BNNData
import BNNReport
import Foundation

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify image files or CSV rows, or say \"I don't know\".",
        discussion: """
            Accepts 8- or 16-bit grey, grey+alpha, RGB, RGBA and palette PNG files and PGM (P2/P5) files of any \
            size, and folders of them (every image inside, in name order). For a digit model each image is \
            normalised the way MNIST was made: a dark digit on a light ground is inverted, the ink is cropped, \
            scaled to fit 20×20 and centred by its centre of mass in 28×28; other image models bring it to their \
            size and channels as at training. A model trained on a table reads --csv FILE: one answer per row \
            (JSON lines with --json), the columns matched by name.
            """)

    @Option(help: "The model file (.safetensors).")
    var model: String
    @Argument(help: "PNG or PGM image files, or folders of them.")
    var images: [String] = []
    @Option(help: ArgumentHelp("Classify every row of this CSV file (for a model trained on a table).", valueName: "file.csv"))
    var csv: String?
    @OptionGroup var sourceOptions: SourceOptions
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var compute: ComputeOptions
    @Flag(help: "Print one JSON object per image (a JSON array).")
    var json = false
    @Option(help: ArgumentHelp(
        "Also write the tutorial's figure (the image beside ten histograms of sampled log-probabilities, the selected classes highlighted) to this SVG file: one figure per image, stacked in image order.",
        valueName: "out.svg"))
    var plot: String?

    func validate() throws {
        if images.isEmpty && csv == nil { throw ValidationError("Name at least one image file or folder, or a --csv file.") }
        if !images.isEmpty && csv != nil { throw ValidationError("Give image files or --csv, not both.") }
        if csv != nil && plot != nil { throw ValidationError("--plot draws images; it does not apply to --csv rows.") }
        try refuseOverwritingInputs(plot, option: "--plot", inputs: [model] + images)
    }

    func run() throws {
        try runReportingErrors {
            compute.apply()
            if let plot { try AtomicFile.checkWritable(URL(fileURLWithPath: plot)) }
            let classifier = try BayesianClassifier.load(from: URL(fileURLWithPath: model))
            let rule = try ruleOptions.decisionRule(for: classifier, file: model)
            let (inputs, names) = try readInputs(for: classifier)
            if csv != nil { return try predictRows(inputs, names: names, classifier: classifier, rule: rule) }
            let images = names
            var generator = RandomGenerator(seed: compute.seed)
            // What `classifier.predict` does, kept whole so that --plot can show every sample.
            let sampled = Predictive(network: classifier.network).decide(
                inputs, rule: rule, samples: ruleOptions.sampleCount(for: classifier), refinement: ruleOptions.refinement(for: classifier),
                generator: &generator)
            let probabilities = sampled.probabilities, summary = sampled.summary
            let results = (0..<summary.count).map {
                PredictionResult(summary: summary, index: $0, rule: rule, classNames: classifier.classNames, samplesUsed: sampled.sampleCounts[$0])
            }
            if let plot {
                let figures = images.indices.map { index in
                    let values = Array(UnsafeBufferPointer(start: inputs.pointer + index * inputs.columns, count: inputs.columns))
                    return PredictionFigure(
                        input: .init(values: values, preprocessing: classifier.preprocessing),
                        probabilities: probabilities, summary: summary, index: index, decision: rule.decide(summary, index: index),
                        classNames: classifier.classNames, label: nil, caption: URL(fileURLWithPath: images[index]).lastPathComponent,
                        noClassText: classifier.preprocessing.digitNormalization ? "not a digit" : "none of the classes")
                }
                let svg = PredictionFigure.svgDocument(figures, title: "bnn predict: \(images.joined(separator: ", "))")
                try AtomicFile.write(Data(svg.utf8), to: URL(fileURLWithPath: plot))
                Console.info("Wrote \(plot)")
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                struct Entry: Encodable { let file: String; let result: PredictionResult
                    func encode(to encoder: Encoder) throws {
                        try result.encode(to: encoder)
                        var container = encoder.container(keyedBy: Key.self)
                        try container.encode(file, forKey: .file)
                    }
                    enum Key: String, CodingKey { case file }
                }
                print(String(decoding: try encoder.encode(zip(images, results).map { Entry(file: $0, result: $1) }), as: UTF8.self))
            } else {
                for (path, result) in zip(images, results) {
                    print("\(path): \(result.answer)")
                    print(String(format: "  %@ = %.4f (refuse above %.4f), entropy %.3f, mutual information %.4f, %d samples%@",
                                 result.score, result.scoreValue, result.threshold, result.entropy, result.mutualInformation, result.samplesUsed,
                                 result.samplesUsed > result.samples ? " (near the threshold: \(result.samples) first)" : ""))
                    if let alpha = result.alpha, let score = result.conformalScore, !result.refused {
                        print("  conformal set (\(score), α = \(alpha)): holds the true class of at least \(String(format: "%g", (1 - alpha) * 100))% of accepted inputs")
                    }
                    print("  class  median   5%–95% band")
                    for c in 0..<result.median.count {
                        let mark = result.classes.contains(c) ? "◀" : " "
                        print(String(format: "  %5@  %6.3f   %5.3f–%5.3f %@", classifier.classNames[c], result.median[c], result.p05[c], result.p95[c], mark))
                    }
                }
            }
        }
    }

    /// The inputs named on the command line, preprocessed as the model was trained, with a name for each
    /// (the file, or "row N" of the CSV).
    func readInputs(for classifier: BayesianClassifier) throws -> (Tensor, [String]) {
        if let csv {
            let rows = try loadUnlabeledSet(csv, for: classifier, labelColumn: sourceOptions.labelColumn)
            return (rows, (0..<rows.rows).map { "row \($0 + 1)" })
        }
        guard classifier.preprocessing.imageShape != nil else {
            throw ValidationError("This model reads \(describe(classifier.preprocessing)), not images: give its rows with --csv FILE.")
        }
        let files = try imageFiles(images)
        let inputs = try DataSource.convertedImages(files, to: classifier.preprocessing,
                                                    progress: files.count > 200 ? loadProgress("reading images") : nil)
        return (inputs, files)
    }

    /// One answer per CSV row: a line each, or JSON lines (`row`, 1-based, beside the answer's fields).
    func predictRows(_ rows: Tensor, names: [String], classifier: BayesianClassifier, rule: DecisionRule) throws {
        var generator = RandomGenerator(seed: compute.seed)
        let results = classifier.predict(rows, rule: rule, samples: ruleOptions.sampleCount(for: classifier),
                                         refinement: ruleOptions.refinement(for: classifier), generator: &generator)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (index, result) in results.enumerated() {
            if json {
                struct Line: Encodable {
                    let row: Int, result: PredictionResult
                    func encode(to encoder: Encoder) throws {
                        try result.encode(to: encoder)
                        var container = encoder.container(keyedBy: Key.self)
                        try container.encode(row, forKey: .row)
                    }
                    enum Key: String, CodingKey { case row }
                }
                print(String(decoding: try encoder.encode(Line(row: index + 1, result: result)), as: UTF8.self))
            } else {
                print(String(format: "%@: %@  (%@ = %.4f, refuse above %.4f)", names[index], result.answer, result.score,
                             result.scoreValue, result.threshold))
            }
        }
    }
}

/// The image files `arguments` name: files as given, folders expanded to the PNG/PGM files inside them
/// (`DataSource.imageFiles(below:)`: recursively, in name order, hidden files skipped).
func imageFiles(_ arguments: [String]) throws -> [String] {
    try arguments.flatMap { argument -> [String] in
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            throw CommandError(description: "\(argument): no such file or folder")
        }
        return isDirectory.boolValue ? try DataSource.imageFiles(below: argument) : [argument]
    }
}
