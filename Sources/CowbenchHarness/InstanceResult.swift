import CowbenchCore

/// What one instance measured. Phases it did not reach are nil.
public struct InstanceResult: Sendable {
    public var index: Int
    /// The round (block) of the run this instance belongs to, from 0.
    public var round = 0
    public var create: Double?
    public var start: Double?
    public var run: Double?
    public var destroy: Double?
    /// How long the child's write to its memory cgroup's cgroup.procs took,
    /// kept out of `start`: the write waits for an RCU grace period when no
    /// cgroup move happened lately, so it grows with the time between
    /// instances (a slow driver's), not with anything the driver does.
    public var cgroupJoin: Double?
    /// Whether this was a space probe: run alone after a settle, and
    /// measured only once its writes had reached the filesystem.
    public var probe = false
    /// Space probes only: statfs used-bytes delta on the scratch filesystem
    /// from before create (after a settle) to after the workload (after a
    /// syncfs). nil on every other instance, whose window would mix in other
    /// instances' writes and deferred frees.
    public var addedBytes: Int64?
    /// As `addedBytes`, for inodes; also nil where the filesystem keeps no
    /// inode count (btrfs reports 0 total inodes).
    public var addedInodes: Int64?
    /// The driver's own figure for what belongs to this instance alone.
    public var usage: TreeUsage?
    public var filesystem: FilesystemStats?
    public var btrfs: BtrfsSpace?
    /// What the instance's own memory cgroup was charged once its process
    /// had exited (anonymous pages plus page cache), and the page cache part.
    /// The kernel charges a page to the first cgroup that touches it, so an
    /// instance reading pages another already brought in is charged nothing
    /// for them; see `addedMemory` for the figure that does not depend on it.
    public var memoryBytes: Int64?
    public var pageCacheBytes: Int64?
    /// Space probes only: how much the whole run's cgroup (cowbench's own
    /// work and every instance's) grew from before create to after the
    /// workload, with no other instance in flight: what one more live
    /// instance adds, wherever its pages were charged.
    public var addedMemory: Int64?
    /// Kept instances only: how much the run's cgroup had grown since the
    /// warm-ups settled, read after this instance's workload: the density
    /// curve, memory against live instances.
    public var runMemoryBytes: Int64?
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

    public init(phase: Phase, message: String, errno: String? = nil) {
        self.phase = phase
        self.message = message
        self.errno = errno
    }

    public var description: String { "\(phase.rawValue): \(message)" }
}

/// How a run is set up.
public struct RunConfiguration: Sendable {
    public var driver: String
    /// The user's own facts about the run (`disk=nvme`), recorded with it.
    public var labels: [String] = []
    public var image = "busybox"
    public var workload: Workload = .start
    public var instances = 200
    public var parallel = 1
    public var keep = false
    public var warmup = 3
    public var root: String?
    public var scratchSize: UInt64 = DriverWorkspace.defaultScratchSize
    public var maxFailures = Int.max
    /// Every k-th instance is a space probe (settled before, flushed after,
    /// run alone) and gets the driver's usage walk.
    public var usageEvery = 10
    /// Instances per block. The driver settles after every block, and the
    /// settle is charged to that block's sustained cost.
    public var block = 20
    /// The seed of the round order (compare) and of the bootstrap.
    public var seed: UInt64 = 1
    /// How each instance's process is boxed.
    public var isolation: Isolation = .container
    /// Flush and drop the page cache, dentries and inodes between each
    /// instance's create and start (outside the timers), so start and run
    /// read the image from disk.
    public var cold = false
    /// Give each instance a memory cgroup of its own (when the host has the
    /// controller) and record what it was charged.
    public var memory = true

    public init(driver: String) { self.driver = driver }

    public var mode: String { keep ? "accumulate" : "churn" }
    public var rounds: Int { (instances + block - 1) / block }
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
    /// How the run was measured; two runs that differ here never merge.
    public var rounds = 1
    public var block = 0
    public var seed: UInt64 = 0
    public var parallel = 1
    public var warmup = 0
    public var usageEvery = 0
    public var isolation = Isolation.container.rawValue
    public var cold = false
    /// `v1`, `v2`, or `none` when no memory cgroup was used.
    public var memoryCgroup = "none"
    /// Whether the scratch filesystem's loop device reads and writes its
    /// backing file with direct I/O (so its pages are not cached twice).
    public var loopDirectIO = false
    /// The kernel API the driver used for this image, where it has a choice
    /// (overlay: `mount(2)` or `fsopen/fsconfig`); empty otherwise.
    public var mountAPI = ""
    /// The user's `--label KEY=VALUE`s, `;`-separated, in their order.
    public var labels = ""

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
