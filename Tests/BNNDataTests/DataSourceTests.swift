import Foundation
import Testing
@testable import BNN
@testable import BNNData

/// The error `body` throws, rendered, or a marker that it threw none (or another kind).
func dataErrorText(_ body: () throws -> Void) -> String {
    guard let error = dataError(body) else { return "<no DataError>" }
    return error.description
}

/// Expects `body` to throw a `DataError` whose one-line description names `file` and holds every part of `mentions`.
func expectDataError(naming file: String, _ mentions: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    let text = dataErrorText(body)
    #expect(text.contains(file), "\(text)", sourceLocation: sourceLocation)
    for part in mentions { #expect(text.contains(part), "\(text) lacks \(part)", sourceLocation: sourceLocation) }
    #expect(!text.contains("\n"), "one line: \(text)", sourceLocation: sourceLocation)
}

/// A grey PNG of `width × height` with every pixel `value` (0…255).
func flatGreyPNG(width: Int, height: Int, value: UInt8) -> [UInt8] {
    PNGEncoder.encode(grey: [UInt8](repeating: value, count: width * height), width: width, height: height)
}

extension TemporaryFolder {
    var path: String { url.path }

    func writeText(_ text: String, to name: String) throws -> String {
        try write(Array(text.utf8), to: name).path
    }
}

@Suite struct ColourDecodingTests {
    @Test func rgbKeepsItsChannelsChannelMajor() throws {
        // 2×1: red, then (0, 128, 255).
        let png = PNGEncoder.encode(rgb: [255, 0, 0, 0, 128, 255], width: 2, height: 1)
        let image = try PNGDecoder.decodeImage(png, path: "c.png")
        #expect(image.channels == 3 && image.width == 2 && image.height == 1)
        expectClose(image.pixels, [1, 0, 0, 128 / 255, 0, 1])
    }

    @Test func rgbWhoseEveryPixelIsGreyIsOneChannel() throws {
        let png = PNGEncoder.encode(rgb: [10, 10, 10, 200, 200, 200], width: 2, height: 1)
        let image = try PNGDecoder.decodeImage(png, path: "g.png")
        #expect(image.channels == 1)
        expectClose(image.pixels, [10 / 255, 200 / 255])
    }

    @Test func paletteWithTransparencyCompositesOverBlack() throws {
        // Palette: 0 = green, 1 = blue at alpha 51/255; pixels 0, 1 (8-bit indices).
        let png = PNGEncoder.encode(samples: [0, 1], width: 2, height: 1, colourType: 3, bitDepth: 8, channels: 1,
                                    palette: [0, 255, 0, 0, 0, 255], transparency: [255, 51])
        let image = try PNGDecoder.decodeImage(png, path: "p.png")
        #expect(image.channels == 3)
        expectClose(image.pixels, [0, 0, 1, 0, 0, 0.2])
    }

    @Test func sixteenBitRGBAndGreyAlpha() throws {
        // One 16-bit RGB pixel (65535, 32768, 0).
        let rgb16 = PNGEncoder.encode(samples: [0xff, 0xff, 0x80, 0x00, 0, 0], width: 1, height: 1, colourType: 2, bitDepth: 16, channels: 3)
        let image = try PNGDecoder.decodeImage(rgb16, path: "16.png")
        #expect(image.channels == 3)
        expectClose(image.pixels, [1, 32768 / 65535, 0])
        // Grey 200 at alpha 0.5 (8-bit grey + alpha): one channel, 200/255 · 128/255 over black.
        let greyAlpha = PNGEncoder.encode(samples: [200, 128], width: 1, height: 1, colourType: 4, bitDepth: 8, channels: 2)
        let grey = try PNGDecoder.decodeImage(greyAlpha, path: "ga.png")
        #expect(grey.channels == 1)
        expectClose(grey.pixels, [200 / 255 * 128 / 255])
        // The grey decoder still composites over white, as before.
        expectClose(try PNGDecoder.decode(greyAlpha, path: "ga.png").pixels, [128 / 255 * 200 / 255 + (1 - 128 / 255)])
    }

    @Test func hugeImagesAreRefusedBeforeDecoding() throws {
        let png = patchedIHDR(patchedIHDR(flatGreyPNG(width: 1, height: 1, value: 0), offset: 2, value: 0x10), offset: 6, value: 0x10)
        let folder = try TemporaryFolder()
        let path = try folder.write(png, to: "huge.png").path
        expectDataError(naming: "huge.png", ["too large"]) { _ = try ImageFile.loadImage(path) }
    }
}

@Suite struct FitAndPadTests {
    @Test func shrinkingAveragesAreasAndPadsWithTheBorderMean() {
        // 4 wide × 2 high into 2 × 2: scale 1/2 → 2 wide × 1 high, on top (odd leftover below).
        let plane: [Float] = [0.0, 0.2, 0.4, 0.6,
                              0.8, 1.0, 0.2, 0.4]
        let out = DecodedImage.fitAndPad(plane, width: 4, height: 2, toWidth: 2, toHeight: 2)
        let border = plane.reduce(0, +) / 8  // every pixel of a 4×2 image is on its border
        expectClose(out, [(0.0 + 0.2 + 0.8 + 1.0) / 4, (0.4 + 0.6 + 0.2 + 0.4) / 4, border, border])
    }

    @Test func enlargingIsBilinearWithAlignedCentres() {
        // 2 × 1 into 4 × 2: scale 2; source positions −0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        let out = DecodedImage.fitAndPad([0.2, 1.0], width: 2, height: 1, toWidth: 4, toHeight: 2)
        let row: [Float] = [0.2, 0.75 * 0.2 + 0.25, 0.25 * 0.2 + 0.75, 1.0]
        expectClose(out, row + row)
    }

    @Test func aNarrowImageIsCentredBetweenBorderColouredColumns() {
        let plane: [Float] = [0.1, 0.3, 0.5, 0.7]  // 2 × 2
        let out = DecodedImage.fitAndPad(plane, width: 2, height: 2, toWidth: 4, toHeight: 2)
        let pad: Float = 0.4
        expectClose(out, [pad, 0.1, 0.3, pad, pad, 0.5, 0.7, pad])
    }

    @Test func channelConversion() {
        let rgb = DecodedImage(width: 1, height: 1, channels: 3, pixels: [1, 0.5, 0])
        expectClose(rgb.converted(to: .greyImages(height: 1, width: 1)), [0.299 + 0.587 * 0.5])
        let grey = DecodedImage(width: 1, height: 1, channels: 1, pixels: [0.25])
        let colour = InputPreprocessing(kind: .image, shape: [3, 1, 1], resize: .fitAndPad)
        expectClose(grey.converted(to: colour), [0.25, 0.25, 0.25])
    }
}

@Suite struct DataSourceArgumentTests {
    @Test func eachFormIsRecognised() throws {
        let folder = try TemporaryFolder()
        let images = try folder.write([0, 0, 8, 3], to: "images.idx").path
        let labels = try folder.write([0, 0, 8, 1], to: "labels.idx").path
        let csv = try folder.writeText("a,label\n1,x\n", to: "t.CSV")
        #expect(try DataSource(argument: "\(images),\(labels)") == .idx(images: images, labels: labels))
        #expect(try DataSource(argument: images) == .idx(images: images, labels: nil))
        #expect(try DataSource(argument: csv, labelColumn: "y") == .csv(path: csv, labelColumn: "y"))
        #expect(try DataSource(argument: folder.path) == .imageFolder(path: folder.path))
        #expect(DataSource.idx(images: images, labels: labels).description == "\(images),\(labels)")
        expectDataError(naming: "nowhere.csv", ["not found"]) { _ = try DataSource(argument: folder.path + "/nowhere.csv") }
        expectDataError(naming: "missing-labels", ["not found"]) { _ = try DataSource(argument: "\(images),\(folder.path)/missing-labels") }
    }
}

@Suite struct ImageFolderTests {
    /// Classes "square" (three 4×6, i.e. 4 wide × 6 high, one 8×8) and "circle" (one 4×6), plus noise.
    func makeFolder(colourFile: Bool = false) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        for name in ["b.png", "a.PNG", "c.png"] { try folder.write(flatGreyPNG(width: 4, height: 6, value: 255), to: "square/\(name)") }
        try folder.write(flatGreyPNG(width: 8, height: 8, value: 255), to: "square/d.png")
        try folder.write(flatGreyPNG(width: 4, height: 6, value: 0), to: "circle/x.png")
        try folder.write([1, 2, 3], to: "square/.hidden.png")
        try folder.write(Array("notes".utf8), to: "square/README.txt")
        try folder.write(flatGreyPNG(width: 4, height: 6, value: 9), to: ".cache/x.png")
        if colourFile { try folder.write(PNGEncoder.encode(rgb: [255, 0, 0], width: 1, height: 1), to: "circle/y.png") }
        return folder
    }

    @Test func classesShapesAndMostCommonSize() throws {
        let folder = try makeFolder()
        var calls: [(Int, Int)] = []
        let set = try DataSource.imageFolder(path: folder.path).loadForTraining { calls.append(($0, $1)) }
        #expect(set.classNames == ["circle", "square"])
        #expect(set.labels == [0, 1, 1, 1, 1])
        #expect(set.preprocessing == InputPreprocessing(kind: .image, shape: [1, 6, 4], resize: .fitAndPad))
        #expect(set.inputs.shape == [5, 24])
        #expect(set.inputs.array.prefix(24).allSatisfy { $0 == 0 } && set.inputs.array.dropFirst(24).allSatisfy { $0 == 1 })
        #expect(calls.last! == (5, 5))
        let labelled = set.labeled
        #expect(labelled.rows == 6 && labelled.columns == 4 && labelled.count == 5)
    }

    @Test func oneColourImageMakesTheSetRGBAndTheSizeCanBeChosen() throws {
        let folder = try makeFolder(colourFile: true)
        let set = try DataSource.imageFolder(path: folder.path).loadForTraining(imageSize: (height: 2, width: 2))
        #expect(set.preprocessing.shape == [3, 2, 2])
        // circle/y.png, the red pixel, stretched to 2×2: R planes all 1, G and B 0.
        expectClose(Array(set.inputs.array[12..<24]), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(set.labeled.rows == 1 && set.labeled.columns == 12)
    }

    @Test func loadingForAModelConvertsAndMapsClasses() throws {
        let folder = try makeFolder()
        let model = InputPreprocessing(kind: .image, shape: [3, 3, 3], resize: .fitAndPad)
        let set = try DataSource.imageFolder(path: folder.path).load(for: model, classNames: ["dot", "square", "circle"], labelled: true)
        #expect(set.labels == [2, 1, 1, 1, 1] && set.inputs.shape == [5, 27] && set.classNames == ["dot", "square", "circle"])
        expectDataError(naming: "square", ["\"square\" is not one of the model's classes", "\"circle\""]) {
            _ = try DataSource.imageFolder(path: folder.path).load(for: model, classNames: ["circle", "dot"], labelled: true)
        }
        let table = InputPreprocessing(kind: .tabular, shape: [2], featureNames: ["a", "b"], means: [0, 0], standardDeviations: [1, 1])
        expectDataError(naming: folder.path, ["holds images", "table rows of 2 features"]) {
            _ = try DataSource.imageFolder(path: folder.path).load(for: table, classNames: ["a", "b"], labelled: true)
        }
    }

    @Test func anOutOfDistributionFolderIsSearchedRecursively() throws {
        let folder = try TemporaryFolder()
        try folder.write(flatGreyPNG(width: 2, height: 2, value: 255), to: "z.png")
        try folder.write(flatGreyPNG(width: 5, height: 5, value: 0), to: "deep/er/a.pgm.png")
        try folder.write(Array("P2 1 1 255 51".utf8), to: "deep/b.PGM")
        try folder.write(flatGreyPNG(width: 2, height: 2, value: 7), to: ".hidden/c.png")
        let set = try DataSource.imageFolder(path: folder.path).load(for: .greyImages(height: 2, width: 2), classNames: ["a", "b"], labelled: false)
        #expect(set.labels == nil && set.count == 3)
        expectClose(set.inputs.array, [0.2, 0.2, 0.2, 0.2, 0, 0, 0, 0, 1, 1, 1, 1])
        let empty = try TemporaryFolder()
        try empty.write([1], to: "sub/notes.txt")
        expectDataError(naming: empty.path, ["no .png or .pgm image"]) {
            _ = try DataSource.imageFolder(path: empty.path).load(for: .greyImages(height: 2, width: 2), classNames: [], labelled: false)
        }
    }

    /// Folders that cannot be trained on: (files to write, the file the error names, what it says).
    static let malformed: [([String], String, [String])] = [
        (["only/a.png"], "", ["only one class folder (\"only\")", "at least 2 classes"]),
        (["a/a.png", "b/photo.jpg"], "/b", ["class folder \"b\" holds no .png or .pgm image", "\"photo.jpg\""]),
        (["a.png"], "", ["no class folders", "found 1 image directly"]),
        (["a/a.png", "b/broken.png"], "/b/broken.png", ["truncated"]),
    ]

    @Test(arguments: malformed)
    func malformedFolders(files: [String], named: String, mentions: [String]) throws {
        let folder = try TemporaryFolder()
        for file in files {
            let png = flatGreyPNG(width: 2, height: 2, value: 0)
            try folder.write(file.hasSuffix("broken.png") ? Array(png.prefix(40)) : file.hasSuffix(".jpg") ? [0xff, 0xd8] : png, to: file)
        }
        expectDataError(naming: folder.path + named, mentions) { _ = try DataSource.imageFolder(path: folder.path).loadForTraining() }
    }

    @Test func aSizeThatIsNotPositiveIsRefused() throws {
        let folder = try TemporaryFolder()
        expectDataError(naming: folder.path, ["image size 0×4 must be positive"]) {
            _ = try DataSource.imageFolder(path: folder.path).loadForTraining(imageSize: (0, 4))
        }
    }
}

@Suite struct CSVSourceTests {
    @Test func labelsLastWithTextLabels() throws {
        let folder = try TemporaryFolder()
        let path = try folder.writeText("x, y ,kind\r\n1,2,dog\r\n3,4.5,cat\n\n\"5\",-6e1,dog\n", to: "pets.csv")
        let set = try DataSource.csv(path: path, labelColumn: "kind").loadForTraining()
        #expect(set.classNames == ["cat", "dog"] && set.labels == [1, 0, 1])
        #expect(set.preprocessing == InputPreprocessing(kind: .tabular, shape: [2], featureNames: ["x", "y"]))
        expectClose(set.inputs.array, [1, 2, 3, 4.5, 5, -60])
        #expect(set.labeled.rows == 1 && set.labeled.columns == 2)
    }

    @Test func labelsFirstNumericLabelsSortNumerically() throws {
        let folder = try TemporaryFolder()
        let path = try folder.writeText("label,a\n10,0\n2,1\n-1,2\n2,3\n", to: "n.csv")
        let set = try DataSource.csv(path: path, labelColumn: "label").loadForTraining()
        #expect(set.classNames == ["-1", "2", "10"] && set.labels == [2, 1, 0, 1])
    }

    @Test func loadingForAModelMatchesColumnsByName() throws {
        let folder = try TemporaryFolder()
        let model = InputPreprocessing(kind: .tabular, shape: [2], featureNames: ["y", "x"], means: [0, 0], standardDeviations: [1, 1])
        let path = try folder.writeText("x,label,y\n1,b,2\n3,a,4\n5,1.0,6\n", to: "t.csv")
        let set = try DataSource.csv(path: path, labelColumn: "label").load(for: model, classNames: ["a", "b", "1"], labelled: true)
        expectClose(set.inputs.array, [2, 1, 4, 3, 6, 5])
        #expect(set.labels == [1, 0, 2])
        let unlabelled = try DataSource.csv(path: path, labelColumn: "label").load(for: model, classNames: ["a"], labelled: false)
        #expect(unlabelled.labels == nil && unlabelled.count == 3)
        let noLabel = try folder.writeText("y,x\n1,2\n", to: "ood.csv")
        #expect(try DataSource.csv(path: noLabel, labelColumn: "label").load(for: model, classNames: ["a"], labelled: false).count == 1)

        expectDataError(naming: "t.csv", ["line 3", "label \"a\" is not one of the model's classes"]) {
            _ = try DataSource.csv(path: path, labelColumn: "label").load(for: model, classNames: ["b"], labelled: true)
        }
        let extra = try folder.writeText("x,y,z,w,label\n1,2,3,4,a\n", to: "extra.csv")
        expectDataError(naming: "extra.csv", ["columns \"z\", \"w\" are not among the model's features"]) {
            _ = try DataSource.csv(path: extra, labelColumn: "label").load(for: model, classNames: ["a"], labelled: true)
        }
        let missing = try folder.writeText("x,label\n1,a\n", to: "missing.csv")
        expectDataError(naming: "missing.csv", ["feature \"y\" is missing"]) {
            _ = try DataSource.csv(path: missing, labelColumn: "label").load(for: model, classNames: ["a"], labelled: true)
        }
        expectDataError(naming: "t.csv", ["holds a table", "images"]) {
            _ = try DataSource.csv(path: path, labelColumn: "label").load(for: .greyImages(height: 2, width: 2), classNames: ["a"], labelled: true)
        }
    }

    @Test(arguments: [
        ("a,label\n1,x\nfour,y\n", ["line 3, column \"a\": \"four\" is not a number"]),
        ("a,label\n1,x\n,y\n", ["line 3, column \"a\": an empty cell is not a number"]),
        ("a,label\n1,x\nnan,y\n", ["line 3, column \"a\": \"nan\" is not a finite number"]),
        ("a,label\n1,x\n-inf,y\n", ["line 3, column \"a\"", "not a finite number"]),
        ("a,label\n1,x\n1e40,y\n", ["line 3", "not a finite number"]),
        ("a,label\n1,x\n2,y,3\n", ["line 3 has 3 cells but the header has 2 columns"]),
        ("", ["empty CSV"]),
        ("\n\n", ["empty CSV"]),
        ("a,label\n", ["no data rows after the header", "\"a\", \"label\""]),
        ("a,b\n1,2\n", ["no label column \"label\"", "the columns are \"a\", \"b\""]),
        ("a,label\n1,x\n2,x\n", ["only one class (\"x\")"]),
        ("label\nx\ny\n", ["no feature columns"]),
        ("a,label\n1,x\n2,\n", ["line 3: the label", "is empty"]),
        ("a,a,label\n1,2,x\n", ["column name \"a\" appears twice"]),
        ("a,label\n\"1,x\n", ["never closed"]),
    ])
    func malformedTables(text: String, mentions: [String]) throws {
        let folder = try TemporaryFolder()
        let path = try folder.writeText(text, to: "bad.csv")
        expectDataError(naming: "bad.csv", mentions) { _ = try DataSource.csv(path: path, labelColumn: "label").loadForTraining() }
    }

    @Test func quotedFieldsHoldCommasQuotesAndNewlines() throws {
        let table = try CSVTable(bytes: Array("\u{feff}name,\"label\"\n\"a, \"\"b\"\"\nc\",2\n".utf8), path: "q.csv")
        #expect(table.header == ["name", "label"] && table.rows == [["a, \"b\"\nc", "2"]] && table.lines == [2])
    }
}

@Suite struct IDXSourceTests {
    func writePair(_ folder: TemporaryFolder, count: Int = 6, labelCount: Int? = nil, labels: [UInt8]? = nil) throws -> (String, String) {
        let images = folder.url.appendingPathComponent("images.gz")
        try syntheticImages(count: count, rows: 3, columns: 2).write(to: images, compressed: true)
        let labelsURL = folder.url.appendingPathComponent("labels")
        let values = labels ?? (0..<(labelCount ?? count)).map { UInt8($0 % 3) }
        try IDXFile(dimensions: [values.count], bytes: values).write(to: labelsURL)
        return (images.path, labelsURL.path)
    }

    @Test func aPairTrainsWithNumberedClasses() throws {
        let folder = try TemporaryFolder()
        let (images, labels) = try writePair(folder)
        let set = try DataSource.idx(images: images, labels: labels).loadForTraining()
        #expect(set.classNames == ["0", "1", "2"] && set.labels == [0, 1, 2, 0, 1, 2])
        #expect(set.preprocessing == .greyImages(height: 3, width: 2))
        #expect(set.inputs.array == syntheticImages(count: 6, rows: 3, columns: 2).unitTensor().array)
        #expect(set.labeled.rows == 3 && set.labeled.columns == 2)
    }

    @Test func loadingForAModelConvertsAndMapsLabelsByName() throws {
        let folder = try TemporaryFolder()
        let (images, labels) = try writePair(folder)
        let model = InputPreprocessing(kind: .image, shape: [3, 6, 4], resize: .fitAndPad)
        let set = try DataSource.idx(images: images, labels: labels).load(for: model, classNames: ["2", "1", "0"], labelled: true)
        #expect(set.inputs.shape == [6, 72] && set.labels == [2, 1, 0, 2, 1, 0])
        expectDataError(naming: "labels", ["label 2 (item 2) is not one of the model's classes"]) {
            _ = try DataSource.idx(images: images, labels: labels).load(for: model, classNames: ["0", "1"], labelled: true)
        }
        let bare = try DataSource.idx(images: images, labels: nil).load(for: .greyImages(height: 3, width: 2), classNames: [], labelled: false)
        #expect(bare.labels == nil && bare.count == 6)
        expectDataError(naming: "images.gz", ["no labels"]) {
            _ = try DataSource.idx(images: images, labels: nil).load(for: model, classNames: ["0"], labelled: true)
        }
    }

    /// For a digit model, IDX images of another size than 28×28 are prepared the way `bnn predict`
    /// prepares an image (`DigitNormalizer`), whether read as a labelled set (`--test`) or as an
    /// out-of-distribution set (`--ood`); 28×28 IDX images are MNIST's form already and stay as they are.
    @Test func largerIDXImagesAreNormalisedLikePredictForADigitModel() throws {
        let folder = try TemporaryFolder()
        // Two 40×36 images: a dark bar on light paper and a light blob on black, off centre.
        var bytes = [UInt8](repeating: 0, count: 2 * 40 * 36)
        for y in 0..<40 { for x in 0..<36 { bytes[y * 36 + x] = (5...30).contains(y) && (8...12).contains(x) ? 20 : 230 } }
        for y in 0..<40 { for x in 0..<36 { bytes[1440 + y * 36 + x] = (2...14).contains(y) && (20...33).contains(x) ? 255 : 0 } }
        let images = folder.url.appendingPathComponent("big.gz")
        try IDXFile(dimensions: [2, 40, 36], bytes: bytes).write(to: images, compressed: true)
        let labels = folder.url.appendingPathComponent("labels")
        try IDXFile(dimensions: [2], bytes: [1, 0]).write(to: labels)
        let raw = IDXFile(dimensions: [2, 40, 36], bytes: bytes).unitTensor()
        let expected = (0..<2).flatMap { index in
            DigitNormalizer.normalize(GreyImage(width: 36, height: 40, pixels: Array(raw.array[(index * 1440)..<((index + 1) * 1440)])))
        }
        let labelled = try DataSource.idx(images: images.path, labels: labels.path)
            .load(for: .mnist, classNames: (0..<10).map(String.init), labelled: true)
        #expect(labelled.inputs.array == expected && labelled.labels == [1, 0])
        #expect(try UnlabeledImages.load(outOfDistribution: images.path).images.array == expected)
        #expect(expected.contains { $0 > 0.5 })

        let small = folder.url.appendingPathComponent("small")
        try syntheticImages(count: 3).write(to: small)
        #expect(try UnlabeledImages.load(outOfDistribution: small.path).images.array == syntheticImages(count: 3).unitTensor().array)
        let asIs = try DataSource.idx(images: small.path, labels: nil).load(for: .mnist, classNames: [], labelled: false)
        #expect(asIs.inputs.array == syntheticImages(count: 3).unitTensor().array)
    }

    @Test func malformedPairs() throws {
        let folder = try TemporaryFolder()
        let (images, labels) = try writePair(folder, count: 6, labelCount: 5)
        expectDataError(naming: "labels", ["6 labels, one per image", "found 5 labels"]) {
            _ = try DataSource.idx(images: images, labels: labels).loadForTraining()
        }
        let other = try TemporaryFolder()
        let (images2, labels2) = try writePair(other, count: 2, labels: [0, 0])
        expectDataError(naming: "labels", ["at least 2 classes"]) { _ = try DataSource.idx(images: images2, labels: labels2).loadForTraining() }
    }
}

@Suite struct StratifiedSplitTests {
    func set(_ labels: [Int]) -> LabeledImages {
        LabeledImages(images: Tensor(shape: [labels.count, 1], values: labels.indices.map(Float.init)), labels: labels, rows: 1, columns: 1)
    }

    @Test func proportionsPerClassAndNeverAWholeClass() {
        // 40 of class 0, 10 of class 1, 2 of class 2, 1 of class 3, interleaved.
        let labels = (0..<40).map { _ in 0 } + (0..<10).map { _ in 1 } + [2, 2, 3]
        let whole = set(labels.enumerated().sorted { ($0.offset * 7919) % 53 < ($1.offset * 7919) % 53 }.map(\.element))
        let (training, validation) = whole.stratifiedSplit(validationFraction: 0.1, seed: 3)
        func count(_ part: LabeledImages, _ label: Int) -> Int { part.labels.filter { $0 == label }.count }
        #expect([0, 1, 2, 3].map { count(validation, $0) } == [4, 1, 1, 0])
        #expect([0, 1, 2, 3].map { count(training, $0) } == [36, 9, 1, 1])
        // Each part keeps the original order (the images hold their original positions).
        for part in [training, validation] { #expect(part.images.array == part.images.array.sorted()) }
        // Together they are the whole set, each example once.
        #expect((training.images.array + validation.images.array).sorted() == whole.images.array.sorted())
    }

    @Test func theSeedDecides() {
        let whole = set((0..<200).map { $0 % 4 })
        let a = whole.stratifiedSplit(validationFraction: 0.25, seed: 11).validation.images.array
        let b = whole.stratifiedSplit(validationFraction: 0.25, seed: 11).validation.images.array
        let c = whole.stratifiedSplit(validationFraction: 0.25, seed: 12).validation.images.array
        #expect(a == b && a != c && a.count == 52)
        #expect(whole.stratifiedSplit(validationFraction: 0, seed: 1).validation.count == 0)
    }
}
