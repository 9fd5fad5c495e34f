import ArgumentParser
import BNN
import BNNReport
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of a model's accuracy and uncertainty (not built yet).")

    func run() throws {
        Console.error("bnn report is not available in this build yet")
        throw ExitCode(1)
    }
}
