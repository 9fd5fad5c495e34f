import Foundation
@testable import BNN
@testable import BNNData

/// A fresh temporary folder for one test, removed when the value is released.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("bnn-data-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes bytes to `name` in the folder (creating sub-folders) and returns its URL.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file
    }
}

/// The error thrown by `body`, or nil.
func dataError(_ body: () throws -> Void) -> DataError? {
    do {
        try body()
        return nil
    } catch let error as DataError {
        return error
    } catch {
        return nil
    }
}

/// `BNN_DATA_DIR` when set and holding `mnist/`, else nil (real-data tests then return early).
func realDataDirectory() -> String? {
    guard let directory = ProcessInfo.processInfo.environment["BNN_DATA_DIR"], !directory.isEmpty,
          FileManager.default.fileExists(atPath: directory + "/mnist") else { return nil }
    return directory
}

/// A small synthetic image set: `count` images of `rows`×`columns`, pixel (i, p) = (i·7 + p) mod 256.
func syntheticImages(count: Int, rows: Int = 28, columns: Int = 28) -> IDXFile {
    let size = rows * columns
    let bytes = (0..<(count * size)).map { UInt8(truncatingIfNeeded: ($0 / size) * 7 + $0 % size) }
    return IDXFile(dimensions: [count, rows, columns], bytes: bytes)
}

/// Labels 0, 1, …, 9, 0, 1, … for `count` images.
func syntheticLabels(count: Int) -> IDXFile {
    IDXFile(dimensions: [count], bytes: (0..<count).map { UInt8($0 % 10) })
}
