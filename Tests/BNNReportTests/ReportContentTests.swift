import BNN
import BNNData
import Foundation
import Testing
@testable import BNNReport

/// Reports of models that are not MNIST digit models: a table model and a colour image model, keyed
/// `test` as `bnn report --test SOURCE` keys them.
@Suite struct ReportContentTests {
    static let tableClasses = ["circle", "a rather long class name for a panel", "amber"]
    static let featureNames = ["sepal length", "sepal width in centimetres", "petal length", "petal width", "x5", "x6", "x7", "x8"]
    static let colourClasses = ["red", "green", "blue", "grey"]

    /// An untrained Bayesian MLP reading inputs as `preprocessing` describes them, with a made-up history
    /// and a calibrated rule.
    static func model(preprocessing: InputPreprocessing, classNames: [String], seed: UInt64 = 2) -> BayesianClassifier {
        let network = NetworkBuilder.mlp(inputs: preprocessing.valueCount, hidden: 8, classes: classNames.count)
        var generator = RandomGenerator(seed: seed)
        for layer in network.layers {
            (layer as? BayesianDense)?.initialize(.he, initialSigma: 0.05, generator: &generator)
        }
        let calibration = Calibration(score: .mutualInformation, threshold: 0.02, coverage: 0.975, samples: 100,
                                      validationCount: 50, acceptedAccuracy: 0.9)
        return BayesianClassifier(network: network, training: .default, history: (0..<3).map(ReportFixtures.epochRecord),
                                  calibration: calibration, classNames: classNames, preprocessing: preprocessing)
    }

    /// `count` rows of `values` uniform values in [0, 1].
    static func rows(_ count: Int, values: Int, seed: UInt64) -> Tensor {
        let tensor = Tensor(shape: [count, values])
        var generator = RandomGenerator(seed: seed)
        generator.fillUniform(tensor.pointer, count: tensor.count)
        return tensor
    }

    /// The report of `model` on a random labelled test set keyed `test` and one out-of-distribution set.
    static func content(_ model: BayesianClassifier, count: Int = 30) throws -> ReportContent {
        let values = model.preprocessing.valueCount, classes = model.classNames.count
        let test = LabeledImages(images: rows(count, values: values, seed: 4), labels: (0..<count).map { $0 % classes },
                                 rows: 1, columns: values)
        return ReportContent.evaluate(model: model, modelName: "own.safetensors", rule: try DecisionRule.make(kind: .calibrated, model: model),
                                      samples: 16, test: test, testName: "test",
                                      outOfDistribution: [("far", rows(8, values: values, seed: 5))], seed: 3,
                                      gallery: .init(correct: 2, wrong: 2, refused: 2, outOfDistribution: 2))
    }

    static var tableModel: BayesianClassifier {
        let preprocessing = InputPreprocessing(kind: .tabular, shape: [8], featureNames: featureNames,
                                               means: [Float](repeating: 10, count: 8), standardDeviations: [Float](repeating: 2, count: 8))
        return model(preprocessing: preprocessing, classNames: tableClasses)
    }

    static var colourModel: BayesianClassifier {
        model(preprocessing: InputPreprocessing(kind: .image, shape: [3, 16, 20], resize: .fitAndPad), classNames: colourClasses)
    }

    /// What every report of a non-digit model must satisfy: well-formed, keyed by its own set, its class
    /// names on the panels, no digit or MNIST wording, no tutorial column.
    static func checkOwnDataReport(_ content: ReportContent, classes: [String]) throws -> XMLDigest {
        #expect(!content.isDigitReport && !content.showsTutorial)
        let html = HTMLReport.render(content)
        let digest = XMLDigest(html)
        #expect(digest.isWellFormed, "report does not parse: \(String(describing: digest.error))")
        let datasets = Set(digest.elements.compactMap { $0.attributes["data-dataset"] })
        #expect(datasets == ["test", "far"])
        #expect(content.result.datasets["test"]?.acceptedAccuracy != nil || content.result.datasets["test"]?.refused == 1)
        #expect(!html.lowercased().contains("digit"), "digit wording in a report of \(classes)")
        #expect(!html.lowercased().contains("mnist"))
        #expect(!html.contains("Pyro tutorial") && !html.contains("class=\"tutorial\""))
        #expect(html.contains("Test set inputs"))
        let figures = digest.elements(named: "figure").filter { $0.attributes["class"] == "prediction" }
        #expect(!figures.isEmpty)
        let panels = digest.elements(named: "g").filter { $0.attributes["class"] == "panel" }
        #expect(panels.count == classes.count * figures.count)
        #expect(Set(panels.compactMap { $0.attributes["data-class"] }) == Set(classes))
        // Every figure's SVG is as tall as its panels need, and every inline SVG parses on its own.
        for svg in digest.elements(named: "svg") { #expect(svg.attributes["viewBox"] != nil) }
        return digest
    }

    @Test func tableModelReportNamesClassesAndShowsFeatures() throws {
        let content = try Self.content(Self.tableModel)
        let digest = try Self.checkOwnDataReport(content, classes: Self.tableClasses)
        // No images: the figures list the row's first features, with the standardisation undone.
        #expect(digest.elements(named: "image").isEmpty)
        let features = digest.elements(named: "g").filter { $0.attributes["class"] == "features" }
        #expect(features.count == digest.elements(named: "figure").filter { $0.attributes["class"] == "prediction" }.count)
        #expect(features.allSatisfy { $0.text.contains("sepal length") && $0.text.contains("… 2 more features") })
        let shown = try #require(content.galleryIndices(0).first)
        let firstValue = content.inDistribution.images.pointer[shown * 8] * 2 + 10
        #expect(digest.allText.contains("sepal length" + PredictionFigure.featureText(firstValue)))
        // The long class name is shortened on its panels, whole in their tooltips.
        #expect(digest.elements(named: "title").contains { $0.text == Self.tableClasses[1] })
        #expect(!digest.elements(named: "text").contains { $0.text.hasPrefix(Self.tableClasses[1]) })
        #expect(digest.allText.contains("in no class"))
        #expect(content.wording.units == "inputs")
    }

    @Test func colourImageModelReportDrawsColourImagesOfTheirSize() throws {
        let content = try Self.content(Self.colourModel)
        let digest = try Self.checkOwnDataReport(content, classes: Self.colourClasses)
        let images = digest.elements(named: "image")
        #expect(!images.isEmpty)
        for image in images {
            let uri = try #require(image.attributes["href"])
            let png = try #require(Data(base64Encoded: String(uri.dropFirst("data:image/png;base64,".count))).map { [UInt8]($0) })
            #expect(PNGDecoder.declaredDimensions(of: png).map { [$0.width, $0.height] } == [20, 16])
            #expect(png[25] == 2, "colour type \(png[25]): not RGB")
            // Enlarged to fit 112 × 112 with the aspect kept.
            #expect(image.attributes["width"] == "112" && image.attributes["height"] == "89.6")
        }
        #expect(content.wording.units == "images")
    }

    /// A model reading 28×28 grey digits, even on a test set of its own (keyed `test`), speaks of digits but
    /// shows no tutorial numbers, which were measured on MNIST's test set.
    @Test func digitModelOnItsOwnTestSet() throws {
        let model = ReportFixtures.tinyModel()
        let content = ReportContent.evaluate(model: model, modelName: "m", rule: try DecisionRule.make(kind: .calibrated, model: model),
                                             samples: 8, test: ReportFixtures.fakeMNIST(count: 20), testName: "test",
                                             outOfDistribution: [], seed: 1)
        #expect(content.isDigitReport && !content.showsTutorial)
        let html = HTMLReport.render(content)
        #expect(XMLDigest(html).isWellFormed)
        #expect(html.contains("Test set digits") && !html.contains("Pyro tutorial"))
        #expect(!html.contains("data-dataset=\"mnist\""))
    }

    /// The MNIST report keeps its tutorial comparison and digit wording.
    @Test func mnistReportKeepsTheTutorialComparison() throws {
        let content = try ReportFixtures.content()
        #expect(content.isDigitReport && content.showsTutorial)
        let html = HTMLReport.render(content)
        for text in ["Pyro tutorial", "MNIST digits refused", "MNIST test digits", "digits against non-digits", "not a digit"] {
            #expect(html.contains(text), "missing \(text)")
        }
        #expect(html.contains("data-dataset=\"mnist\""))
    }
}
