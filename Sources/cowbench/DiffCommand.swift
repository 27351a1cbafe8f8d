import ArgumentParser
import CowbenchCore
import CowbenchExport
import Foundation

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two result directories figure by figure, with intervals and a Mann–Whitney test, as benchstat does.",
        discussion: "Exit status: 0 no significant change beyond --threshold, 2 a regression, 4 only improvements.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown, json }

    @Argument(help: "The result directory before the change.") var old: String
    @Argument(help: "The result directory after the change.") var new: String
    @Option(help: "Ignore changes smaller than this, e.g. 5%.") var threshold = "0%"
    @Option(help: "text, markdown or json.") var format: Format = .text

    var thresholdFraction: Double? {
        let t = threshold.hasSuffix("%") ? String(threshold.dropLast()) : threshold
        return Double(t).flatMap { $0 >= 0 ? $0 / 100 : nil }
    }

    func validate() throws {
        if thresholdFraction == nil { throw ValidationError("--threshold '\(threshold)' is not a percentage; write e.g. 5%") }
        for d in [old, new] where !FileSystem.isDirectory(d) {
            throw ValidationError("'\(d)' is not a directory of cowbench results")
        }
    }

    func run() throws {
        let diff = RunDiff.compute(old: try ReportCommand.load([old]), new: try ReportCommand.load([new]),
                                   threshold: thresholdFraction!)
        if diff.rows.isEmpty {
            throw SetupError("\(old) and \(new) share no driver, image, workload and mode to compare")
        }
        switch format {
        case .text: print(DiffTable.text(diff), terminator: "")
        case .markdown: print(DiffTable.markdown(diff), terminator: "")
        case .json: print(DiffTable.json(diff), terminator: "")
        }
        if diff.outcome != .noChange { throw ExitCode(Int32(diff.outcome.rawValue)) }
    }
}
