import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation
import Glibc

/// Writes result files as the run goes: each instance row is written with
/// write(2) straight away, so a crash loses at most the instance in flight.
final class ResultWriter {
    let directory: String
    private let instances: FileDescriptor

    /// Creates the output directory and `instances.csv`, failing before any
    /// run starts if the location is not writable.
    init(directory: String) throws {
        self.directory = directory
        do {
            try FileSystem.createDirectories(directory)
            instances = try FileDescriptor(directory + "/instances.csv", flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        } catch {
            throw SetupError("cannot write results to \(directory): \(error); pass --out with a writable directory")
        }
        try append(InstancesCSV.header())
    }

    func append(_ row: String) throws { try FileSystem.writeAll(Array(row.utf8), to: instances) }

    func writeSummary(_ summaries: [RunSummary]) throws {
        try FileSystem.write(SummaryCSV.render(summaries), to: directory + "/summary.csv")
    }

    static func defaultDirectory(runID: String) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return FileManager.default.currentDirectoryPath + "/results/\(f.string(from: Date()))-\(HostInfo.hostname)-\(runID)"
    }
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
struct ProgressBar: Sendable {
    let label: String
    let enabled = isatty(2) == 1

    func update(_ done: Int, _ total: Int) {
        guard enabled, done == total || done % max(1, total / 100) == 0 else { return }
        let width = 30, filled = total > 0 ? done * width / total : 0
        let line = "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total)"
            + (done == total ? "\n" : "")
        FileHandle.standardError.write(Data(line.utf8))
    }
}
