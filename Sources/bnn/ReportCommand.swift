import ArgumentParser
import BNN
import BNNData
import BNNReport
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of a model's accuracy and uncertainty.",
        discussion: """
            One HTML file with inline SVG charts and CSS, nothing fetched from the network: a summary (for an \
            MNIST model beside the Pyro tutorial's numbers; for the chosen rule and the tutorial's median rule, on \
            the same samples), the tutorial's per-class log-probability histograms for a gallery of test inputs \
            (--test SOURCE, else MNIST's digits), white noise and the other sets, the training curves stored in the \
            model file, the uncertainty scores of test inputs against the other sets, a risk–coverage curve and a \
            reliability diagram. The numbers equal those of `bnn evaluate --json` with the same options.
            """)

    @Option(help: "The model file (.safetensors) written by `bnn train`.")
    var model: String
    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("The in-distribution test set (default: MNIST's): \(sourceHelpText).", valueName: "source"))
    var test: String?
    @OptionGroup var sourceOptions: SourceOptions
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var compute: ComputeOptions
    @Option(help: outOfDistributionHelp)
    var ood: [NamedPath] = []
    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write (replaced atomically).", valueName: "report.html"))
    var output: String

    func validate() throws {
        if output.isEmpty { throw ValidationError("--output needs a file name.") }
        try refuseOverwritingInputs(output, option: "--output", inputs: [model] + ood.map(\.path))
        var seen: Set<String> = ["mnist", "test", "noise", "notmnist"]
        for entry in ood where !seen.insert(entry.name).inserted {
            throw ValidationError("--ood name '\(entry.name)' is used twice (noise, notmnist, mnist and test are taken).")
        }
    }

    func run() throws {
        try runReportingErrors {
            compute.apply()
            let outputURL = URL(fileURLWithPath: output)
            // Fail on an unwritable destination before minutes of work.
            try AtomicFile.checkWritable(outputURL)
            let modelURL = URL(fileURLWithPath: model)
            let classifier = try BayesianClassifier.load(from: modelURL)
            let rule = try ruleOptions.decisionRule(for: classifier, file: model)
            let sets = try outOfDistributionSets(model: classifier, data: data, extra: ood, labelColumn: sourceOptions.labelColumn,
                                                 seed: compute.seed, log: Console.relay)
            let (testName, test) = try inDistributionSet(test: self.test, model: classifier, data: data,
                                                         labelColumn: sourceOptions.labelColumn)
            try requireMemory(samples: ruleOptions.sampleCount(for: classifier), count: ([test.count] + sets.map(\.images.rows)).max()!,
                              classes: classifier.network.classes)
            Console.info("Evaluating with \(ruleOptions.sampleCount(for: classifier)) posterior samples per image…")
            let content = ReportContent.evaluate(
                model: classifier, modelName: modelURL.lastPathComponent, rule: rule, samples: ruleOptions.sampleCount(for: classifier),
                test: test, testName: testName, outOfDistribution: sets, seed: compute.seed,
                command: CommandLine.arguments.map(Self.shellQuoted).joined(separator: " "))
            try HTMLReport.write(content, to: outputURL)
            print(resultTable(content.result))
            Console.info("Wrote \(outputURL.path)")
        }
    }

    /// `argument` quoted for a POSIX shell when it needs it.
    static func shellQuoted(_ argument: String) -> String {
        let safe = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@+".contains($0) }
        return safe && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
