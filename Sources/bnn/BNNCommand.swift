import ArgumentParser
import BNN
import BNNData
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
        subcommands: [DemoCommand.self, TrainCommand.self, CalibrateCommand.self, EvaluateCommand.self, PredictCommand.self, ReportCommand.self, ServeCommand.self, BenchCommand.self, PrepareDigitsCommand.self]
    )

    /// ArgumentParser's `main()`, except that a command line with a mistyped option is answered with
    /// that option and the closest real one ("did you mean '--model'?"), where ArgumentParser would
    /// complain about whatever the typo left missing.
    static func main() {
        // Freed tensors go back to the system (glibc otherwise keeps them; `Tensor.mapLargeAllocations`).
        Tensor.mapLargeAllocations()
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            guard let (subcommand, message) = unknownOption(in: arguments) else { exit(withError: error) }
            // ArgumentParser's layout for a usage error, with the subcommand's usage line.
            FileHandle.standardError.write(Data("""
                Error: \(message)
                Usage: \(usageString(for: subcommand))
                  See 'bnn \(subcommand._commandName) --help' for more information.

                """.utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    /// The subcommand and a one-line message for the first `--option` it does not have, or nil.
    static func unknownOption(in arguments: [String]) -> (ParsableCommand.Type, String)? {
        guard let name = arguments.first,
              let subcommand = configuration.subcommands.first(where: { $0._commandName == name }) else { return nil }
        let known = optionNames(of: subcommand)
        for argument in arguments.dropFirst().prefix(while: { $0 != "--" }) where argument.hasPrefix("--") {
            let option = String(argument.split(separator: "=", maxSplits: 1)[0])
            guard !known.contains(option) else { continue }
            let closest = known.map { (name: $0, distance: editDistance(option, $0)) }.min { $0.distance < $1.distance }
            // Up to two edits (a swapped pair counts as one), and less than half the name.
            if let closest, closest.distance <= min(2, (option.count - 2) / 2) {
                return (subcommand, "Unknown option '\(option)'; did you mean '\(closest.name)'?")
            }
            return (subcommand, "Unknown option '\(option)'")
        }
        return nil
    }

    /// The long options of `subcommand`, read from its help screen (one option per line).
    static func optionNames(of subcommand: ParsableCommand.Type) -> Set<String> {
        let help = helpMessage(for: subcommand, includeHidden: true, columns: 10_000)
        var names: Set<String> = ["--help"]
        for line in help.split(separator: "\n") {
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ",")) }
            // "  --model <model>  …" or "  -o, --output <output>  …"
            guard let first = words.first, first.hasPrefix("-") else { continue }
            if let long = words.prefix(2).first(where: { $0.hasPrefix("--") && $0.count > 2 }) { names.insert(long) }
        }
        return names
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
