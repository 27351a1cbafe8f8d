import CowbenchCore

/// What one instance measured. Phases it did not reach are nil.
public struct InstanceResult: Sendable {
    public var index: Int
    public var create: Double?
    public var start: Double?
    public var run: Double?
    public var destroy: Double?
    /// statfs used-bytes and used-inodes deltas on the scratch filesystem
    /// from before create to after the workload.
    public var addedBytes: Int64 = 0
    public var addedInodes: Int64 = 0
    /// The driver's own figure for what belongs to this instance alone.
    public var usage: TreeUsage?
    public var filesystem: FilesystemStats?
    public var btrfs: BtrfsSpace?
    public var error: PhaseError?

    public init(index: Int) { self.index = index }

    public var total: Double { [create, start, run, destroy].compactMap { $0 }.reduce(0, +) }

    public func seconds(_ phase: Phase) -> Double? {
        switch phase {
        case .create: create
        case .start: start
        case .run: run
        case .destroy: destroy
        }
    }
}

/// A failure pinned to the phase it happened in.
public struct PhaseError: Error, Sendable, CustomStringConvertible {
    public let phase: Phase
    public let message: String
    /// The errno name when a syscall failed (ENOSPC…), else nil.
    public let errno: String?

    public init(phase: Phase, _ error: Error) {
        self.phase = phase
        message = "\(error)"
        errno = (error as? SyscallError)?.errnoName
    }

    public init(phase: Phase, message: String) {
        self.phase = phase
        self.message = message
        errno = nil
    }

    public var description: String { "\(phase.rawValue): \(message)" }
}

/// How a run is set up.
public struct RunConfiguration: Sendable {
    public var driver: String
    public var image = "busybox"
    public var workload: Workload = .start
    public var instances = 200
    public var parallel = 1
    public var keep = false
    public var warmup = 3
    public var root: String?
    public var scratchSize: UInt64 = DriverWorkspace.defaultScratchSize
    public var maxFailures = Int.max
    /// Walk every k-th instance for the driver's own usage figure; the
    /// statfs deltas are taken on every instance regardless.
    public var usageEvery = 10

    public init(driver: String) { self.driver = driver }

    public var mode: String { keep ? "accumulate" : "churn" }
}

/// Facts about where and how a run happened, carried by every output row.
public struct RunEnvironment: Sendable {
    public var runID: String
    public var host: String
    public var kernel: String
    public var driver: String
    public var image: String
    public var workload: String
    public var mode: String
    public var filesystem: String
    public var mountOptions: String
    public var cowbenchVersion: String

    public init(runID: String, host: String, kernel: String, driver: String, image: String, workload: String, mode: String,
                filesystem: String, mountOptions: String, cowbenchVersion: String) {
        self.runID = runID
        self.host = host
        self.kernel = kernel
        self.driver = driver
        self.image = image
        self.workload = workload
        self.mode = mode
        self.filesystem = filesystem
        self.mountOptions = mountOptions
        self.cowbenchVersion = cowbenchVersion
    }
}

/// The aggregate of one driver's run.
public struct RunSummary: Sendable {
    public var environment: RunEnvironment
    public var phases: [Phase: PhaseStatistics] = Dictionary(uniqueKeysWithValues: Phase.allCases.map { ($0, PhaseStatistics()) })
    public var instances = 0
    public var failures = 0
    public var wallSeconds = 0.0
    public var addedBytes: Int64 = 0
    public var addedInodes: Int64 = 0
    /// Accumulate mode: how long destroying every kept instance took.
    public var teardownSeconds: Double?
    public var firstError: String?

    public init(environment: RunEnvironment) { self.environment = environment }

    public var instancesPerSecond: Double { wallSeconds > 0 ? Double(instances) / wallSeconds : 0 }
    public var bytesPerInstance: Double { instances > 0 ? Double(addedBytes) / Double(instances) : 0 }
    public var inodesPerInstance: Double { instances > 0 ? Double(addedInodes) / Double(instances) : 0 }

    public mutating func add(_ r: InstanceResult) {
        instances += 1
        for p in Phase.allCases { if let s = r.seconds(p) { phases[p]!.record(seconds: s) } }
        addedBytes += r.addedBytes
        addedInodes += r.addedInodes
        if let e = r.error {
            failures += 1
            firstError = firstError ?? "instance \(r.index): \(e)"
        }
    }
}
