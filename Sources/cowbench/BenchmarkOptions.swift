import ArgumentParser
import CowbenchCore
import CowbenchHarness
import Foundation

/// Options shared by `run` and `compare`. Numeric options parse
/// .unconditional, so "--instances -1" reaches validate() and its message
/// instead of reading -1 as a flag.
struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Image: busybox, seed-demo, synthetic[:k=v,...], dir:/layer0,/layer1, or a name from `cowbench image list`.") var image = "busybox"
    @Option(help: "Workload: \(Workload.names.joined(separator: ", ")).") var workload = "start"
    @Option(parsing: .unconditional, help: "Files the write and mixed workloads create.") var files = 100
    @Option(name: .customLong("file-size"), help: "Size of each file the write workload creates (default: 9 bytes), or of seq-write's one file (default: 64M).")
    var fileSize: String?
    @Option(parsing: .unconditional, help: "Image files the copy-up, delete and mixed workloads touch, or the deepest-layer entries stat looks up.") var count = 4
    @Option(name: .customLong("read-limit"), help: "Bytes of image files the read workload reads, in path order (default: 1G).")
    var readLimit: String?
    @Flag(help: "Write back and drop the host's page cache, dentries and inodes before each measured instance (outside its timers), so start and run read the image from disk. The kernel drops caches only host-wide.")
    var cold = false
    @Flag(name: .customLong("no-memory"), help: "Do not give instances memory cgroups of their own (no memory columns).")
    var noMemory = false
    @Option(parsing: .unconditional, help: "Measured instances per driver.") var instances = 200
    @Option(parsing: .unconditional, help: "Instances per block: each driver settles after every block, and compare interleaves drivers block by block.")
    var block = 20
    @Option(help: "Seed of the shuffled round order (default: random, printed).") var seed: UInt64?
    @Option(help: "How each instance's process is boxed: container (namespaces, pivot_root, no capabilities; the default) or chroot (escapable: only to measure what the box costs).")
    var isolation: Isolation = .container
    @Option(parsing: .unconditional, help: "Instances in flight at once.") var parallel = 1
    @Option(parsing: .unconditional, help: "Warm-up instances, run and not counted.") var warmup = 3
    @Flag(help: "Accumulate mode: keep every instance until the end, then destroy them all.") var keep = false
    @Option(name: .customLong("max-failures"), parsing: .unconditional, help: "Stop a driver's run after this many failed instances.") var maxFailures = 10
    @Option(name: .customLong("usage-every"),
            parsing: .unconditional, help: "Every k-th instance is a space probe: settled before, flushed after, run alone, and walked for the driver's usage.")
    var usageEvery = 10
    @Option(name: .customLong("label"), help: "KEY=VALUE recorded with every row of the run (repeatable): your own facts, such as --label disk=nvme --label rack=r12; `report` tells hosts apart by them.")
    var labels: [String] = []
    @Option(name: .customLong("containerd-address"),
            help: "A running containerd's socket (the host's: /run/containerd/containerd.sock) for every containerd driver, instead of a containerd of cowbench's own; cowbench works only in its namespace 'cowbench' there.")
    var containerdAddress: String?
    @Option(help: "Directory for the CSV files (default results/<date>-<host>-<id>).") var out: String?
    @Flag(help: "Overwrite what --out already holds.") var force = false

    func validate() throws {
        if instances < 1 { throw ValidationError("--instances must be at least 1, not \(instances)") }
        if parallel < 1 { throw ValidationError("--parallel must be at least 1, not \(parallel)") }
        if warmup < 0 { throw ValidationError("--warmup cannot be negative") }
        if files < 1 || count < 1 { throw ValidationError("--files and --count must be at least 1") }
        if block < 1 { throw ValidationError("--block must be at least 1, not \(block)") }
        if let fileSize, ByteSize.parse(fileSize) == nil {
            throw ValidationError("--file-size '\(fileSize)' is not a size; write e.g. 4K")
        }
        if fileSize != nil && !["write", "seq-write"].contains(workload) {
            throw ValidationError("--file-size applies only to --workload write and seq-write")
        }
        if let readLimit {
            guard let n = ByteSize.parse(readLimit), n > 0 else { throw ValidationError("--read-limit '\(readLimit)' is not a size; write e.g. 64M") }
            if workload != "read" { throw ValidationError("--read-limit applies only to --workload read") }
        }
        if usageEvery < 1 { throw ValidationError("--usage-every must be at least 1, not \(usageEvery)") }
        if maxFailures < 1 { throw ValidationError("--max-failures must be at least 1") }
        if let containerdAddress {
            guard containerdAddress.hasPrefix("/") else { throw ValidationError("--containerd-address must be an absolute path, not '\(containerdAddress)'") }
            var st = stat()
            guard stat(containerdAddress, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else {
                throw ValidationError("--containerd-address \(containerdAddress) is not a socket; give the path of a running containerd's socket "
                    + "(containerd's config names it under [grpc] address)")
            }
        }
        try Self.validateLabels(labels)
        guard Workload.names.contains(workload) else {
            throw ValidationError("--workload '\(workload)' is unknown; choose one of \(Workload.names.joined(separator: ", "))")
        }
    }

    func configuration(driver: String, placement: Placement, seed: UInt64) throws -> RunConfiguration {
        var c = RunConfiguration(driver: try withContainerdAddress(driver))
        c.labels = labels
        c.image = image
        c.workload = try Workload(name: workload, files: files, count: count, fileSize: fileSize.flatMap(ByteSize.parse).map(Int.init) ?? 0,
                                  readLimit: readLimit.flatMap(ByteSize.parse).map(Int64.init) ?? Workload.defaultReadLimit)
        c.cold = cold
        c.memory = !noMemory
        c.block = block
        c.seed = seed
        c.isolation = isolation
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

    /// Each label is KEY=VALUE, with a key Prometheus and a CSV reader both
    /// take and a value without the `;` that separates labels; keys are unique.
    static func validateLabels(_ labels: [String]) throws {
        var keys: Set<Substring> = []
        for l in labels {
            let kv = l.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[1].isEmpty, let first = kv[0].first, first.isLetter || first == "_",
                  kv[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ValidationError("--label '\(l)' is not KEY=VALUE with a key of letters, digits and _ (not starting with a digit); write e.g. --label disk=nvme")
            }
            guard !kv[1].contains(";"), !kv[1].contains(where: \.isNewline) else {
                throw ValidationError("--label '\(l)': a value cannot hold ';' or a line break")
            }
            guard keys.insert(kv[0]).inserted else { throw ValidationError("--label \(kv[0]) is given twice; give each key once") }
        }
    }

    /// `spec` with `--containerd-address` as its address, if it is a containerd driver without one.
    func withContainerdAddress(_ spec: String) throws -> String {
        let parsed = try DriverSpec(parsing: spec)
        guard let containerdAddress, parsed.name == "containerd", !parsed.options.has("address") else { return spec }
        return spec + (parsed.options.isEmpty ? ":" : ",") + "address=" + containerdAddress
    }
}

extension Isolation: ExpressibleByArgument {
}
