import ArgumentParser
import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Measure what cowbench adds: the same instances as a tight C loop and as a shell loop, in the same run.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Comma-separated drivers.") var drivers = DriverRegistry.defaultNames.joined(separator: ",")
    @Option(help: "Image for every loop.") var image = "busybox"
    @Option(parsing: .unconditional, help: "Instances per loop.") var instances = 200
    @Option(parsing: .unconditional, help: "Warm-up instances per loop, not counted.") var warmup = 3
    @Option(name: .customLong("scratch-size"), help: "Size of each sparse scratch filesystem image.") var scratchSize = "4G"
    @Option(help: "How each process is boxed, in cowbench and the C loop alike: container or chroot.") var isolation: Isolation = .container
    @Flag(help: "Overwrite what --out already holds.") var force = false
    @Option(help: "Directory for baseline.csv and instances.csv (default results/<date>-<host>-<id>).") var out: String?
    @Option(name: .customLong("label"), help: "KEY=VALUE recorded with every row (repeatable), as for compare.") var labels: [String] = []

    var driverList: [String] { DriverRegistry.splitSpecs(drivers) }

    func validate() throws {
        for d in driverList { try validateDriverName(d, flag: "--drivers") }
        if instances < 1 { throw ValidationError("--instances must be at least 1, not \(instances)") }
        if warmup < 0 { throw ValidationError("--warmup cannot be negative") }
        _ = try parseScratchSize(scratchSize)
        try BenchmarkOptions.validateLabels(labels)
    }

    func run() throws {
        try stoppable(results: nil) {
            try global.beginRun()
            let catalog = ImageCatalog(stateDirectory: global.stateDirectory)
            for d in driverList { try Preflight.requireDriver(d, root: nil, layers: try catalog.layerCount(image)) }
            if let bytes = try catalog.estimatedBytes(image) {
                try Preflight.requireImageFits(image, bytes: bytes, scratchBytes: ByteSize.parse(scratchSize), stateDirectory: global.stateDirectory)
            }
            let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let directory = out ?? ResultWriter.defaultDirectory(runID: runID)
            try ResultWriter.check(directory, force: force)
            let writer = try ResultWriter(directory: directory, replacing: force)
            let size = ByteSize.parse(scratchSize)!
            let instancesCSV = try writer.stream("instances.csv", header: InstancesCSV.header())
            var rows: [BaselineComparison] = []
            let block = 20
            for driver in driverList where !StopRequest.requested {
                Diagnostics.note("\(driver): C loop and cowbench in alternating blocks of \(block), then the shell loop; \(instances) instances each")
                let raw: RawLoopSession
                do {
                    raw = try RawLoopSession(driver: driver, image: image, warmup: warmup, stateDirectory: global.stateDirectory,
                                             runID: runID, scratchSize: size, isolation: isolation)
                } catch let e as RawLoopSession.NoRawReference {
                    Diagnostics.note("\(e)")
                    continue
                }
                defer { raw.close() }
                var row = BaselineComparison(driver: driver, baseline: raw.result)
                var c = RunConfiguration(driver: driver)
                c.labels = labels
                c.image = image
                c.instances = instances
                c.warmup = warmup
                c.scratchSize = size
                c.block = block
            c.isolation = isolation
                c.usageEvery = Int.max // one probe (instance 0), which add() leaves out: the C loop measures no space
                let session = try DriverSession(configuration: c, stateDirectory: global.stateDirectory, runID: runID,
                                                version: CowbenchVersion.string)
                defer { session.close() }
                let bar = ProgressBar(label: "\(driver.padding(8)) C + cowbench")
                var round = 0
                while session.remaining > 0 && !StopRequest.requested {
                    let n = min(block, session.remaining)
                    try raw.runBlock(n)
                    try session.runBlock(round: round, progress: { bar.update($0, instances) }) { result, env in
                        row.add(result)
                        try instancesCSV.append(InstancesCSV.row(result, env))
                    }
                    round += 1
                }
                guard !StopRequest.requested else { break }
                try raw.runShell(instances)
                row.update(raw.result)
                let summary = try session.finish()
                guard summary.instances > 0 else { continue }
                row.cowbenchSecondsPerInstance = summary.wallSeconds / Double(summary.instances)
                rows.append(row)
                try writer.write("baseline.csv", BaselineCSV.render(rows, host: HostInfo.hostname, kernel: HostInfo.kernelRelease,
                                                                    version: CowbenchVersion.string, image: image, instances: instances,
                                                                    labels: labels.joined(separator: ";")))
            }
            guard !rows.isEmpty else {
                try exitIfInterrupted(results: writer.directory)
                throw SetupError("no driver completed a baseline; nothing was written")
            }
            print(BaselineTable.render(rows), terminator: "")
            try ReportCommand.writeAlongside(writer.directory)
            print("results: \(writer.directory)/baseline.csv, instances.csv, report.md, report.html")
            try exitIfInterrupted(results: writer.directory)
        }
    }
}
