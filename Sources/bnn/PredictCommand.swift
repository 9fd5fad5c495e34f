import ArgumentParser
import BNN
import BNNData
import BNNReport
import Foundation

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify image files, or say \"I don't know\".",
        discussion: """
            Accepts 8- or 16-bit grey, grey+alpha, RGB, RGBA and palette PNG files and PGM (P2/P5) files of any \
            size. Each image is normalised the way MNIST was made: a dark digit on a light ground is inverted, \
            the ink is cropped, scaled to fit 20×20 and centred by its centre of mass in 28×28.
            """)

    @Option(help: "The model file (.safetensors).")
    var model: String
    @Argument(help: "PNG or PGM image files.")
    var images: [String]
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var compute: ComputeOptions
    @Flag(help: "Print one JSON object per image (a JSON array).")
    var json = false
    @Option(help: ArgumentHelp(
        "Also write the tutorial's figure (the image beside ten histograms of sampled log-probabilities, the selected classes highlighted) to this SVG file: one figure per image, stacked in image order.",
        valueName: "out.svg"))
    var plot: String?

    func validate() throws {
        if images.isEmpty { throw ValidationError("Name at least one image file.") }
        try refuseOverwritingInputs(plot, option: "--plot", inputs: [model] + images)
    }

    func run() throws {
        try runReportingErrors {
            compute.apply()
            if let plot { try AtomicFile.checkWritable(URL(fileURLWithPath: plot)) }
            let classifier = try BayesianClassifier.load(from: URL(fileURLWithPath: model))
            let rule = try ruleOptions.decisionRule(for: classifier)
            let inputs = try UnlabeledImages.digits(fromImageFiles: images).images
            guard inputs.columns == classifier.network.inputCount else {
                throw CommandError(description: "\(model): the model expects \(classifier.network.inputCount) inputs, not 28×28 images (\(inputs.columns))")
            }
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
                let side = Int(Double(classifier.network.inputCount).squareRoot())
                let figures = images.indices.map { index in
                    let pixels = Array(UnsafeBufferPointer(start: inputs.pointer + index * inputs.columns, count: inputs.columns))
                    return PredictionFigure(
                        image: side * side == pixels.count ? GreyImage(width: side, height: side, pixels: pixels)
                                                           : GreyImage(width: pixels.count, height: 1, pixels: pixels),
                        probabilities: probabilities, summary: summary, index: index, decision: rule.decide(summary, index: index),
                        classNames: classifier.classNames, label: nil, caption: URL(fileURLWithPath: images[index]).lastPathComponent)
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
                    print("  class  median   5%–95% band")
                    for c in 0..<result.median.count {
                        let mark = result.classes.contains(c) ? "◀" : " "
                        print(String(format: "  %5@  %6.3f   %5.3f–%5.3f %@", classifier.classNames[c], result.median[c], result.p05[c], result.p95[c], mark))
                    }
                }
            }
        }
    }
}
