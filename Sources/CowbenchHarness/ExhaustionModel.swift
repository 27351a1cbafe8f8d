import CowbenchCore

/// How an exhaustion run is set up.
public struct ExhaustConfiguration: Sendable {
    public var driver = "btrfs"
    /// The user's `--label KEY=VALUE`s, recorded with every row.
    public var labels: [String] = []
    /// Busybox plus 3,000 files of 2 KiB or less: btrfs stores those inline
    /// in metadata, so every instance that touches them copies tree blocks.
    public var image = "synthetic:layers=2,files=3000,sizes=512:50/2k:50,depth=2,delete=0,overwrite=0,seed=7"
    public var size: UInt64 = 512 << 20
    public var maxInstances = 300
    /// Existing small image files each instance rewrites (64 bytes each).
    public var modifyFiles = 1000
    /// New files each instance creates, of `newFileSize` bytes.
    public var newFiles = 1000
    public var newFileSize = 1024
    /// Fill the filesystem with 1 MiB files and delete every other one first,
    /// so half-empty data chunks hold all the unallocated space.
    public var fragmentData = true
    public var recover = false
    /// Imitate a runtime's per-container storage operations instead of the
    /// staged stream (`--like docker`); then `newFiles` and `newFileSize`
    /// are the workload's files and nothing is fragmented.
    public var like: RuntimeStream.Like?
    /// Remove each container after its workload, as `docker run --rm` does.
    public var remove = false
    /// After `--rm` churn, how long to wait for btrfs to give the space back
    /// by itself (its periodic commit wakes the cleaner every 30 s).
    public var spaceBackWait = 60.0

    public init() {}
}

/// What the filesystem looked like at one moment. Sizes in bytes.
public struct ExhaustSample: Sendable {
    /// Live instances when the sample was taken.
    public var instance: Int
    public var seconds: Double
    public var filesystem: FilesystemStats
    public var btrfs: BtrfsSpace?
    /// Deleted subvolumes waiting for btrfs's cleaner (btrfs only).
    public var backlog: Int?
}

/// Which resource ran out.
public enum ExhaustClass: String, Sendable {
    /// No unallocated space left for a new metadata chunk while data still had room.
    case metadata
    /// Data chunks full and nothing unallocated (or statfs shows no blocks).
    case data
    case both
    /// No free inodes (ext4).
    case inodes
    /// The kernel said ENOSPC, yet no figure shows a full resource.
    case unclear
}

/// The first failure, pinned to where it happened.
public struct ExhaustFailure: Sendable {
    /// 1-based number of the instance that failed.
    public var instance: Int
    public var phase: String
    public var call: String
    public var errno: String
    public var path: String
    public var message: String
    public var sample: ExhaustSample
    public var classification: ExhaustClass
}

/// One step of `--recover`, with the space before and after it.
public struct RecoveryStep: Sendable {
    public var name: String
    public var seconds: Double
    public var before: ExhaustSample
    public var after: ExhaustSample
    /// Chunks a balance relocated.
    public var relocated: UInt64?
    public var error: String?
    public var errno: String?

    /// The step's effect lands later, in the next step: deleting subvolumes
    /// only hands them to btrfs's cleaner, so "no" would be judged too soon.
    public var deferred = false

    /// Whether the step gave back at least 1 MiB of unallocated space,
    /// free metadata or df-available space.
    public var helped: Bool {
        let mib: Int64 = 1 << 20
        func delta(_ f: (ExhaustSample) -> UInt64?) -> Int64 {
            guard let a = f(after), let b = f(before) else { return 0 }
            return Int64(bitPattern: a &- b)
        }
        return delta { $0.btrfs?.unallocated } >= mib || delta { $0.btrfs?.metadataFree } >= mib
            || delta { $0.filesystem.availableBytes } >= mib
    }
}

/// Everything an exhaustion run found.
public struct ExhaustOutcome: Sendable {
    public var environment: RunEnvironment
    /// The mkfs command line, mount options and btrfs reclaim settings.
    public var mkfs: String
    public var reclaim: String
    public var fragmented: ExhaustSample?
    public var failure: ExhaustFailure?
    public var instancesCreated: Int
    public var seconds: Double
    public var steps: [RecoveryStep] = []
    /// After recovery, whether a new instance could be created and written.
    public var usableAgain: Bool?
    /// `--rm` churn that survived: what it peaked at, and how long after the
    /// last delete the space came back without any help.
    public var churn: ChurnOutcome?
    /// The filesystem's size, from the last sample.
    public var sizeSeen: UInt64 = 0
}

/// What a run of containers that were each removed did to the filesystem.
public struct ChurnOutcome: Sendable {
    public var instances: Int
    public var peakMetadataUsed: UInt64
    public var peakBacklog: Int
    /// Metadata used before the first container, for comparison.
    public var baselineMetadataUsed: UInt64
    /// From the last delete until the backlog was empty and metadata back
    /// within 1 MiB of the baseline; nil if that took longer than the wait.
    public var spaceBackSeconds: Double?
    public var waitedSeconds: Double
}
