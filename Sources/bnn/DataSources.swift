import ArgumentParser
import BNN
import BNNData
import Foundation

/// `--label-column`: which CSV column holds the class.
struct SourceOptions: ParsableArguments {
    @Option(name: .customLong("label-column"), help: ArgumentHelp(
        "The column of a CSV source that holds the class (any position).", valueName: "name"))
    var labelColumn: String = "label"
}

/// The help of every option that names a data set (DESIGN.md "Your own data").
let sourceHelpText = "a folder of class folders (DIR/<class>/*.png|*.pgm), a CSV file with a header row, or an IDX pair IMAGES,LABELS"

/// `HxW`, e.g. `32x32`: the size every training image is brought to.
struct ImageSize: ExpressibleByArgument {
    let height: Int
    let width: Int

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let height = Int(parts[0]), let width = Int(parts[1]),
              (1...4096).contains(height), (1...4096).contains(width) else { return nil }
        self.height = height
        self.width = width
    }
}

/// A training set and its held-out validation set, preprocessed as the model will record.
struct TrainingData {
    var training: LabeledImages
    var validation: LabeledImages
    var classNames: [String]
    var preprocessing: InputPreprocessing
    /// "a CSV of 12 features", "32×32 RGB images", for the log line.
    var description: String
}

/// The share of a training source held out for validation when no validation source is named.
let heldOutValidationFraction = 0.1

/// Progress of a long load, on stderr (a line every few hundred files).
func loadProgress(_ what: String) -> (Int, Int) -> Void {
    { done, total in Console.progress("\(what): \(done)/\(total)", final: done == total) }
}

/// Reads `train` (and `validation`, else a seeded stratified 10% of `train`) for `bnn train`: images at one
/// size and channel count, tables standardised with the training part's means and standard deviations.
func loadTrainingData(train: String, validation: String?, labelColumn: String, imageSize: ImageSize?, seed: UInt64) throws -> TrainingData {
    let source = try DataSource(argument: train, labelColumn: labelColumn)
    let loaded = try source.loadForTraining(imageSize: imageSize.map { (height: $0.height, width: $0.width) },
                                            progress: loadProgress("reading \(train)"))
    var preprocessing = loaded.preprocessing
    var training: LabeledImages, held: LabeledImages
    if let validation {
        let other = try DataSource(argument: validation, labelColumn: labelColumn)
            .load(for: preprocessing, classNames: loaded.classNames, labelled: true, progress: loadProgress("reading \(validation)"))
        (training, held) = (loaded.labeled, other.labeled)
    } else {
        (training, held) = loaded.labeled.stratifiedSplit(validationFraction: heldOutValidationFraction, seed: seed)
    }
    if preprocessing.kind == .tabular {
        preprocessing = .tabular(featureNames: preprocessing.featureNames ?? [], fittedTo: training.images)
        preprocessing.standardize(training.images)
        preprocessing.standardize(held.images)
    }
    return TrainingData(training: training, validation: held, classNames: loaded.classNames, preprocessing: preprocessing,
                        description: describe(preprocessing))
}

/// "28×28 grey images", "32×32 RGB images", "rows of 12 features".
func describe(_ preprocessing: InputPreprocessing) -> String {
    if let (channels, height, width) = preprocessing.imageShape {
        return "\(height)×\(width) \(channels == 1 ? "grey" : "RGB") images"
    }
    return "rows of \(preprocessing.valueCount) features"
}

/// A labelled set named on the command line, read the way `model` reads inputs.
func loadLabeledSet(_ argument: String, for model: BayesianClassifier, labelColumn: String) throws -> LabeledImages {
    let set = try DataSource(argument: argument, labelColumn: labelColumn)
        .load(for: model.preprocessing, classNames: model.classNames, labelled: true, progress: loadProgress("reading \(argument)"))
    model.preprocessing.standardize(set.inputs)
    return set.labeled
}

/// An unlabelled set (`--ood`) named on the command line, read the way `model` reads inputs.
func loadUnlabeledSet(_ argument: String, for model: BayesianClassifier, labelColumn: String) throws -> Tensor {
    try loadUnlabeledSet(argument, preprocessing: model.preprocessing, classNames: model.classNames, labelColumn: labelColumn)
}

/// An unlabelled set read with `preprocessing` (a table standardised with its fitted statistics). For MNIST
/// digits, a bare image file or folder and an IDX file of any size are prepared as `bnn predict` prepares a
/// digit (`UnlabeledImages.load(outOfDistribution:)`).
func loadUnlabeledSet(_ argument: String, preprocessing: InputPreprocessing, classNames: [String], labelColumn: String) throws -> Tensor {
    if preprocessing == .mnist, !argument.contains(","), !argument.lowercased().hasSuffix(".csv") {
        return try UnlabeledImages.load(outOfDistribution: argument).images
    }
    let set = try DataSource(argument: argument, labelColumn: labelColumn)
        .load(for: preprocessing, classNames: classNames, labelled: false, progress: loadProgress("reading \(argument)"))
    preprocessing.standardize(set.inputs)
    return set.inputs
}

/// Whether `model` is an MNIST digit model (trained on MNIST, or any model file from before preprocessing
/// was recorded): MNIST's splits are then its default data.
func readsMNIST(_ model: BayesianClassifier) -> Bool {
    model.preprocessing == .mnist
}

/// Whether `model` reads 28×28 grey images, so that notMNIST's letters can be put to it.
func reads28x28Grey(_ model: BayesianClassifier) -> Bool {
    model.preprocessing.kind == .image && model.preprocessing.shape == MNIST.imageShape
}

/// The in-distribution test set of `evaluate` and `report`: `--test` when given (named `test`), else
/// MNIST's test split for a model that reads MNIST-shaped images.
func inDistributionSet(test: String?, model: BayesianClassifier, data: DataOptions, labelColumn: String) throws
    -> (name: String, set: LabeledImages) {
    if let test { return ("test", try loadLabeledSet(test, for: model, labelColumn: labelColumn)) }
    guard readsMNIST(model) else {
        throw ValidationError("This model reads \(describe(model.preprocessing)), not MNIST digits: name its test set with --test SOURCE (\(sourceHelpText)).")
    }
    return ("mnist", try loadMNISTTest(data))
}

/// White noise in the model's input form, notMNIST for a model of 28×28 grey images when the data folder has it,
/// and the `--ood` sets.
///
/// Noise for images is uniform in [0, 1] per value; for a table it is uniform over ±4 standard deviations
/// of every feature independently (the network reads standardised features), far from most real rows in
/// some feature.
func outOfDistributionSets(model: BayesianClassifier, data: DataOptions, extra: [NamedPath], labelColumn: String, seed: UInt64,
                           log: (String) -> Void) throws -> [(name: String, images: Tensor)] {
    var generator = RandomGenerator(seed: seed ^ 0x5EED_0F_4015E)
    let values = model.preprocessing.valueCount
    let noise = WhiteNoise.images(count: 1000, rows: model.preprocessing.imageShape?.height ?? 1,
                                  columns: values / (model.preprocessing.imageShape?.height ?? 1), generator: &generator).images
    if model.preprocessing.kind == .tabular {
        for i in 0..<noise.count { noise.pointer[i] = 8 * noise.pointer[i] - 4 }
    }
    var sets: [(name: String, images: Tensor)] = [("noise", noise)]
    if reads28x28Grey(model) {
        if let notMNIST = try NotMNIST.loadImages(dataDirectory: data.dataDirectory) {
            sets.append(("notmnist", notMNIST.images))
        } else {
            log("warning: notMNIST not found in the data folder (notmnist/t10k-images-idx3-ubyte[.gz]); evaluating without it")
        }
    }
    for entry in extra {
        sets.append((entry.name, try loadUnlabeledSet(entry.path, for: model, labelColumn: labelColumn)))
    }
    return sets
}
