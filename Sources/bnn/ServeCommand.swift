import ArgumentParser
import BNN
import BNNServer
import Foundation

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the draw-a-digit web demo (not built yet).")

    func run() throws {
        Console.error("bnn serve is not available in this build yet")
        throw ExitCode(1)
    }
}
