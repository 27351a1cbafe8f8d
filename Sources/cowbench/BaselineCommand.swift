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
    @Option(help: "Comma-separated drivers.") var drivers = DriverRegistry.names.joined(separator: ",")
    @Option(help: "Image for every loop.") var image = "busybox"
    @Option(help: "Instances per loop.") var instances = 200
    @Option(help: "Warm-up instances per loop, not counted.") var warmup = 3
    @Option(name: .customLong("scratch-size"), help: "Size of each sparse scratch filesystem image.") var scratchSize = "4G"
    @Option(help: "Directory for baseline.csv and instances.csv (default results/<date>-<host>-<id>).") var out: String?

    var driverList: [String] { drivers.split(separator: ",").map(String.init) }

    func validate() throws {
        for d in driverList { try validateDriverName(d, flag: "--drivers") }
        if instances < 1 { throw ValidationError("--instances must be at least 1, not \(instances)") }
        if warmup < 0 { throw ValidationError("--warmup cannot be negative") }
        guard ByteSize.parse(scratchSize) != nil else {
            throw ValidationError("--scratch-size '\(scratchSize)' is not a size; write e.g. 512M or 4G")
        }
    }

    func run() throws {
        try global.beginRun()
        let catalog = ImageCatalog(stateDirectory: global.stateDirectory)
        for d in driverList { try Preflight.requireDriver(d, root: nil, layers: try catalog.layerCount(image)) }
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let directory = out ?? ResultWriter.defaultDirectory(runID: runID)
        try Preflight.requireWritable(directory, flag: "--out")
        let writer = try ResultWriter(directory: directory)
        let size = ByteSize.parse(scratchSize)!
        let instancesCSV = try writer.stream("instances.csv", header: InstancesCSV.header())
        var rows: [BaselineComparison] = []
        for driver in driverList where !StopRequest.requested {
            FileHandle.standardError.write(Data("\(driver): C loop and shell loop, \(instances) instances each\n".utf8))
            let baseline = try Baseline.run(driver: driver, image: image, iterations: instances, warmup: warmup,
                                            stateDirectory: global.stateDirectory, runID: runID, scratchSize: size)
            var row = BaselineComparison(driver: driver, baseline: baseline)
            var c = RunConfiguration(driver: driver)
            c.image = image
            c.instances = instances
            c.warmup = warmup
            c.scratchSize = size
            let harness = Harness(configuration: c, stateDirectory: global.stateDirectory, runID: runID,
                                  version: CowbenchVersion.string)
            let bar = ProgressBar(label: "\(driver.padding(8)) cowbench")
            let progress = Harness.Progress(status: { ProgressBar.status($0) }, instances: { bar.update($0, $1) })
            guard let summary = try harness.run(progress: progress, onResult: { result, env in
                row.add(result)
                try instancesCSV.append(InstancesCSV.row(result, env))
            }).first, summary.instances > 0 else { continue }
            row.cowbenchSecondsPerInstance = summary.wallSeconds / Double(summary.instances)
            rows.append(row)
            try writer.write("baseline.csv", BaselineCSV.render(rows, host: HostInfo.hostname, kernel: HostInfo.kernelRelease,
                                                                version: CowbenchVersion.string, image: image, instances: instances))
        }
        print(BaselineTable.render(rows), terminator: "")
        try ReportCommand.writeAlongside(writer.directory)
        print("results: \(writer.directory)/baseline.csv, instances.csv, report.md, report.html")
        try exitIfInterrupted(results: writer.directory)
    }
}
