import BNN
import BNNData
import Foundation
@testable import BNNReport
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Models, data and an XML reader shared by the report tests. No test needs the real data sets.
enum ReportFixtures {
    /// An untrained 784 → 16 → 10 Bayesian MLP with a made-up training history and a calibrated rule
    /// (mutual information above `threshold` is refused).
    static func tinyModel(threshold: Float = 0.02, epochs: Int = 4, seed: UInt64 = 1) -> BayesianClassifier {
        let network = NetworkBuilder.mlp(inputs: 784, hidden: 16, classes: 10)
        var generator = RandomGenerator(seed: seed)
        for layer in network.layers {
            (layer as? BayesianDense)?.initialize(.he, initialSigma: 0.05, generator: &generator)
        }
        let history = (0..<epochs).map { epochRecord($0) }
        let calibration = Calibration(score: .mutualInformation, threshold: threshold, coverage: 0.975, samples: 100,
                                      validationCount: 500, acceptedAccuracy: 0.91)
        return BayesianClassifier(network: network, training: .default, history: history, calibration: calibration)
    }

    /// A made-up epoch of training (`EpochRecord` has no public initialiser: it is built from its JSON form).
    static func epochRecord(_ e: Int) -> EpochRecord {
        let dataTerm: Double = 2.0 / Double(e + 1)
        let fields: [String: Double] = [
            "epoch": Double(e + 1), "loss": dataTerm + 0.1, "dataTerm": dataTerm, "klTerm": 0.1,
            "trainAccuracy": 0.6 + 0.08 * Double(e), "validationAccuracy": 0.62 + 0.08 * Double(e),
            "learningRate": 1e-3, "seconds": 2.5,
        ]
        let json = try! JSONSerialization.data(withJSONObject: fields)
        return try! JSONDecoder().decode(EpochRecord.self, from: json)
    }

    /// `count` synthetic 28×28 "digits": image i is a bright vertical bar at column 4 + 2·(i mod 10) of a
    /// length that varies with i, label i mod 10.
    static func fakeMNIST(count: Int = 60) -> LabeledImages {
        let images = Tensor(shape: [count, 784])
        for i in 0..<count {
            let column = 4 + 2 * (i % 10)
            for row in (4 + i % 5)..<24 { images.pointer[i * 784 + row * 28 + column] = 1 }
        }
        return LabeledImages(images: images, labels: (0..<count).map { $0 % 10 }, rows: 28, columns: 28)
    }

    /// Blocks of grey: a stand-in for a foreign image set.
    static func blocks(count: Int = 12) -> Tensor {
        let images = Tensor(shape: [count, 784])
        for i in 0..<count {
            for p in 0..<784 where (p / 28 + i) % 7 < 3 { images.pointer[i * 784 + p] = Float(i % 4 + 1) / 4 }
        }
        return images
    }

    static let awkwardName = "<b>&\"x'"

    /// Out-of-distribution sets: white noise and a set with a name that needs escaping.
    static func outOfDistribution() -> [(name: String, images: Tensor)] {
        [("noise", WhiteNoise.images(count: 16, seed: 5).images), (awkwardName, blocks())]
    }

    /// A full report of the tiny model on the synthetic sets.
    static func content(model: BayesianClassifier = tinyModel(), rule kind: DecisionRuleKind = .calibrated,
                        samples: Int = 24, seed: UInt64 = 7) throws -> ReportContent {
        let rule = try DecisionRule.make(kind: kind, model: model)
        return ReportContent.evaluate(model: model, modelName: "tiny <model>.safetensors", rule: rule, samples: samples,
                                      test: fakeMNIST(), testName: "mnist", outOfDistribution: outOfDistribution(), seed: seed,
                                      gallery: .init(correct: 2, wrong: 2, refused: 2, outOfDistribution: 2),
                                      command: "bnn report --model 'tiny <model>.safetensors' --output r.html")
    }
}

/// What `XMLParser` saw in a document: whether it parsed, the elements with their attributes, and the text.
final class XMLDigest: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }

    private(set) var elements: [Element] = []
    private(set) var error: Error?
    private var open: [Int] = []
    private(set) var allText = ""

    /// Parses `text`; `error` is set when it is not well-formed.
    init(_ text: String) {
        super.init()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = self
        if !parser.parse() { error = parser.parserError ?? NSError(domain: "XMLDigest", code: 1) }
    }

    var isWellFormed: Bool { error == nil }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        open.append(elements.count)
        elements.append(Element(name: elementName, attributes: attributes))
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        allText += string
        for index in open { elements[index].text += string }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }

    func elements(named name: String) -> [Element] { elements.filter { $0.name == name } }
}
