import ArgumentParser
import BNN
import BNNData
import Foundation

/// `bnn prepare-digits IN OUT`: an IDX image file of any size (or an image, or a folder of images) prepared
/// the way `bnn predict` prepares a digit (ink cropped, scaled to 20×20, centred by mass in 28×28), written
/// as a 28×28 IDX file of grey levels. Makes the 28×28 copies of the default recipe's sets (`RecipeSets`).
struct PrepareDigitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare-digits",
        abstract: "Prepare images as `predict` prepares a digit and write them as a 28×28 IDX file.",
        discussion: """
            Reads an IDX image file of any size (gzip or raw), a PNG/PGM image or a folder of them, prepares \
            each image the way MNIST was made (and `bnn predict` and the web page do), and writes the 28×28 \
            images as an IDX file, each value rounded to the nearest of 256 grey levels (gzip when OUTPUT ends \
            in .gz). Labels are unchanged: an IDX labels file of the input pairs with the output as it is.
            """)

    @Argument(help: ArgumentHelp("The images: an IDX file, an image or a folder of images.", valueName: "input"))
    var input: String
    @Argument(help: ArgumentHelp("The 28×28 IDX file to write (.gz for gzip).", valueName: "output"))
    var output: String

    func validate() throws {
        try refuseOverwritingInputs(output, option: "output", inputs: [input])
    }

    func run() throws {
        try runReportingErrors {
            let url = URL(fileURLWithPath: output)
            try AtomicFile.checkWritable(url)
            let prepared = try UnlabeledImages.load(outOfDistribution: input)
            let file = IDXFile(images: prepared.images, rows: prepared.rows, columns: prepared.columns)
            try file.write(to: url, compressed: url.pathExtension.lowercased() == "gz")
            Console.info("Wrote \(prepared.images.rows) images of \(prepared.rows)×\(prepared.columns) to \(output).")
        }
    }
}
