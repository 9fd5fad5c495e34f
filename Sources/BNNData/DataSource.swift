import BNN
import Foundation

/// A data set named by a path: a folder of class folders, a CSV table or an IDX pair.
///
/// - `imageFolder`: `DIR/<class name>/*.png|*.pgm` (class names are the folder names, sorted); read
///   without labels, any folder of images in any layout (searched recursively).
/// - `csv`: a header row, one label column (anywhere), the other columns numeric features.
/// - `idx`: an IDX images file and its IDX labels file (each gzip or raw), or a bare images file.
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    case imageFolder(path: String)
    case csv(path: String, labelColumn: String)
    case idx(images: String, labels: String?)

    /// What a source argument may be, for errors.
    static let kinds = "expected a folder of class folders of PNG/PGM images, a .csv file, an IDX images file, or an IDX pair IMAGES,LABELS"

    /// The paths a source argument names: the parts of an IDX pair `A,B` (split at every comma, unless a
    /// file of that whole name exists), else the argument itself.
    public static func paths(of argument: String) -> [String] {
        guard !FileManager.default.fileExists(atPath: argument), argument.contains(",") else { return [argument] }
        return argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    /// Parses a source argument: `A,B` is an IDX pair (unless a file of that whole name exists); a path
    /// ending in `.csv` (any case) a CSV table whose label column is `labelColumn`; an existing directory
    /// an image folder; any other existing file a bare IDX images file.
    ///
    /// - Throws: `DataError.missingFile` naming a path that does not exist.
    public init(argument: String, labelColumn: String = "label") throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        let parts = DataSource.paths(of: argument)
        if parts.count > 1 {
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DataError.missingFile(path: argument, hint: "an IDX pair is two paths separated by one comma, IMAGES,LABELS")
            }
            for part in parts where !manager.fileExists(atPath: part) {
                throw DataError.missingFile(path: part, hint: "one file of the IDX pair \(argument)")
            }
            self = .idx(images: parts[0], labels: parts[1])
            return
        }
        guard manager.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            throw DataError.missingFile(path: argument, hint: DataSource.kinds)
        }
        if isDirectory.boolValue {
            self = .imageFolder(path: argument)
        } else if argument.lowercased().hasSuffix(".csv") {
            self = .csv(path: argument, labelColumn: labelColumn)
        } else {
            self = .idx(images: argument, labels: nil)
        }
    }

    /// The path (or `IMAGES,LABELS`) as it would be given.
    public var description: String {
        switch self {
        case .imageFolder(let path), .csv(let path, _): return path
        case .idx(let images, let labels): return labels.map { "\(images),\($0)" } ?? images
        }
    }
}

/// A loaded data set: raw values (no table standardisation applied yet), in the order the source lists
/// them (classes in name order, files in name order within each; CSV rows and IDX items in file order).
public struct Dataset: Sendable {
    /// `[count, preprocessing.valueCount]`; images channel-major with values in [0, 1].
    public var inputs: Tensor
    /// Indices into `classNames`; nil when the set was read without labels.
    public var labels: [Int]?
    /// Class names: sorted folder names, sorted label values, or "0", "1", … for IDX.
    public var classNames: [String]
    /// Input kind, shape, resize rule and feature names; means and standard deviations are nil (the
    /// trainer fits them on the training set).
    public var preprocessing: InputPreprocessing

    public init(inputs: Tensor, labels: [Int]?, classNames: [String], preprocessing: InputPreprocessing) {
        precondition(inputs.shape.count == 2 && inputs.shape[1] == preprocessing.valueCount && (labels.map { $0.count == inputs.shape[0] } ?? true),
                     "Dataset needs inputs of shape [count, \(preprocessing.valueCount)] and one label each, got \(inputs.shape) and \(labels?.count ?? -1) labels")
        self.inputs = inputs
        self.labels = labels
        self.classNames = classNames
        self.preprocessing = preprocessing
    }

    /// The number of inputs.
    public var count: Int { inputs.shape[0] }

    /// `rows × columns` for `LabeledImages`: height × width for grey images, 1 × valueCount otherwise.
    var rowsAndColumns: (Int, Int) {
        if let shape = preprocessing.imageShape, shape.channels == 1 { return (shape.height, shape.width) }
        return (1, preprocessing.valueCount)
    }

    /// The inputs with their labels. Precondition: `labels` is not nil.
    public var labeled: LabeledImages {
        guard let labels else { preconditionFailure("Dataset.labeled on a set read without labels") }
        let (rows, columns) = rowsAndColumns
        return LabeledImages(images: inputs, labels: labels, rows: rows, columns: columns)
    }

    /// The inputs without labels.
    public var unlabeled: UnlabeledImages {
        let (rows, columns) = rowsAndColumns
        return UnlabeledImages(images: inputs, rows: rows, columns: columns)
    }
}
