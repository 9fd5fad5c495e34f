// TEMPORARY stub of the data-source API (branch `sources` implements it); deleted at the merge.
import BNN

public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    case imageFolder(path: String)
    case csv(path: String, labelColumn: String)
    case idx(images: String, labels: String?)
    public init(argument: String, labelColumn: String = "label") throws { fatalError("stub") }
    public var description: String { "stub" }
}

public struct Dataset: Sendable {
    public var inputs: Tensor
    public var labels: [Int]?
    public var classNames: [String]
    public var preprocessing: InputPreprocessing
    public var count: Int { inputs.rows }
    public var labeled: LabeledImages { fatalError("stub") }
    public var unlabeled: UnlabeledImages { fatalError("stub") }
}

extension DataSource {
    public func loadForTraining(imageSize: (height: Int, width: Int)? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> Dataset { fatalError("stub") }
    public func load(for preprocessing: InputPreprocessing, classNames: [String], labelled: Bool,
                     progress: ((Int, Int) -> Void)? = nil) throws -> Dataset { fatalError("stub") }
}

public struct DecodedImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public var pixels: [Float]
}
extension ImageFile { public static func loadImage(_ path: String) throws -> DecodedImage { fatalError("stub") } }
extension DecodedImage { public func converted(to preprocessing: InputPreprocessing) -> [Float] { fatalError("stub") } }
extension LabeledImages {
    public func stratifiedSplit(validationFraction: Double, seed: UInt64) -> (training: LabeledImages, validation: LabeledImages) { fatalError("stub") }
}
extension DecodedImage { public init(png bytes: [UInt8], path: String, maximumPixelCount: Int) throws { fatalError("stub") } }
