import Foundation
import Testing
@testable import BNN
@testable import BNNData

@Suite struct MNISTDataTests {
    /// Writes a small MNIST-shaped folder (train 30 images, test 12) into `folder/mnist`.
    func writeSmallMNIST(in folder: TemporaryFolder, compressed: Bool = true) throws {
        let mnist = folder.url.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: mnist, withIntermediateDirectories: true)
        let suffix = compressed ? ".gz" : ""
        try syntheticImages(count: 30).write(to: mnist.appendingPathComponent(MNIST.trainImagesName + suffix), compressed: compressed)
        try syntheticLabels(count: 30).write(to: mnist.appendingPathComponent(MNIST.trainLabelsName + suffix), compressed: compressed)
        try syntheticImages(count: 12).write(to: mnist.appendingPathComponent(MNIST.testImagesName + suffix), compressed: compressed)
        try syntheticLabels(count: 12).write(to: mnist.appendingPathComponent(MNIST.testLabelsName), compressed: false)
    }

    @Test func splitsTrainingFileIntoTrainAndValidation() throws {
        let folder = try TemporaryFolder()
        try writeSmallMNIST(in: folder)
        var warnings: [String] = []
        let mnist = try MNIST.load(dataDirectory: folder.url.path, validationCount: 10, download: false,
                                   environment: [:], log: { warnings.append($0) })
        #expect(mnist.train.count == 20 && mnist.validation.count == 10 && mnist.test.count == 12)
        #expect(mnist.train.expandedImages().shape == [20, 784])
        #expect(mnist.train.labels == (0..<20).map { $0 % 10 })
        #expect(mnist.validation.labels == (20..<30).map { $0 % 10 })
        // The validation set is the *last* images of the training file.
        let full = syntheticImages(count: 30).unitTensor()
        #expect(mnist.validation.images[0] == full[20 * 784])
        #expect(mnist.validation.images[9 * 784 + 783] == full[29 * 784 + 783])
        #expect(mnist.train.expandedImages().array == Array(full.array[0..<(20 * 784)]))
        // Training reads the file's bytes (a quarter of the memory); scoring and calibration read floats.
        #expect(mnist.train.isHeldAsGreyLevels && !mnist.validation.isHeldAsGreyLevels && !mnist.test.isHeldAsGreyLevels)
        // Synthetic files differ from the published ones: a warning per file, never an error.
        #expect(warnings.count == 4)
        #expect(warnings.allSatisfy { $0.hasPrefix("warning:") })
    }

    /// `loadTest` reads the test pair only: it works without the training files and names a missing test file.
    @Test func testSplitLoadsWithoutTrainingFiles() throws {
        let folder = try TemporaryFolder()
        try writeSmallMNIST(in: folder)
        let mnist = folder.url.appendingPathComponent("mnist")
        try FileManager.default.removeItem(at: mnist.appendingPathComponent(MNIST.trainImagesName + ".gz"))
        let test = try MNIST.loadTest(dataDirectory: folder.url.path, download: false, verifyChecksums: false, environment: [:])
        #expect(test.count == 12 && test.images.shape == [12, 784])
        #expect(test.labels == (0..<12).map { $0 % 10 })
        #expect(test.images.array == syntheticImages(count: 12).unitTensor().array)

        try FileManager.default.removeItem(at: mnist.appendingPathComponent(MNIST.testLabelsName))
        let cache = try TemporaryFolder()
        let error = dataError {
            _ = try MNIST.loadTest(dataDirectory: folder.url.path, download: false, environment: ["XDG_CACHE_HOME": cache.url.path])
        }
        guard case .missingFile = error else { Issue.record("expected missingFile, got \(String(describing: error))"); return }
        #expect(error!.description.contains(MNIST.testLabelsName))
    }

    @Test func environmentVariableIsUsedWhenNoExplicitFolder() throws {
        let folder = try TemporaryFolder()
        try writeSmallMNIST(in: folder, compressed: false)
        let mnist = try MNIST.load(validationCount: 5, download: false, verifyChecksums: false,
                                   environment: ["BNN_DATA_DIR": folder.url.path])
        #expect(mnist.train.count == 25)
    }

    @Test func missingDataNamesFolderAndHint() throws {
        let folder = try TemporaryFolder()
        let cache = try TemporaryFolder()
        let error = dataError {
            _ = try MNIST.load(dataDirectory: folder.url.path, download: false, environment: ["XDG_CACHE_HOME": cache.url.path])
        }
        guard case .missingFile = error else { Issue.record("expected missingFile, got \(String(describing: error))"); return }
        let message = error!.description
        for hint in MNIST.fileNames + ["data folder", "BNN_DATA_DIR"] { #expect(message.contains(hint), "no \(hint) in: \(message)") }
        #expect(!message.contains("--"), "a library error names no command-line flag: \(message)")
        #expect(message.contains(folder.url.path))
    }

    @Test func cacheFolderResolution() {
        #expect(DataLocator.cacheDirectory(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"]).path == "/x/cache/bnn")
        #expect(DataLocator.cacheDirectory(environment: ["HOME": "/home/u"]).path == "/home/u/.cache/bnn")
        let explicit = DataLocator(dataDirectory: "/explicit", environment: ["BNN_DATA_DIR": "/env", "HOME": "/h"])
        #expect(explicit.dataDirectory.path == "/explicit")
        #expect(explicit.searchDirectories.map(\.path) == ["/explicit", "/h/.cache/bnn"])
        #expect(DataLocator(environment: ["BNN_DATA_DIR": "/env", "HOME": "/h"]).dataDirectory.path == "/env")
        #expect(DataLocator(environment: ["HOME": "/h"]).searchDirectories.map(\.path) == ["/h/.cache/bnn"])
    }

    @Test func filesInCacheAreFoundWhenDataFolderLacksThem() throws {
        let data = try TemporaryFolder()
        let cache = try TemporaryFolder()
        try writeSmallMNIST(in: cache)
        // The cache folder is XDG_CACHE_HOME/bnn.
        try FileManager.default.moveItem(at: cache.url.appendingPathComponent("mnist"),
                                         to: cache.url.appendingPathComponent("bnn-tmp"))
        try FileManager.default.createDirectory(at: cache.url.appendingPathComponent("bnn"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: cache.url.appendingPathComponent("bnn-tmp"),
                                         to: cache.url.appendingPathComponent("bnn/mnist"))
        let mnist = try MNIST.load(dataDirectory: data.url.path, validationCount: 10, download: false, verifyChecksums: false,
                                   environment: ["XDG_CACHE_HOME": cache.url.path])
        #expect(mnist.test.count == 12)
    }

    @Test func malformedFileIsRefused() throws {
        let folder = try TemporaryFolder()
        try writeSmallMNIST(in: folder)
        let labels = folder.url.appendingPathComponent("mnist/" + MNIST.testLabelsName)
        try Data(syntheticLabels(count: 11).encoded()).write(to: labels)
        let error = dataError { _ = try MNIST.load(dataDirectory: folder.url.path, validationCount: 10, download: false, environment: [:]) }
        guard case .wrongDimensions = error else { Issue.record("expected wrongDimensions, got \(String(describing: error))"); return }
        #expect(error!.description.contains(MNIST.testLabelsName))
    }

    @Test func checksumWarnings() {
        let published = MNIST.publishedChecksums[MNIST.testImagesName]!
        #expect(MNIST.checksumWarning(name: MNIST.testImagesName, path: "p", sha256: published) == nil)
        #expect(MNIST.checksumWarning(name: MNIST.testImagesName, path: "p", sha256: String(repeating: "0", count: 64))?.contains("not the published") == true)
        let rebuild = MNIST.knownRebuilds[MNIST.trainImagesName]!.checksum
        #expect(MNIST.checksumWarning(name: MNIST.trainImagesName, path: "p", sha256: rebuild)?.contains("rebuild") == true)
        #expect(MNIST.checksumWarning(name: "other", path: "p", sha256: rebuild) == nil)
    }

    @Test func downloadVerifiesAndRenamesIntoPlace() throws {
        let cache = try TemporaryFolder()
        let content = syntheticLabels(count: 20).encoded()
        let served = Data(Zlib.compress(content))
        var requested: [String] = []
        // A name with no published checksum: accepted after structural checks.
        let url = try MNISTDownloader.download(
            name: "extra-labels-idx1-ubyte", into: cache.url.appendingPathComponent("mnist"),
            mirrors: ["https://a.invalid/", "https://b.invalid/"],
            fetch: { url in
                requested.append(url.absoluteString)
                if url.host == "a.invalid" { throw DataError.downloadFailed(path: url.absoluteString, reason: "offline") }
                return served
            }, log: { _ in })
        #expect(requested == ["https://a.invalid/extra-labels-idx1-ubyte.gz", "https://b.invalid/extra-labels-idx1-ubyte.gz"])
        #expect(url.lastPathComponent == "extra-labels-idx1-ubyte.gz")
        #expect(try IDXFile.read(from: url).bytes == syntheticLabels(count: 20).bytes)
        // No temporary files left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        #expect(leftovers == ["extra-labels-idx1-ubyte.gz"])
    }

    @Test func downloadWithWrongChecksumOrMalformedContentIsRefused() throws {
        let cache = try TemporaryFolder()
        let folder = cache.url.appendingPathComponent("mnist")
        let error = dataError {
            _ = try MNISTDownloader.download(
                name: MNIST.testLabelsName, into: folder, mirrors: ["https://a.invalid/", "https://b.invalid/"],
                fetch: { url in
                    url.host == "a.invalid" ? Data(Zlib.compress(syntheticLabels(count: 10_000).encoded())) : Data([1, 2, 3, 4])
                }, log: { _ in })
        }
        guard case .downloadFailed = error else { Issue.record("expected downloadFailed, got \(String(describing: error))"); return }
        #expect(error!.description.contains("SHA-256 mismatch"))
        #expect(error!.description.contains("bad magic"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent(MNIST.testLabelsName + ".gz").path))
    }

    /// With no network, the error names both mirrors and their reasons, and gives its hint (all four files,
    /// `--data-dir`, `BNN_DATA_DIR`) once, on one line.
    @Test func offlineDownloadErrorNamesEveryMirrorOnce() throws {
        let cache = try TemporaryFolder()
        let error = dataError {
            _ = try MNISTDownloader.download(
                name: MNIST.testLabelsName, into: cache.url.appendingPathComponent("mnist"),
                mirrors: ["https://a.invalid/", "https://b.invalid/"],
                fetch: { url in throw DataError.downloadFailed(path: url.absoluteString, reason: "Could not resolve host") },
                log: { _ in })
        }
        let message = error?.description ?? ""
        #expect(message.contains("https://a.invalid/\(MNIST.testLabelsName).gz: Could not resolve host"))
        #expect(message.contains("https://b.invalid/\(MNIST.testLabelsName).gz: Could not resolve host"))
        #expect(message.components(separatedBy: "no network?").count == 2, "\(message)")
        // What to do instead: the four files and the two ways to name their folder.
        for hint in MNIST.fileNames + ["data folder", "BNN_DATA_DIR"] { #expect(message.contains(hint), "no \(hint) in: \(message)") }
        #expect(error.map(MNIST.asksForFiles) == true)
        #expect(!message.contains("\n"))
    }

    @Test func whiteNoiseIsSeededAndInRange() {
        let a = WhiteNoise.images(count: 10, seed: 42)
        let b = WhiteNoise.images(count: 10, seed: 42)
        #expect(a.images.shape == [10, 784] && a.rows == 28 && a.columns == 28)
        #expect(a.images.array == b.images.array)
        #expect(a.images.array.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = a.images.array.reduce(0, +) / Float(a.images.count)
        #expect(abs(mean - 0.5) < 0.03)
        #expect(WhiteNoise.images(count: 10, seed: 43).images.array != a.images.array)
    }

    @Test func subsetByIndices() {
        let set = LabeledImages(images: Tensor(shape: [3, 2], values: [0, 1, 2, 3, 4, 5]), labels: [7, 8, 9], rows: 1, columns: 2)
        let picked = set.subset(indices: [2, 0, 2])
        #expect(picked.labels == [9, 7, 9])
        #expect(picked.images.array == [4, 5, 0, 1, 4, 5])
        #expect(set.subset(1..<3).images.array == [2, 3, 4, 5])
    }

    // MARK: Real data (BNN_DATA_DIR)

    @Test func realMNISTLoadsWithShapesRangesAndWarnings() throws {
        guard let directory = realDataDirectory() else { return }
        var warnings: [String] = []
        let mnist = try MNIST.load(dataDirectory: directory, download: false, log: { warnings.append($0) })
        #expect(mnist.train.count == 55_000 && mnist.validation.count == 5_000 && mnist.test.count == 10_000)
        #expect(mnist.train.expandedImages().shape == [55_000, 784] && mnist.test.images.shape == [10_000, 784])
        for set in [mnist.train, mnist.validation, mnist.test] {
            let pixels = set.expandedImages()
            #expect(pixels.buffer.min()! == 0 && pixels.buffer.max()! == 1)
            #expect(Set(set.labels) == Set(0..<10))
        }
        // Only the rebuilt training images differ from the published checksums: a warning, not an error.
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains(MNIST.trainImagesName) == true)
    }

    @Test func realTestSetChecksumsMatchREADME() throws {
        guard let directory = realDataDirectory() else { return }
        for name in [MNIST.testImagesName, MNIST.testLabelsName] {
            let url = try #require(DataLocator.existingFile(named: name, in: URL(fileURLWithPath: directory).appendingPathComponent("mnist")))
            #expect(SHA256.hash(try IDXFile.readContent(of: url)).hexString == MNIST.publishedChecksums[name])
        }
    }

    @Test func realNotMNIST() throws {
        guard let directory = realDataDirectory() else { return }
        guard let images = try NotMNIST.loadImages(dataDirectory: directory) else { return }
        #expect(images.count == 10_000 && images.images.shape == [10_000, 784])
        let empty = try TemporaryFolder()
        #expect(try NotMNIST.loadImages(dataDirectory: empty.url.path, environment: ["HOME": empty.url.path]) == nil)
    }
}
