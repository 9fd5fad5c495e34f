import ArgumentParser
import BNN
import Foundation

@main
struct BNNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bnn",
        abstract: "Bayesian neural networks that say \"I don't know\".",
        discussion: """
            Train a Bayesian classifier on MNIST, evaluate how well it refuses what is not a digit, and ask it \
            about your own images. Start with `bnn demo`.
            """,
        subcommands: [DemoCommand.self, TrainCommand.self, CalibrateCommand.self, EvaluateCommand.self, PredictCommand.self, ReportCommand.self, ServeCommand.self, BenchCommand.self]
    )
}
