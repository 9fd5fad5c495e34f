import BNN
import Foundation

/// The MNIST handwritten digits (LeCun, Cortes, Burges), split into train, validation and test sets.
///
/// Files are looked up by `DataLocator` (`--data-dir`, `BNN_DATA_DIR`, the cache folder) in `mnist/`;
/// when missing everywhere they are downloaded into the cache folder. Content is compared with the
/// published SHA-256 values: a local file that differs is used with a one-line warning, a download
/// that differs is refused, a malformed file is always refused with a `DataError`.
public struct MNIST: Sendable {
    /// The first `60000 − validationCount` training images.
    public let train: LabeledImages
    /// The last `validationCount` training images, held out (e.g. for threshold calibration).
    public let validation: LabeledImages
    /// The 10,000 test images.
    public let test: LabeledImages

    /// Image height and width.
    public static let side = 28
    /// The shape of one image as networks read it: `[channels, height, width]`.
    public static let imageShape = [1, side, side]
    /// The number of classes (the digits 0–9).
    public static let classCount = 10
    /// The four file names (without `.gz`).
    public static let trainImagesName = "train-images-idx3-ubyte"
    public static let trainLabelsName = "train-labels-idx1-ubyte"
    public static let testImagesName = "t10k-images-idx3-ubyte"
    public static let testLabelsName = "t10k-labels-idx1-ubyte"
    public static var fileNames: [String] { [trainImagesName, trainLabelsName, testImagesName, testLabelsName] }

    /// How to provide the files by hand, for errors about missing or undownloadable MNIST: all four
    /// names and the two ways to point at their folder (a program's own option for the data folder, such
    /// as `bnn`'s, is the program's to add).
    public static var missingFilesHint: String {
        "put \(fileNames.dropLast().joined(separator: ", ")) and \(fileNames.last!) (raw or .gz) in a folder's mnist/ "
            + "and name that folder as the data folder or in BNN_DATA_DIR"
    }

    /// Whether `error` asks for the MNIST files by hand (its description ends with `missingFilesHint`).
    public static func asksForFiles(_ error: DataError) -> Bool {
        switch error {
        case .downloadFailed: return true
        case .missingFile(_, let hint): return hint.hasSuffix(missingFilesHint)
        default: return false
        }
    }

    /// Published SHA-256 of the decompressed content, by file name.
    ///
    /// The original training images' SHA-256 is not recorded here (only their MD5 was published);
    /// `knownRebuilds` recognises known rebuilds of that file instead.
    public static let publishedChecksums: [String: String] = [
        testImagesName: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        testLabelsName: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        trainLabelsName: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ]

    /// SHA-256 of known rebuilt files, which are used with a warning that says what they are.
    public static let knownRebuilds: [String: (checksum: String, note: String)] = [
        trainImagesName: ("374ba378bee06c633f4800ac6a495f71d1b80b0e82bf763acbfa4c7e9c379f75",
                          "a rebuild of the training images from a PNG export, every pixel within one grey level of the original"),
    ]

    /// Public mirrors holding `<name>.gz`, tried in order.
    public static let mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ]

    /// Creates the splits directly.
    public init(train: LabeledImages, validation: LabeledImages, test: LabeledImages) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// Loads MNIST, downloading it into the cache folder when it is found nowhere.
    ///
    /// - Parameters:
    ///   - dataDirectory: `--data-dir`; nil means `BNN_DATA_DIR`, else the cache folder.
    ///   - validationCount: how many of the last training images form the validation set (default 5,000).
    ///   - download: whether missing files may be downloaded.
    ///   - verifyChecksums: compare content with the known SHA-256 values (warnings only).
    ///   - environment: the environment variables (tests pass their own).
    ///   - log: receives one-line warnings and download progress.
    /// - Throws: `DataError` naming the file when a file is missing (and cannot be downloaded) or malformed.
    public static func load(
        dataDirectory: String? = nil, validationCount: Int = 5000, download: Bool = true,
        verifyChecksums: Bool = true,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        log: (String) -> Void = { _ in }
    ) throws -> MNIST {
        // `fileNames` is train images, train labels, test images, test labels.
        let urls = try locate(fileNames, dataDirectory: dataDirectory, download: download, environment: environment, log: log)
        return try load(trainImages: urls[0], trainLabels: urls[1], testImages: urls[2], testLabels: urls[3],
                        validationCount: validationCount, verifyChecksums: verifyChecksums, log: log)
    }

    /// Loads only the training file's two splits (what training and calibration need; the test split would
    /// take 31 MB more as floats), found or downloaded like `load`.
    public static func loadTrainingSplits(
        dataDirectory: String? = nil, validationCount: Int = 5000, download: Bool = true, verifyChecksums: Bool = true,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        log: (String) -> Void = { _ in }
    ) throws -> (train: LabeledImages, validation: LabeledImages) {
        let urls = try locate([trainImagesName, trainLabelsName], dataDirectory: dataDirectory, download: download,
                              environment: environment, log: log)
        return try trainingSplits(images: urls[0], labels: urls[1], validationCount: validationCount,
                                  verifyChecksums: verifyChecksums, log: log)
    }

    /// Loads only the 10,000 test images (what evaluation needs), found or downloaded like `load`.
    public static func loadTest(
        dataDirectory: String? = nil, download: Bool = true, verifyChecksums: Bool = true,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        log: (String) -> Void = { _ in }
    ) throws -> LabeledImages {
        let urls = try locate([testImagesName, testLabelsName], dataDirectory: dataDirectory, download: download,
                              environment: environment, log: log)
        return try loadVerified(images: urls[0], labels: urls[1], verify: verifyChecksums, log: log)
    }

    /// The URLs of the files `names` in `mnist/`, in that order, downloading into the cache folder those
    /// found nowhere; throws when one is missing and `download` is false.
    static func locate(
        _ names: [String], dataDirectory: String?, download: Bool, environment: [String: String], log: (String) -> Void
    ) throws -> [URL] {
        let locator = DataLocator(dataDirectory: dataDirectory, environment: environment)
        var urls: [String: URL] = [:]
        var missing: [String] = []
        for name in names {
            if let url = locator.file(named: name, in: "mnist") { urls[name] = url } else { missing.append(name) }
        }
        if !missing.isEmpty {
            let searched = locator.searchDirectories.map { $0.appendingPathComponent("mnist").path }.joined(separator: " and ")
            guard download else {
                throw DataError.missingFile(
                    path: locator.dataDirectory.appendingPathComponent("mnist").appendingPathComponent(missing[0]).path,
                    hint: "looked in \(searched); \(missingFilesHint)")
            }
            let folder = locator.cacheDirectory.appendingPathComponent("mnist")
            for name in missing {
                urls[name] = try MNISTDownloader.download(name: name, into: folder, log: log)
            }
        }
        return names.map { urls[$0]! }  // every name was found or downloaded above
    }

    /// Loads MNIST from four explicit files (each gzip or raw).
    public static func load(
        trainImages: URL, trainLabels: URL, testImages: URL, testLabels: URL, validationCount: Int = 5000,
        verifyChecksums: Bool = true, log: (String) -> Void = { _ in }
    ) throws -> MNIST {
        let (train, validation) = try trainingSplits(images: trainImages, labels: trainLabels, validationCount: validationCount,
                                                     verifyChecksums: verifyChecksums, log: log)
        let test = try loadVerified(images: testImages, labels: testLabels, verify: verifyChecksums, log: log)
        return MNIST(train: train, validation: validation, test: test)
    }

    /// The training file's first `count − validationCount` images and its last `validationCount`.
    static func trainingSplits(images trainImages: URL, labels trainLabels: URL, validationCount: Int, verifyChecksums: Bool,
                               log: (String) -> Void) throws -> (train: LabeledImages, validation: LabeledImages) {
        precondition(validationCount >= 0, "validationCount must be non-negative, got \(validationCount)")
        // The training file is split while it is converted, so that the 60,000 images never exist as floats
        // twice (a full tensor plus its two copies; docs/performance.md has the memory it saves). The training
        // split keeps the file's grey levels (a quarter of the memory of floats; training reads one image at a
        // time); the validation split, read whole by scoring and calibration, is converted to floats.
        let (trainImageFile, trainLabelFile) = try readVerified(images: trainImages, labels: trainLabels,
                                                                verify: verifyChecksums, log: log)
        let count = trainImageFile.dimensions.first ?? 0
        guard count > validationCount else {
            throw DataError.wrongDimensions(
                path: trainImages.path, expected: "more than \(validationCount) training images (the validation count)",
                found: "\(count)")
        }
        let split = count - validationCount
        func part(_ range: Range<Int>, asGreyLevels: Bool) throws -> LabeledImages {
            try LabeledImages(imageFile: trainImageFile, imagesPath: trainImages.path, labelFile: trainLabelFile,
                              labelsPath: trainLabels.path, expectedRows: side, expectedColumns: side, classCount: 10, range: range,
                              asGreyLevels: asGreyLevels)
        }
        return (try part(0..<split, asGreyLevels: true), try part(split..<count, asGreyLevels: false))
    }

    /// Loads one image/label pair, checking content against the known checksums.
    static func loadVerified(images: URL, labels: URL, verify: Bool, log: (String) -> Void) throws -> LabeledImages {
        let (imageFile, labelFile) = try readVerified(images: images, labels: labels, verify: verify, log: log)
        return try LabeledImages(imageFile: imageFile, imagesPath: images.path, labelFile: labelFile,
                                 labelsPath: labels.path, expectedRows: side, expectedColumns: side, classCount: 10)
    }

    /// Reads and parses an image file and its label file, checking their content against the known checksums.
    static func readVerified(images: URL, labels: URL, verify: Bool, log: (String) -> Void) throws -> (IDXFile, IDXFile) {
        (try read(images, verify: verify, log: log), try read(labels, verify: verify, log: log))
    }

    /// Reads and parses one MNIST file; when `verify`, compares its content's SHA-256 with the known
    /// values and logs a warning on mismatch.
    static func read(_ url: URL, verify: Bool, log: (String) -> Void) throws -> IDXFile {
        let content = try IDXFile.readContent(of: url)
        let file = try IDXFile(parsing: content, path: url.path)
        if verify {
            var name = url.lastPathComponent
            if name.hasSuffix(".gz") { name.removeLast(3) }
            if let warning = checksumWarning(name: name, path: url.path, sha256: SHA256.hash(content).hexString) {
                log(warning)
            }
        }
        return file
    }

    /// The warning for content whose SHA-256 is not the published one, or nil when it matches.
    static func checksumWarning(name: String, path: String, sha256 found: String) -> String? {
        if let published = publishedChecksums[name] {
            return found == published ? nil
                : "warning: \(path): SHA-256 of content is \(found), not the published \(published); using it anyway"
        }
        if let rebuild = knownRebuilds[name] {
            return found == rebuild.checksum ? "warning: \(path): not the published file but \(rebuild.note); using it"
                : "warning: \(path): SHA-256 of content is \(found), which matches no known version; using it anyway"
        }
        return nil
    }
}

extension LabeledImages {
    /// Pairs a parsed image file with its label file, checking shapes, counts and label range; keeps the
    /// images in `range` (default: all of them), as Float32 or, when `asGreyLevels`, as the file's bytes.
    init(imageFile: IDXFile, imagesPath: String, labelFile: IDXFile, labelsPath: String,
         expectedRows: Int?, expectedColumns: Int?, classCount: Int?, range: Range<Int>? = nil, asGreyLevels: Bool = false) throws {
        let (rows, columns) = try imageFile.imageSize(path: imagesPath, expectedRows: expectedRows, expectedColumns: expectedColumns)
        let labels = try labelFile.labels(for: imageFile, path: labelsPath, classCount: classCount)
        let range = range ?? 0..<imageFile.dimensions[0]
        precondition(range.lowerBound >= 0 && range.upperBound <= imageFile.dimensions[0], "image range \(range) out of bounds")
        if asGreyLevels {
            let size = rows * columns
            self.init(greyLevels: Array(imageFile.bytes[range.lowerBound * size ..< range.upperBound * size]),
                      labels: Array(labels[range]), rows: rows, columns: columns)
        } else {
            self.init(images: imageFile.unitTensor(rows: range), labels: Array(labels[range]), rows: rows, columns: columns)
        }
    }
}

extension IDXFile {
    /// This file's labels, read as the labels of `imageFile` (a 3-D image file): checked to be 1-D, one per
    /// image, and below `classCount` when given. `path` names this file in errors.
    func labels(for imageFile: IDXFile, path: String, classCount: Int?) throws -> [Int] {
        guard dimensions.count == 1 else {
            throw DataError.wrongDimensions(
                path: path, expected: "a 1-D label file (magic 0x00000801)",
                found: "\(dimensions.count) dimensions \(dimensions)")
        }
        guard dimensions[0] == imageFile.dimensions[0] else {
            throw DataError.wrongDimensions(
                path: path, expected: "\(imageFile.dimensions[0]) labels, one per image",
                found: "\(dimensions[0]) labels")
        }
        if let classCount, let bad = bytes.firstIndex(where: { Int($0) >= classCount }) {
            throw DataError.wrongDimensions(
                path: path, expected: "labels 0–\(classCount - 1)",
                found: "label \(bytes[bad]) at position \(bad)")
        }
        return bytes.map { Int($0) }
    }
}
