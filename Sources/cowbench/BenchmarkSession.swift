import ArgumentParser
import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation

/// Runs the harness for each driver in turn and wires results to the writer
/// and the terminal table; `run` and `compare` differ only in the driver list.
enum BenchmarkSession {
    static func execute(drivers: [String], options: BenchmarkOptions, placement: DriverRootOptions,
                        global: GlobalOptions) throws {
        try global.beginRun()
        let configs = try drivers.map { try options.configuration(driver: $0, placement: placement) }
        let catalog = ImageCatalog(stateDirectory: global.stateDirectory)
        for c in configs { try Preflight.requireDriver(c.driver, root: c.root, layers: try catalog.layerCount(c.image)) }
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let out = options.out ?? ResultWriter.defaultDirectory(runID: runID)
        try Preflight.requireWritable(out, flag: "--out")
        let writer = try ResultWriter(directory: out)
        let instances = try writer.stream("instances.csv", header: InstancesCSV.header())
        var summaries: [RunSummary] = []
        for c in configs where !StopRequest.requested {
            let harness = Harness(configuration: c, stateDirectory: global.stateDirectory, runID: runID,
                                  version: CowbenchVersion.string)
            let bar = ProgressBar(label: c.driver.padding(8))
            let summary = try harness.run(progress: { bar.update($0, $1) }) { result, env in
                try instances.append(InstancesCSV.row(result, env))
            }
            summaries.append(summary)
            try writer.write("summary.csv", SummaryCSV.render(summaries))
        }
        print(TerminalTable.render(summaries), terminator: "")
        try ReportCommand.writeAlongside(writer.directory)
        print("results: \(writer.directory)/instances.csv, summary.csv, report.md, report.html")
        try exitIfInterrupted(results: writer.directory)
        let failures = summaries.reduce(0) { $0 + $1.failures }
        if failures > 0 { throw ExitCode(1) }
    }
}
