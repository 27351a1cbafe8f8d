import ArgumentParser
import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation

struct ClaimsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claims",
        abstract: "Test what the Docker and kernel docs claim about each driver, with short experiments on this host.",
        discussion: """
            Each claim is measured and compared with a stated threshold: holds, does not hold, or cannot test here (with why). \
            Claims: \(Claims.ids.joined(separator: ", ")). About two minutes for all of them.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Comma-separated claims to check (default: all): \(Claims.ids.joined(separator: ", ")).") var only: String?
    @Flag(help: "Overwrite what --out already holds.") var force = false
    @Option(help: "Directory for claims.csv and the report (default results/<date>-<host>-<id>).") var out: String?
    @Option(name: .customLong("label"), help: "KEY=VALUE recorded with every row (repeatable), as for compare.") var labels: [String] = []

    var selected: [any ClaimCheck] {
        guard let only else { return Claims.all }
        let ids = only.split(separator: ",").map(String.init)
        return Claims.all.filter { ids.contains($0.id) }
    }

    func validate() throws {
        try BenchmarkOptions.validateLabels(labels)
        if let only {
            for id in only.split(separator: ",").map(String.init) where !Claims.ids.contains(id) {
                throw ValidationError("--only: '\(id)' is not a claim; choose from \(Claims.ids.joined(separator: ", "))")
            }
        }
    }

    func run() throws {
        try stoppable(results: nil) {
            try global.beginRun()
            // The exhaustion claim's 512M filesystem is the largest that lives at once.
            try Preflight.requireSpace(global.stateDirectory, bytes: 3 * StateSpace.perScratch + (512 << 20),
                                       for: "the claims' scratch filesystems", flag: "--state-dir")
            let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let directory = out ?? ResultWriter.defaultDirectory(runID: runID)
            try ResultWriter.check(directory, force: force)
            let writer = try ResultWriter(directory: directory, replacing: force)
            let checks = selected
            let context = ClaimContext(stateDirectory: global.stateDirectory, runID: runID, version: CowbenchVersion.string,
                                       status: { ProgressBar.status($0) })
            var done: [ClaimResult] = []
            let results = try Claims.run(checks, context: context) { r in
                done.append(r)
                ProgressBar.clearStatus()
                Diagnostics.note("claim \(done.count)/\(checks.count) \(r.id): \(r.verdict.rawValue) (\(Int(r.seconds.rounded())) s)")
                try writer.write("claims.csv", ClaimsCSV.render(done, host: HostInfo.hostname, kernel: HostInfo.kernelRelease,
                                                                 version: CowbenchVersion.string, labels: labels.joined(separator: ";")))
            }
            try exitIfInterrupted(results: writer.directory)
            print("claims on \(HostInfo.hostname), kernel \(HostInfo.kernelRelease):")
            print(ClaimsTable.render(results), terminator: "")
            try ReportCommand.writeAlongside(writer.directory)
            print("results: \(writer.directory)/claims.csv, report.md, report.html")
        }
    }
}
