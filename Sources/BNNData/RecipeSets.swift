import Foundation

/// The sets MNIST's default recipes train against, beside MNIST (README, "Letters, symbols and unusual
/// digits"): printed letters and symbols as outliers, and digits printed in fonts and written with a pen as
/// added training digits. They live in the repository's `DevSets/outliers` as 64×64 renderings and as the
/// 28×28 copies read here, each image already prepared the way `bnn predict` prepares a digit
/// (`DigitNormalizer`) and rounded to grey levels, so that training reads them as fast as MNIST.
/// `bnn prepare-digits` makes the copies from the renderings (DevSets/outliers/README.md).
public enum RecipeSets {
    /// The environment variable that names the folder when it is not found by itself.
    public static let environmentVariable = "BNN_RECIPE_SETS_DIR"

    /// The printed letters and symbols (no digits) that outlier exposure draws from.
    public static let outlierImages = "glyph-outliers-train-strict-28x28-images-idx3-ubyte.gz"
    /// The labelled digits added to MNIST's training split: printed in fonts, and written with a pen.
    public static let addedDigits: [(images: String, labels: String)] = [
        ("glyph-digits-train-28x28-images-idx3-ubyte.gz", "glyph-digits-train-labels-idx1-ubyte.gz"),
        ("stroke-digits-train-28x28-images-idx3-ubyte.gz", "stroke-digits-train-labels-idx1-ubyte.gz"),
    ]

    /// Every file the recipes read.
    public static var files: [String] { [outlierImages] + addedDigits.flatMap { [$0.images, $0.labels] } }

    /// The folders searched, in order: `$BNN_RECIPE_SETS_DIR` alone when it is set, else `DevSets/outliers`
    /// under the current directory, then `DevSets/outliers` of the clone this program was built from.
    public static func searchDirectories(environment: [String: String] = ProcessInfo.processInfo.environment,
                                         currentDirectory: String = FileManager.default.currentDirectoryPath) -> [URL] {
        if let named = environment[environmentVariable], !named.isEmpty {
            return [URL(fileURLWithPath: DataLocator.expandTilde(named, environment: environment))]
        }
        // This file is Sources/BNNData/RecipeSets.swift of the clone that was built.
        let clone = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folders = [URL(fileURLWithPath: currentDirectory), clone].map { $0.appendingPathComponent("DevSets/outliers") }
        return folders[0].standardizedFileURL == folders[1].standardizedFileURL ? [folders[0]] : folders
    }

    /// The first searched folder that holds every file, or an error that names the folders searched and
    /// the ways out.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> URL {
        let folders = searchDirectories(environment: environment, currentDirectory: currentDirectory)
        for folder in folders where files.allSatisfy({ FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }) {
            return folder
        }
        let first = folders[0]
        let missing = files.first { !FileManager.default.fileExists(atPath: first.appendingPathComponent($0).path) } ?? files[0]
        throw DataError.missingFile(
            path: first.appendingPathComponent(missing).path,
            hint: "the default MNIST recipe trains against the letters and digits of swift-bnn's DevSets/outliers, "
                + "searched in \(folders.map(\.path).joined(separator: " and ")); set \(environmentVariable) to that folder, "
                + "or train on MNIST alone with `bnn train --recipe mnist-only`")
    }
}
