import ArgumentParser
import CowbenchCore
import CowbenchHarness
import Foundation

/// Options shared by `run` and `compare`.
struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Image: busybox, seed-demo, synthetic[:k=v,...], dir:/layer0,/layer1, or a name from `cowbench image list`.") var image = "busybox"
    @Option(help: "Workload: \(Workload.names.joined(separator: ", ")).") var workload = "start"
    @Option(help: "Files the write and mixed workloads create.") var files = 100
    @Option(help: "Image files the copy-up, delete and mixed workloads touch.") var count = 4
    @Option(help: "Measured instances per driver.") var instances = 200
    @Option(help: "Instances in flight at once.") var parallel = 1
    @Option(help: "Warm-up instances, run and not counted.") var warmup = 3
    @Flag(help: "Accumulate mode: keep every instance until the end, then destroy them all.") var keep = false
    @Option(name: .customLong("max-failures"), help: "Stop a driver's run after this many failed instances.") var maxFailures = 10
    @Option(name: .customLong("usage-every"),
            help: "Walk every k-th instance for the driver's own usage figure (statfs deltas are on every row).")
    var usageEvery = 10
    @Option(help: "Directory for the CSV files (default results/<date>-<host>-<id>).") var out: String?

    func validate() throws {
        if instances < 1 { throw ValidationError("--instances must be at least 1, not \(instances)") }
        if parallel < 1 { throw ValidationError("--parallel must be at least 1, not \(parallel)") }
        if warmup < 0 { throw ValidationError("--warmup cannot be negative") }
        if files < 1 || count < 1 { throw ValidationError("--files and --count must be at least 1") }
        if usageEvery < 1 { throw ValidationError("--usage-every must be at least 1, not \(usageEvery)") }
        if maxFailures < 1 { throw ValidationError("--max-failures must be at least 1") }
        guard Workload.names.contains(workload) else {
            throw ValidationError("--workload '\(workload)' is unknown; choose one of \(Workload.names.joined(separator: ", "))")
        }
    }

    func configuration(driver: String, placement: DriverRootOptions) throws -> RunConfiguration {
        var c = RunConfiguration(driver: driver)
        c.image = image
        c.workload = try Workload(name: workload, files: files, count: count)
        c.instances = instances
        c.parallel = parallel
        c.warmup = warmup
        c.keep = keep
        c.maxFailures = maxFailures
        c.usageEvery = usageEvery
        c.root = placement.root
        c.scratchSize = placement.scratchBytes
        return c
    }
}
