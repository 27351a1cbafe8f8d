import ArgumentParser
import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation

struct ExhaustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exhaust",
        abstract: "Run instances on a small scratch filesystem until ENOSPC, explain the failure with numbers, and show the way out.",
        discussion: """
            On btrfs this reproduces metadata exhaustion: ENOSPC while df still shows free space. With --driver overlay \
            or copy the same instance stream runs on ext4 of the same size, for contrast.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Storage driver: \(DriverRegistry.names.joined(separator: ", ")).") var driver = "btrfs"
    @Option(help: "Size of the loop-backed scratch filesystem.") var size = "512M"
    @Option(help: "Image; the default has 3,000 files of 2 KiB or less on busybox (busybox itself with --like).") var image: String?
    @Option(name: .customLong("max-instances"), parsing: .unconditional, help: "Give up after this many instances without ENOSPC (default 300; 2000 with --like; the containers to churn with --rm, default 1000).") var maxInstances: Int?
    @Option(name: .customLong("modify-files"), parsing: .unconditional, help: "Existing small image files each instance rewrites.") var modifyFiles = 1000
    @Option(name: .customLong("new-files"), parsing: .unconditional, help: "New files each instance creates (default 1000; 500 with --like, the workload).") var newFiles: Int?
    @Option(name: .customLong("new-file-size"), help: "Size of each new file (2K or less stays inline on btrfs; default 1K, 16 bytes with --like).")
    var newFileSize: String?
    @Option(help: "Imitate a container runtime's storage operations per container: docker.") var like: RuntimeStream.Like?
    @Flag(name: .customLong("rm"), help: "With --like: remove each container after its workload, as docker run --rm does.") var remove = false
    @Flag(inversion: .prefixedNo, help: "Fill with 1 MiB files and delete every other one first, so data chunks hold the free space.")
    var fragmentData = true
    @Flag(help: "After the failure, delete instances, wait for the cleaner and balance, measuring each step.") var recover = false
    @Flag(help: "Overwrite what --out already holds.") var force = false
    @Option(help: "Directory for exhaust.csv and exhaust-summary.csv (default results/<date>-<host>-<id>).") var out: String?
    @Option(name: .customLong("label"), help: "KEY=VALUE recorded with every row (repeatable), as for compare.") var labels: [String] = []

    func validate() throws {
        try validateDriverName(driver, flag: "--driver")
        if try DriverRegistry.resolve(driver).capabilities.usesHostStorage {
            throw ValidationError("--driver \(driver) keeps its data on the host's own storage, which exhaust would fill; "
                + "exhaust only scratch filesystems of cowbench's own (for containerd, leave out address=)")
        }
        guard let bytes = ByteSize.parse(size) else { throw ValidationError("--size '\(size)' is not a size; write e.g. 512M or 1G") }
        if bytes < 128 << 20 { throw ValidationError("--size must be at least 128M: mkfs.btrfs needs room for its own chunks") }
        if let maxInstances, maxInstances < 1 { throw ValidationError("--max-instances must be at least 1, not \(maxInstances)") }
        if modifyFiles < 0 || (newFiles ?? 0) < 0 { throw ValidationError("--modify-files and --new-files cannot be negative") }
        if let newFileSize, ByteSize.parse(newFileSize) == nil { throw ValidationError("--new-file-size '\(newFileSize)' is not a size") }
        if remove && like == nil { throw ValidationError("--rm removes runtime containers; use it with --like docker") }
        try BenchmarkOptions.validateLabels(labels)
    }

    func run() throws {
        try stoppable(results: nil) {
            try global.beginRun()
            // --like imitates a runtime on the image it would run (busybox), with
            // the runtime's own defaults; the staged stream keeps its own.
            let image = self.image ?? (like != nil ? "busybox" : ExhaustConfiguration().image)
            try Preflight.requireDriver(driver, root: nil, layers: try ImageCatalog(stateDirectory: global.stateDirectory).layerCount(image))
            var c = ExhaustConfiguration()
            c.driver = driver
            c.size = ByteSize.parse(size)!
            c.image = image
            c.like = like
            c.labels = labels
            c.remove = remove
            c.maxInstances = maxInstances ?? (like == nil ? 300 : remove ? 1000 : 2000)
            c.modifyFiles = like == nil ? modifyFiles : 0
            c.newFiles = newFiles ?? (like == nil ? 1000 : 500)
            c.newFileSize = Int(newFileSize.flatMap(ByteSize.parse) ?? (like == nil ? 1024 : 16))
            c.fragmentData = like == nil && fragmentData
            c.recover = recover
            try Preflight.requireSpace(global.stateDirectory, bytes: c.size + StateSpace.perScratch,
                                       for: "the \(size) scratch filesystem exhaust fills, and the image", flag: "--state-dir")
            let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let directory = out ?? ResultWriter.defaultDirectory(runID: runID)
            try ResultWriter.check(directory, force: force)
            let writer = try ResultWriter(directory: directory, replacing: force)
            let samples = try writer.stream("exhaust.csv", header: ExhaustCSV.header())
            let tty = isatty(2) == 1
            let outcome = try Exhaustion(configuration: c, stateDirectory: global.stateDirectory, runID: runID,
                                         version: CowbenchVersion.string).run(
                onSample: { s, env in try samples.append(ExhaustCSV.sample(s, env)) },
                onOutcome: { try writer.write("exhaust-summary.csv", ExhaustCSV.summary($0)) },
                progress: { line in if tty { FileHandle.standardError.write(Data((line + "\n").utf8)) } })
            try exitIfInterrupted(results: writer.directory) // before the report, which would call an interrupted run a survivor
            print(ExhaustReport.render(outcome), terminator: "")
            try ReportCommand.writeAlongside(writer.directory)
            print("results: \(writer.directory)/exhaust.csv, exhaust-summary.csv, report.md, report.html")
            if outcome.failure == nil { throw ExitCode(3) }
        }
    }
}

extension RuntimeStream.Like: ExpressibleByArgument {}
