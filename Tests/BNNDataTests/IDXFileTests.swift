import Foundation
import Testing
@testable import BNN
@testable import BNNData

@Suite struct IDXFileDataTests {
    @Test func roundTripRawAndGzip() throws {
        let folder = try TemporaryFolder()
        let file = syntheticImages(count: 5, rows: 4, columns: 3)
        for compressed in [false, true] {
            let url = folder.url.appendingPathComponent(compressed ? "images.gz" : "images")
            try file.write(to: url, compressed: compressed)
            let raw = try [UInt8](Data(contentsOf: url))
            #expect(Zlib.isGzip(raw) == compressed)
            let read = try IDXFile.read(from: url)
            #expect(read == file)
        }
    }

    @Test func headerLayoutIsBigEndian() {
        let file = IDXFile(dimensions: [2, 1, 1], bytes: [0, 255])
        #expect(file.encoded() == [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 255])
        #expect(IDXFile(dimensions: [258], bytes: [UInt8](repeating: 0, count: 258)).encoded().prefix(8) == [0, 0, 8, 1, 0, 0, 1, 2])
    }

    @Test func unitTensorDividesBy255() {
        let file = IDXFile(dimensions: [2, 1, 2], bytes: [0, 1, 128, 255])
        let tensor = file.unitTensor()
        #expect(tensor.shape == [2, 2])
        #expect(tensor.array == [0, Float(1) / 255, Float(128) / 255, 1])
        // A range of items converts only those (how MNIST splits train and validation without a copy).
        let second = file.unitTensor(rows: 1..<2)
        #expect(second.shape == [1, 2])
        #expect(second.array == [Float(128) / 255, 1])
        #expect(file.unitTensor(rows: 0..<0).shape == [0, 2])
    }

    @Test func emptyFileIsTruncated() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write([], to: "empty-idx3-ubyte")
        let error = dataError { _ = try IDXFile.read(from: url) }
        guard case .truncated = error else { Issue.record("expected truncated, got \(String(describing: error))"); return }
        #expect(error!.description.contains("empty-idx3-ubyte"))
        #expect(error!.description.contains("empty"))
    }

    @Test func truncatedHeader() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write([0, 0, 8, 3, 0, 0, 0, 10, 0, 0], to: "short-header")
        let error = dataError { _ = try IDXFile.read(from: url) }
        guard case .truncated = error else { Issue.record("expected truncated, got \(String(describing: error))"); return }
        #expect(error!.description.contains("short-header"))
    }

    @Test func truncatedBodyNamesCountsAndBytes() throws {
        let folder = try TemporaryFolder()
        var bytes = idxHeader([10000, 28, 28])
        bytes += [UInt8](repeating: 7, count: 1200)
        let url = try folder.write(bytes, to: "t10k-images-idx3-ubyte")
        let error = dataError { _ = try IDXFile.read(from: url) }
        guard case .truncated = error else { Issue.record("expected truncated, got \(String(describing: error))"); return }
        let message = error!.description
        #expect(message.contains("t10k-images-idx3-ubyte: truncated: header says 10000 images of 28×28 (7840000 bytes) but only 1200 bytes follow"))
    }

    @Test func headerClaimingMoreImagesThanPresent() throws {
        let folder = try TemporaryFolder()
        var bytes = syntheticImages(count: 3, rows: 2, columns: 2).encoded()
        bytes[7] = 4  // the header now says 4 images
        let url = try folder.write(Zlib.compress(bytes), to: "claims-more.gz")
        let error = dataError { _ = try IDXFile.read(from: url) }
        guard case .truncated = error else { Issue.record("expected truncated, got \(String(describing: error))"); return }
        #expect(error!.description.contains("claims-more.gz"))
        #expect(error!.description.contains("4 images of 2×2"))
    }

    @Test func trailingBytesAreRefused() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write(syntheticLabels(count: 5).encoded() + [1, 2, 3], to: "labels-idx1-ubyte")
        let error = dataError { _ = try IDXFile.read(from: url) }
        guard case .trailingBytes = error else { Issue.record("expected trailingBytes, got \(String(describing: error))"); return }
        #expect(error!.description.contains("labels-idx1-ubyte"))
        #expect(error!.description.contains("3 extra"))
    }

    @Test func wrongMagic() throws {
        let folder = try TemporaryFolder()
        for (name, bytes) in [("float-type", [UInt8]([0, 0, 0x0d, 1, 0, 0, 0, 0])),
                              ("png-ish", [0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
                              ("zero-dims", [0, 0, 8, 0])] {
            let url = try folder.write(bytes, to: name)
            let error = dataError { _ = try IDXFile.read(from: url) }
            guard case .badMagic = error else { Issue.record("\(name): expected badMagic, got \(String(describing: error))"); continue }
            #expect(error!.description.contains(name))
        }
    }

    @Test func corruptGzipFlippedBytes() throws {
        let folder = try TemporaryFolder()
        var gz = Zlib.compress(syntheticImages(count: 50).encoded())
        for index in (gz.count / 2)..<(gz.count / 2 + 8) { gz[index] ^= 0xa5 }
        let url = try folder.write(gz, to: "flipped.gz")
        let error = dataError { _ = try IDXFile.read(from: url) }
        // Damage either breaks the stream or makes it inflate past what the IDX header inside declares.
        switch error {
        case .corruptGzip?, .tooLarge?: break
        default: Issue.record("expected corruptGzip or tooLarge, got \(String(describing: error))"); return
        }
        #expect(error!.description.contains("flipped.gz"))
    }

    @Test func corruptGzipCutStream() throws {
        let folder = try TemporaryFolder()
        let gz = Zlib.compress(syntheticImages(count: 50).encoded())
        for cut in [2, 10, gz.count / 2, gz.count - 4, gz.count - 1] {
            let url = try folder.write(Array(gz.prefix(cut)), to: "cut-\(cut).gz")
            let error = dataError { _ = try IDXFile.read(from: url) }
            guard case .corruptGzip = error else { Issue.record("cut \(cut): expected corruptGzip, got \(String(describing: error))"); continue }
            #expect(error!.description.contains("cut-\(cut).gz"))
        }
    }

    @Test func gzipWithTrailingGarbageIsRefused() throws {
        let gz = Zlib.compress(syntheticLabels(count: 10).encoded()) + [0, 1, 2]
        #expect(throws: DataError.self) { _ = try Zlib.decompress(gz, path: "garbage.gz") }
    }

    @Test func concatenatedGzipMembersAreOneStream() throws {
        let content = syntheticLabels(count: 100).encoded()
        let gz = Zlib.compress(Array(content[0..<40])) + Zlib.compress(Array(content[40...]))
        #expect(try Zlib.decompress(gz, path: "two-members.gz") == content)
    }

    @Test func missingFileNamesPathAndHint() {
        let error = dataError { _ = try IDXFile.read(from: URL(fileURLWithPath: "/nonexistent/bnn/train-images-idx3-ubyte")) }
        guard case .missingFile = error else { Issue.record("expected missingFile, got \(String(describing: error))"); return }
        #expect(error!.description.contains("/nonexistent/bnn/train-images-idx3-ubyte"))
        #expect(error!.description.contains("expected an IDX file"))
    }

    @Test func imagesFromTensorRoundTrip() {
        let tensor = Tensor(shape: [1, 4], values: [0, 0.5, 1, 2])
        let file = IDXFile(images: tensor, rows: 2, columns: 2)
        #expect(file.bytes == [0, 128, 255, 255])
    }

    @Test func unlabeledImagesLoadChecksSize() throws {
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("ood.gz")
        try syntheticImages(count: 3, rows: 5, columns: 5).write(to: url, compressed: true)
        let error = dataError { _ = try UnlabeledImages.load(images: url) }
        guard case .wrongDimensions = error else { Issue.record("expected wrongDimensions, got \(String(describing: error))"); return }
        #expect(error!.description.contains("ood.gz"))
        let loaded = try UnlabeledImages.load(images: url, expectedRows: 5, expectedColumns: 5)
        #expect(loaded.count == 3 && loaded.images.shape == [3, 25])
    }

    /// `--ood` sets: an IDX file, one PNG/PGM image, or a folder of them (prepared like `bnn predict`'s
    /// input); anything else is refused with an error saying what is accepted.
    @Test func outOfDistributionSetsFromFilesAndFolders() throws {
        let folder = try TemporaryFolder()
        let idx = folder.url.appendingPathComponent("set.idx")
        try syntheticImages(count: 3).write(to: idx, compressed: false)
        #expect(try UnlabeledImages.load(outOfDistribution: idx.path).images.shape == [3, 784])

        // A dark bar on white paper, 40×30: normalised (inverted, cropped, centred) as a digit.
        var paper = [Float](repeating: 1, count: 40 * 30)
        for y in 5..<25 { for x in 18..<22 { paper[y * 40 + x] = 0 } }
        let bar = GreyImage(width: 40, height: 30, pixels: paper)
        let png = try folder.write(PNGEncoder.encode(bar), to: "letters/b.png")
        try folder.write(PNGEncoder.encode(GreyImage(width: 28, height: 28, pixels: [Float](repeating: 0, count: 784))), to: "letters/a.png")
        try folder.write(Array("not an image".utf8), to: "letters/notes.txt")
        let one = try UnlabeledImages.load(outOfDistribution: png.path)
        #expect(one.images.shape == [1, 784] && one.images.array == DigitNormalizer.normalize(bar))
        let set = try UnlabeledImages.load(outOfDistribution: png.deletingLastPathComponent().path)
        #expect(set.images.shape == [2, 784])
        #expect(Array(set.images.array[784...]) == DigitNormalizer.normalize(bar), "images are taken in name order: a.png, b.png")

        let text = try folder.write(Array("label,pixels\n".utf8), to: "table.csv")
        let error = dataError { _ = try UnlabeledImages.load(outOfDistribution: text.path) }
        guard case .badMagic = error else { Issue.record("expected badMagic, got \(String(describing: error))"); return }
        #expect(error!.description.contains("table.csv") && error!.description.contains("a PNG or PGM image, or a folder"), "\(error!)")
        let empty = folder.url.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(dataError { _ = try UnlabeledImages.load(outOfDistribution: empty.path) }?.description.contains("no .png or .pgm") == true)
    }
}

/// An IDX header (unsigned bytes) promising `dimensions`, for building truncated files.
func idxHeader(_ dimensions: [Int]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
    for size in dimensions {
        bytes += [UInt8(size >> 24 & 0xff), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)]
    }
    return bytes
}
