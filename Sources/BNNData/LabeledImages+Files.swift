import BNN
import Foundation

/// Loading image sets from IDX, PNG and PGM files.
extension LabeledImages {
    /// Loads an IDX image file and its IDX label file (each gzip or raw).
    ///
    /// - Parameters:
    ///   - expectedRows, expectedColumns: when given, other image sizes are refused.
    ///   - classCount: when given, labels must be below it.
    /// - Throws: `DataError` naming the file when one is missing or malformed, or when the counts differ.
    public static func load(
        images imagesURL: URL, labels labelsURL: URL, expectedRows: Int? = nil, expectedColumns: Int? = nil,
        classCount: Int? = nil
    ) throws -> LabeledImages {
        try LabeledImages(
            imageFile: IDXFile.read(from: imagesURL), imagesPath: imagesURL.path,
            labelFile: IDXFile.read(from: labelsURL), labelsPath: labelsURL.path,
            expectedRows: expectedRows, expectedColumns: expectedColumns, classCount: classCount)
    }
}

extension UnlabeledImages {
    /// Loads an IDX image file (gzip or raw).
    public static func load(images url: URL, expectedRows: Int? = 28, expectedColumns: Int? = 28) throws -> UnlabeledImages {
        try UnlabeledImages(file: IDXFile.read(from: url), path: url.path, expectedRows: expectedRows, expectedColumns: expectedColumns)
    }

    /// The images of a parsed IDX image file (`path` names it in errors), refused unless it is 3-D, holds
    /// at least one image, and its images have the expected size (when given).
    public init(file: IDXFile, path: String, expectedRows: Int? = 28, expectedColumns: Int? = 28) throws {
        let (rows, columns) = try file.imageSize(path: path, expectedRows: expectedRows, expectedColumns: expectedColumns)
        self.init(images: file.unitTensor(), rows: rows, columns: columns)
    }

    /// PNG or PGM files of any size, each prepared as an MNIST digit (`DigitNormalizer`), as `bnn predict` reads them.
    public static func digits(fromImageFiles paths: [String]) throws -> UnlabeledImages {
        let side = DigitNormalizer.side
        return UnlabeledImages(images: try DataSource.convertedImages(paths, to: .mnist, progress: nil), rows: side, columns: side)
    }

    /// What an out-of-distribution set may be, for errors.
    static let setKinds = "an IDX images file (magic 0x00000803, raw or .gz, any image size), a PNG or PGM image, or a folder of PNG/PGM images"

    /// An out-of-distribution set (`--ood NAME=PATH`): an IDX file (gzip or raw), one PNG or PGM image, or
    /// a folder of them (taken in name order). Images are prepared like `bnn predict`'s (`DigitNormalizer`),
    /// except an IDX file of 28×28 images, which is in MNIST's form already and read as it is.
    public static func load(outOfDistribution path: String) throws -> UnlabeledImages {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missingFile(path: path, hint: "expected \(setKinds)")
        }
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            let images = names.filter { ["png", "pgm"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }.sorted()
            guard !images.isEmpty else { throw DataError.missingFile(path: path, hint: "the folder holds no .png or .pgm image; expected \(setKinds)") }
            return try digits(fromImageFiles: images.map { URL(fileURLWithPath: path).appendingPathComponent($0).path })
        }
        let head = FileHandle(forReadingAtPath: path).map { [UInt8]($0.readData(ofLength: 8)) } ?? []
        if ImageFile.isSupported(head) { return try digits(fromImageFiles: [path]) }
        do {
            let file = try IDXFile.read(from: URL(fileURLWithPath: path))
            let (rows, columns) = try file.imageSize(path: path, expectedRows: nil, expectedColumns: nil)
            let side = DigitNormalizer.side
            let images = try DataSource.convertIDX(file, rows: rows, columns: columns, to: .mnist, path: path)
            return UnlabeledImages(images: images, rows: side, columns: side)
        } catch DataError.badMagic(let path, _, let found) {
            throw DataError.badMagic(path: path, expected: setKinds, found: found)
        }
    }
}

extension IDXFile {
    /// Rows and columns of a 3-D image file, checked against expectations. A file of no images is refused
    /// too: every set is measured or learned from, and an empty one would only give 0/0.
    func imageSize(path: String, expectedRows: Int?, expectedColumns: Int?) throws -> (Int, Int) {
        guard dimensions.count == 3 else {
            throw DataError.wrongDimensions(
                path: path, expected: "a 3-D image file (magic 0x00000803: count × rows × columns)",
                found: "\(dimensions.count) dimensions \(dimensions)")
        }
        guard dimensions[0] > 0 else {
            throw DataError.wrongDimensions(path: path, expected: "at least one image", found: "an empty set (0 images)")
        }
        let rows = dimensions[1], columns = dimensions[2]
        if (expectedRows.map { $0 != rows } ?? false) || (expectedColumns.map { $0 != columns } ?? false) {
            throw DataError.wrongDimensions(
                path: path, expected: "images of \(expectedRows ?? rows)×\(expectedColumns ?? columns)",
                found: "\(rows)×\(columns)")
        }
        return (rows, columns)
    }
}
