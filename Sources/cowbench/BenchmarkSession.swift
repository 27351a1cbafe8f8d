import ArgumentParser
import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation

/// Runs the harness over the drivers, interleaved round by round, and wires
/// results to the writer and the terminal table; `run` and `compare` differ
/// only in the driver list.
enum BenchmarkSession {
    static func execute(drivers: [String], options: BenchmarkOptions, placement: Placement,
                        global: GlobalOptions) throws {
        try stoppable(results: nil) {
            try global.beginRun()
            let seed = options.seed ?? UInt64.random(in: 1...999_999)
            let configs = try drivers.map { try options.configuration(driver: $0, placement: placement, seed: seed) }
            try preflight(configs, placement: placement, global: global)
            let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let out = options.out ?? ResultWriter.defaultDirectory(runID: runID)
            try ResultWriter.check(out, force: options.force)
            let writer = try ResultWriter(directory: out, replacing: options.force)
            let instances = try writer.stream("instances.csv", header: InstancesCSV.header())
            let rounds = configs.first?.rounds ?? 0
            Diagnostics.note("\(drivers.joined(separator: ", ")): \(options.instances) instances each, in \(rounds) round"
                + "\(rounds == 1 ? "" : "s") of \(options.block), order shuffled with --seed \(seed)")
            let bar = ProgressBar(label: "measuring")
            let progress = Harness.Progress(status: { ProgressBar.status($0) }, instances: { bar.update($0, $1) })
            let harness = Harness(configurations: configs, stateDirectory: global.stateDirectory, runID: runID,
                                  version: CowbenchVersion.string)
            let summaries: [RunSummary]
            do {
                summaries = try harness.run(progress: progress, afterRound: { all in
                    // A driver with no measured instance has no summary to write.
                    let sofar = all.filter { $0.instances + $0.failures > 0 }
                    guard !sofar.isEmpty else { return }
                    try writer.write("summary.csv", SummaryCSV.render(sofar))
                    try writer.write("rounds.csv", RoundsCSV.render(sofar))
                }) { result, env in
                    try instances.append(InstancesCSV.row(result, env))
                }
            } catch {
                writer.discardIfEmpty()
                throw error
            }
            print(TerminalTable.render(summaries), terminator: "")
            try ReportCommand.writeAlongside(writer.directory)
            print("results: \(writer.directory)/instances.csv, summary.csv, rounds.csv, report.md, report.html")
            try exitIfInterrupted(results: writer.directory)
            let failures = summaries.reduce(0) { $0 + $1.failures }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    /// Refuses, before anything is made, what cannot work: a driver the host
    /// lacks, an image larger than its scratch filesystem, a state directory
    /// without room for one run's scratch filesystems.
    static func preflight(_ configs: [RunConfiguration], placement: Placement, global: GlobalOptions) throws {
        let catalog = ImageCatalog(stateDirectory: global.stateDirectory)
        for c in configs { try Preflight.requireDriver(c.driver, root: c.root, layers: try catalog.layerCount(c.image)) }
        for image in Set(configs.map(\.image)).sorted() {
            guard let bytes = try catalog.estimatedBytes(image) else { continue }
            try Preflight.requireImageFits(image, bytes: bytes, scratchBytes: placement.root == nil ? placement.scratchBytes : nil,
                                           stateDirectory: global.stateDirectory)
        }
        if placement.root == nil {
            // Drivers of one run (one sweep point) have their scratch filesystems at once.
            let drivers = Set(configs.map(\.driver)).count
            try Preflight.requireSpace(global.stateDirectory, bytes: UInt64(drivers) * StateSpace.perScratch,
                                       for: "\(drivers) scratch filesystem\(drivers == 1 ? "" : "s") and the image",
                                       flag: "--state-dir")
        }
    }
}

