import BNN
import Foundation

extension DataSource {
    /// How often `progress` is called, in files.
    static let progressInterval = 256

    /// Decoded images kept between the two passes of `loadForTraining`, in values; beyond it images are
    /// decoded again rather than held (256 MB).
    static let cachedValueBudget = 1 << 26

    /// A labelled set to train on.
    ///
    /// Images are brought to one size — `imageSize` (height, width) if given, else the most common size in
    /// the set (ties go to the larger image) — by fit-and-pad (`DecodedImage.fitAndPad`: scaled to fit
    /// keeping the aspect ratio, area-averaged when shrinking and bilinear when enlarging, centred, padded
    /// with the mean of the image's own border pixels), and to one channel count: grey (1) if every image is
    /// grey, else RGB (3), grey images repeated in each channel. Transparency is composited over black.
    /// Class names are the sorted folder names (image folders), the distinct label values sorted —
    /// numerically if all are numbers, else as text — (CSV), or "0" … the largest label (IDX).
    ///
    /// - Parameter progress: called with (files done, files in all) every few hundred image files, in
    ///   each pass over them.
    /// - Throws: `DataError` naming the file and the problem: a missing or malformed file, a corrupt image,
    ///   a non-numeric or non-finite CSV cell, rows of different lengths, a missing label column, a class
    ///   folder without images, fewer than two classes, an IDX pair of different counts, …
    public func loadForTraining(imageSize: (height: Int, width: Int)? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> Dataset {
        if let imageSize, imageSize.height <= 0 || imageSize.width <= 0 {
            throw DataError.badDataSet(path: description, reason: "image size \(imageSize.height)×\(imageSize.width) must be positive")
        }
        let dataset: Dataset
        switch self {
        case .imageFolder(let path):
            let classes = try DataSource.classFolders(path)
            guard classes.count >= 2 else {
                throw DataError.badDataSet(path: path, reason: "only one class folder (\"\(classes[0].name)\"): training needs at least 2 classes")
            }
            let files = classes.enumerated().flatMap { label, folder in folder.files.map { ($0, label) } }
            dataset = try DataSource.trainingImages(files.map(\.0), labels: files.map(\.1), classNames: classes.map(\.name),
                                                    imageSize: imageSize, progress: progress)
        case .csv(let path, let labelColumn):
            let table = try CSVTable(path: path)
            let labelPosition = try table.column(labelColumn, path: path)
            let featureColumns = table.header.indices.filter { $0 != labelPosition }
            guard !featureColumns.isEmpty else {
                throw DataError.badDataSet(path: path, reason: "no feature columns: the only column is the label column \"\(labelColumn)\"")
            }
            let values = table.rows.map { $0[labelPosition] }
            if let empty = values.firstIndex(of: "") {
                throw DataError.badDataSet(path: path, reason: "line \(table.lines[empty]): the label (column \"\(labelColumn)\") is empty")
            }
            let classNames = DataSource.sortedLabels(Set(values))
            guard classNames.count >= 2 else {
                throw DataError.badDataSet(path: path, reason: "only one class (\"\(classNames[0])\") in column \"\(labelColumn)\": training needs at least 2 distinct labels")
            }
            let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
            let inputs = try table.numbers(columns: featureColumns, path: path, labelColumn: labelColumn)
            let featureNames = featureColumns.map { table.header[$0] }
            dataset = Dataset(inputs: inputs, labels: values.map { index[$0]! }, classNames: classNames,
                              preprocessing: InputPreprocessing(kind: .tabular, shape: [featureNames.count], featureNames: featureNames))
        case .idx(let imagesPath, let labelsPath):
            guard let labelsPath else {
                throw DataError.badDataSet(path: imagesPath, reason: "a bare IDX images file has no labels; training needs an IDX pair IMAGES,LABELS")
            }
            let images = try IDXFile.read(from: URL(fileURLWithPath: imagesPath))
            let (rows, columns) = try images.imageSize(path: imagesPath, expectedRows: nil, expectedColumns: nil)
            let labels = try IDXFile.read(from: URL(fileURLWithPath: labelsPath)).labels(for: images, path: labelsPath, classCount: nil)
            let classCount = (labels.max() ?? 0) + 1
            guard classCount >= 2 else {
                throw DataError.badDataSet(path: labelsPath, reason: "every label is 0: training needs at least 2 classes")
            }
            let size = imageSize ?? (rows, columns)
            let preprocessing = InputPreprocessing.greyImages(height: size.height, width: size.width)
            let inputs = try DataSource.convertIDX(images, rows: rows, columns: columns, to: preprocessing, path: imagesPath)
            dataset = Dataset(inputs: inputs, labels: labels, classNames: (0..<classCount).map(String.init),
                              preprocessing: preprocessing)
        }
        return dataset
    }

    /// A set to be read by a model whose inputs are `preprocessing` and whose classes are `classNames`.
    ///
    /// Images (any size, any colour type) are converted to the model's shape (`DecodedImage.converted(to:)`);
    /// CSV columns are matched by name to `preprocessing.featureNames` (by position when the model records
    /// no names) and reordered to them; labels are mapped to the model's class names (by text, or by value
    /// when both are numbers: "1.0" is class "1"). With `labelled: false` (an out-of-distribution set) no
    /// labels are read: a folder of images in any layout, searched recursively; a CSV whose label column,
    /// if it has one, is ignored; a bare IDX images file (an IDX pair's labels are ignored too).
    ///
    /// - Throws: `DataError` naming the file and the problem, as `loadForTraining`, and also: a source of
    ///   another kind than the model reads (images for a table model, …), CSV columns the model does not
    ///   have or lacks (naming them), a label or class folder the model does not know (naming it).
    public func load(for preprocessing: InputPreprocessing, classNames: [String], labelled: Bool,
                     progress: ((Int, Int) -> Void)? = nil) throws -> Dataset {
        if let problem = preprocessing.invalidSetting {
            throw DataError.badDataSet(path: description, reason: "cannot be read for this model: its preprocessing is invalid (\(problem))")
        }
        switch self {
        case .imageFolder(let path):
            try DataSource.requireImages(preprocessing, path: path, found: "images")
            var files: [String] = [], labels: [Int]? = nil
            if labelled {
                var found: [Int] = []
                for folder in try DataSource.classFolders(path) {
                    guard let label = DataSource.classIndex(of: folder.name, in: classNames) else {
                        throw DataError.badDataSet(path: folder.path, reason: "class folder \"\(folder.name)\" is not one of the model's classes (\(CSVTable.list(classNames)))")
                    }
                    files += folder.files
                    found += Array(repeating: label, count: folder.files.count)
                }
                labels = found
            } else {
                files = try DataSource.imageFiles(below: path)
            }
            let inputs = try DataSource.convertedImages(files, to: preprocessing, progress: progress)
            return Dataset(inputs: inputs, labels: labels, classNames: classNames, preprocessing: preprocessing)
        case .csv(let path, let labelColumn):
            guard preprocessing.kind == .tabular else {
                throw DataError.badDataSet(path: path, reason: "holds a table, but the model reads images of shape \(preprocessing.shape)")
            }
            let table = try CSVTable(path: path)
            let labelPosition = labelled ? try table.column(labelColumn, path: path) : table.header.firstIndex(of: labelColumn)
            let columns = table.header.indices.filter { $0 != labelPosition }
            let names = columns.map { table.header[$0] }
            let ordered: [Int]
            if let featureNames = preprocessing.featureNames {
                let extra = names.filter { !featureNames.contains($0) }, missing = featureNames.filter { !names.contains($0) }
                if !extra.isEmpty {
                    throw DataError.badDataSet(path: path, reason: "column\(extra.count > 1 ? "s" : "") \(CSVTable.list(extra)) \(extra.count > 1 ? "are" : "is") not among the model's features (\(CSVTable.list(featureNames)))\(labelled ? "" : "; the label column \"\(labelColumn)\" may be present")")
                }
                if !missing.isEmpty {
                    throw DataError.badDataSet(path: path, reason: "the model's feature\(missing.count > 1 ? "s" : "") \(CSVTable.list(missing)) \(missing.count > 1 ? "are" : "is") missing (the columns are \(CSVTable.list(table.header)))")
                }
                ordered = featureNames.map { columns[names.firstIndex(of: $0)!] }
            } else {
                guard columns.count == preprocessing.valueCount else {
                    throw DataError.badDataSet(path: path, reason: "\(columns.count) feature columns, but the model reads \(preprocessing.valueCount) features")
                }
                ordered = columns
            }
            let inputs = try table.numbers(columns: ordered, path: path, labelColumn: labelPosition.map { table.header[$0] })
            var labels: [Int]? = nil
            if labelled, let labelPosition {
                labels = try table.rows.indices.map { row in
                    let value = table.rows[row][labelPosition]
                    guard let index = DataSource.classIndex(of: value, in: classNames) else {
                        throw DataError.badDataSet(path: path, reason: "line \(table.lines[row]): label \"\(value)\" is not one of the model's classes (\(CSVTable.list(classNames)))")
                    }
                    return index
                }
            }
            return Dataset(inputs: inputs, labels: labels, classNames: classNames, preprocessing: preprocessing)
        case .idx(let imagesPath, let labelsPath):
            try DataSource.requireImages(preprocessing, path: imagesPath, found: "IDX images")
            let file = try IDXFile.read(from: URL(fileURLWithPath: imagesPath))
            var labels: [Int]? = nil
            let (rows, columns) = try file.imageSize(path: imagesPath, expectedRows: nil, expectedColumns: nil)
            if labelled {
                guard let labelsPath else {
                    throw DataError.badDataSet(path: imagesPath, reason: "a bare IDX images file has no labels; give an IDX pair IMAGES,LABELS")
                }
                let fileLabels = try IDXFile.read(from: URL(fileURLWithPath: labelsPath)).labels(for: file, path: labelsPath, classCount: nil)
                var map: [Int: Int] = [:]
                labels = try fileLabels.enumerated().map { position, label in
                    if let index = map[label] { return index }
                    guard let index = DataSource.classIndex(of: String(label), in: classNames) else {
                        throw DataError.badDataSet(path: labelsPath, reason: "label \(label) (item \(position)) is not one of the model's classes (\(CSVTable.list(classNames)))")
                    }
                    map[label] = index
                    return index
                }
            }
            let inputs = try DataSource.convertIDX(file, rows: rows, columns: columns, to: preprocessing, path: imagesPath)
            return Dataset(inputs: inputs, labels: labels, classNames: classNames, preprocessing: preprocessing)
        }
    }

    // MARK: Helpers

    /// A class folder: its name, path and image files (sorted).
    struct ClassFolder {
        var name: String
        var path: String
        var files: [String]
    }

    /// Whether a directory entry is skipped: hidden files and folders (".DS_Store", ".git", …).
    static func isHidden(_ name: String) -> Bool { name.hasPrefix(".") }

    /// Whether a file name is an image a data set reads: `.png` or `.pgm`, any case.
    static func isImageName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".png") || lower.hasSuffix(".pgm")
    }

    /// The visible entries of a folder, sorted, with whether each is a folder.
    static func entries(_ path: String) throws -> [(name: String, isDirectory: Bool)] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw DataError.unreadable(path: path, reason: "cannot list the folder (\(error.localizedDescription))")
        }
        return names.filter { !isHidden($0) }.sorted().map { name in
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
            return (name, isDirectory.boolValue)
        }
    }

    /// The class folders of `path`, sorted by name, each holding at least one image.
    static func classFolders(_ path: String) throws -> [ClassFolder] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingFile(path: path, hint: "expected a folder of class folders, DIR/<class name>/*.png|*.pgm")
        }
        let top = try entries(path)
        let folders = top.filter(\.isDirectory)
        guard !folders.isEmpty else {
            let images = top.filter { !$0.isDirectory && isImageName($0.name) }.count
            throw DataError.badDataSet(path: path, reason: "no class folders: expected DIR/<class name>/*.png|*.pgm"
                                       + (images > 0 ? " (found \(images) image\(images == 1 ? "" : "s") directly in the folder; put each class's images in a folder named after the class)" : ""))
        }
        return try folders.map { folder in
            let folderPath = path + "/" + folder.name
            let inside = try entries(folderPath).filter { !$0.isDirectory }
            let images = inside.filter { isImageName($0.name) }.map { folderPath + "/" + $0.name }
            guard !images.isEmpty else {
                let others = inside.map(\.name)
                throw DataError.badDataSet(path: folderPath, reason: "class folder \"\(folder.name)\" holds no .png or .pgm image"
                                           + (others.isEmpty ? "" : " (found \(others.count) other file\(others.count > 1 ? "s" : ""), e.g. \"\(others[0])\")"))
            }
            return ClassFolder(name: folder.name, path: folderPath, files: images)
        }
    }

    /// Every PNG/PGM image below `path` (any depth; hidden files and folders skipped), sorted by relative path.
    public static func imageFiles(below path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingFile(path: path, hint: "expected a folder of PNG/PGM images")
        }
        var files: [String] = []
        func walk(_ folder: String, depth: Int) throws {
            // Deep enough for any real layout; stops a symbolic-link loop.
            guard depth < 32 else { return }
            for entry in try entries(folder) {
                let child = folder + "/" + entry.name
                if entry.isDirectory { try walk(child, depth: depth + 1) } else if isImageName(entry.name) { files.append(child) }
            }
        }
        try walk(path, depth: 0)
        guard !files.isEmpty else {
            throw DataError.badDataSet(path: path, reason: "holds no .png or .pgm image (searched every sub-folder)")
        }
        return files
    }

    /// Distinct label values sorted numerically when all are numbers, else as text.
    static func sortedLabels(_ values: Set<String>) -> [String] {
        let numbers = values.map { Double($0) }
        if numbers.allSatisfy({ $0?.isFinite ?? false }) {
            return values.sorted { (Double($0)!, $0) < (Double($1)!, $1) }
        }
        return values.sorted()
    }

    /// The position of `name` in `classNames`, matching by text, else by value when both are numbers.
    static func classIndex(of name: String, in classNames: [String]) -> Int? {
        if let index = classNames.firstIndex(of: name) { return index }
        guard let value = Double(name) else { return nil }
        return classNames.firstIndex { Double($0) == value }
    }

    /// Refuses a model that does not read images.
    static func requireImages(_ preprocessing: InputPreprocessing, path: String, found: String) throws {
        guard preprocessing.imageShape != nil else {
            throw DataError.badDataSet(path: path, reason: "holds \(found), but the model reads table rows of \(preprocessing.valueCount) features")
        }
    }

    /// A `[count, valueCount]` tensor, or `tooLarge` naming `path`.
    static func makeInputs(count: Int, valueCount: Int, path: String) throws -> Tensor {
        guard Tensor.elementCount(of: [count, valueCount]) != nil, count.multipliedReportingOverflow(by: valueCount).partialValue <= 1 << 31 else {
            throw DataError.tooLarge(path: path, reason: "\(count) inputs of \(valueCount) values do not fit in memory")
        }
        return Tensor(shape: [count, valueCount])
    }

    /// IDX images (`[count, rows·columns]` grey) in `preprocessing`'s shape: as they are when it matches
    /// (an MNIST-format file is already in MNIST's form); other sizes for a digit model prepared the way
    /// MNIST was made (`DigitNormalizer`), else by `DecodedImage.converted`.
    static func convertIDX(_ file: IDXFile, rows: Int, columns: Int, to preprocessing: InputPreprocessing, path: String) throws -> Tensor {
        if preprocessing.shape == [1, rows, columns] { return file.unitTensor() }
        // Image by image from the file's bytes: the whole file as floats would be 4 bytes per pixel at its
        // own size (a pool of 20,000 64×64 images: 328 MB) for a few moments.
        let count = file.dimensions[0]
        let inputs = try makeInputs(count: count, valueCount: preprocessing.valueCount, path: path)
        for item in 0..<count {
            let pixels = file.unitValues(item: item)
            store(preprocessing.digitNormalization
                  ? DigitNormalizer.normalize(GreyImage(width: columns, height: rows, pixels: pixels))
                  : DecodedImage(width: columns, height: rows, channels: 1, pixels: pixels).converted(to: preprocessing),
                  in: inputs, at: item)
        }
        return inputs
    }

    static func store(_ values: [Float], in inputs: Tensor, at item: Int) {
        values.withUnsafeBufferPointer { (inputs.pointer + item * values.count).update(from: $0.baseAddress!, count: values.count) }
    }

    /// Decodes image files one by one and brings each to `preprocessing`'s shape, as rows of one tensor:
    /// for a digit model (`digitNormalization`) prepared the way MNIST was made (`DigitNormalizer`, as
    /// `bnn predict` and the web page do), else by `DecodedImage.converted`.
    public static func convertedImages(_ files: [String], to preprocessing: InputPreprocessing, progress: ((Int, Int) -> Void)?) throws -> Tensor {
        let inputs = try makeInputs(count: files.count, valueCount: preprocessing.valueCount, path: files.first ?? "")
        for (item, file) in files.enumerated() {
            store(preprocessing.digitNormalization ? DigitNormalizer.normalize(try ImageFile.load(file))
                                                   : try ImageFile.loadImage(file).converted(to: preprocessing),
                  in: inputs, at: item)
            report(item + 1, files.count, progress)
        }
        return inputs
    }

    static func report(_ done: Int, _ total: Int, _ progress: ((Int, Int) -> Void)?) {
        if done % progressInterval == 0 || done == total { progress?(done, total) }
    }

    /// Training images: a first pass reads every image's size and channels (keeping the decoded images
    /// while they fit in `cachedValueBudget`), then the shape is chosen and every image converted.
    static func trainingImages(_ files: [String], labels: [Int], classNames: [String], imageSize: (height: Int, width: Int)?,
                               progress: ((Int, Int) -> Void)?) throws -> Dataset {
        var cache: [DecodedImage?] = []
        var sizes: [Int: Int] = [:]  // (height << 32 | width) → count
        var colour = false
        var cached = 0
        for (item, file) in files.enumerated() {
            let image = try ImageFile.loadImage(file)
            sizes[image.height << 32 | image.width, default: 0] += 1
            colour = colour || image.channels == 3
            if cached + image.pixels.count <= cachedValueBudget {
                cache.append(image)
                cached += image.pixels.count
            } else {
                cache.append(nil)
            }
            report(item + 1, files.count, progress)
        }
        let size = imageSize ?? sizes.max { a, b in
            // Most common; ties to the larger image, then the taller, so that the choice is deterministic.
            let (ha, wa, hb, wb) = (a.key >> 32, a.key & 0xffff_ffff, b.key >> 32, b.key & 0xffff_ffff)
            return (a.value, ha * wa, ha) < (b.value, hb * wb, hb)
        }.map { (height: $0.key >> 32, width: $0.key & 0xffff_ffff) }!
        let preprocessing = InputPreprocessing(kind: .image, shape: [colour ? 3 : 1, size.height, size.width], resize: .fitAndPad)
        let inputs = try makeInputs(count: files.count, valueCount: preprocessing.valueCount, path: files[0])
        let uncached = cache.filter { $0 == nil }.count
        var redecoded = 0
        for (item, file) in files.enumerated() {
            let image: DecodedImage
            if let kept = cache[item] {
                image = kept
                cache[item] = nil
            } else {
                image = try ImageFile.loadImage(file)
                redecoded += 1
                report(redecoded, uncached, progress)
            }
            store(image.converted(to: preprocessing), in: inputs, at: item)
        }
        return Dataset(inputs: inputs, labels: labels, classNames: classNames, preprocessing: preprocessing)
    }
}
