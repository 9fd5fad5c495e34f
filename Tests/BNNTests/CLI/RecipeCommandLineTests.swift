import Foundation
import Testing
@testable import BNN

/// `bnn train`'s default recipe on MNIST trains against the letters and added digits of DevSets/outliers
/// (`RecipeSets`), `--recipe mnist-only` on MNIST alone; where the sets are missing the error says where
/// they were looked for and the ways out.
extension CommandLineTests {
    @Test func recipeUsageErrorsAreNamed() throws {
        try expectUsageError(["train", "-o", "m.safetensors", "--recipe", "letters"], naming: "use default, mnist-only or seed")
        try expectUsageError(["train", "-o", "m.safetensors", "--recipe", "mnist-only", "--train", "x.csv"], naming: "--recipe mnist-only")
        try expectUsageError(["train", "-o", "m.safetensors", "--recipe", "mnist-only", "--outlier-pool-share", "0.5"],
                             naming: "--outlier-pool-share needs --outliers")
    }

    @Test func missingRecipeSetsAreNamed() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try run(["train", "--epochs", "1", "--output", folder.appendingPathComponent("m.safetensors").path],
                              environment: ["BNN_RECIPE_SETS_DIR": folder.path])
        expectCleanError(outcome, naming: folder.path, mentioning: ["BNN_RECIPE_SETS_DIR", "--recipe mnist-only", "glyph-outliers-train-strict-28x28"])
    }

    @Test(.enabled(if: dataDirectory != nil, "needs BNN_DATA_DIR with mnist/"))
    func defaultRecipeTrainsAgainstLettersAndMNISTOnlyDoesNot() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model.safetensors")
        // 1,100 of MNIST's 55,000 training digits: 2% of each set of added digits (200 of 10,000) comes with them.
        let common = ["--epochs", "1", "--hidden", "16", "--train-count", "1100", "--output", model.path]
        let letters = try run(["train"] + common)
        #expect(letters.status == 0, "train failed: \(letters.stderr)")
        #expect(letters.stderr.contains("on 1500 examples (1100 MNIST digits + 400 added)"), "\(letters.stderr)")
        let trained = try BayesianClassifier.load(from: model).training
        #expect(trained.recipe == "default" && trained.klWeight == TrainingConfiguration.againstLettersKLWeight)
        #expect(trained.augmentation == .digits && trained.outlierWeight == TrainingConfiguration.ownDataOutlierWeight && trained.outlierPoolShare == 0.5)
        #expect(trained.outlierSource == "glyph-outliers-train-strict-28x28-images-idx3-ubyte.gz")
        #expect(trained.extraTrainingSource == "glyph-digits-train-28x28-images-idx3-ubyte.gz,glyph-digits-train-labels-idx1-ubyte.gz, "
                + "stroke-digits-train-28x28-images-idx3-ubyte.gz,stroke-digits-train-labels-idx1-ubyte.gz")

        // Flags replace the recipe's parts: no outlier exposure at weight 0, the user's own added digits.
        let off = try run(["train", "--outlier-weight", "0", "--augmentation", "none", "--kl-weight", "0.2"] + common)
        #expect(off.status == 0, "train failed: \(off.stderr)")
        let withoutOutliers = try BayesianClassifier.load(from: model).training
        #expect(withoutOutliers.outlierWeight == 0 && withoutOutliers.outlierSource == nil && withoutOutliers.outlierPoolShare == nil)
        #expect(withoutOutliers.augmentation == nil && withoutOutliers.klWeight == 0.2 && withoutOutliers.extraTrainingSource != nil)

        let alone = try run(["train", "--recipe", "mnist-only"] + common)
        #expect(alone.status == 0, "train failed: \(alone.stderr)")
        #expect(alone.stderr.contains("on 1100 MNIST digits"), "\(alone.stderr)")
        var expected = TrainingConfiguration.recipe(named: "mnist-only")!
        (expected.epochs, expected.hidden) = (1, 16)
        #expect(try BayesianClassifier.load(from: model).training == expected)
    }
}
