import Glibc

/// A driver opened on its root: either a scratch filesystem cowbench made
/// (the default) or a directory the user passed with `--root`.
public final class DriverWorkspace {
    public let driver: any StorageDriver
    public let root: String
    public let scratch: ScratchFilesystem?
    public let journal: ResourceJournal

    /// Default scratch size: sparse, so only what is written takes disk space.
    public static let defaultScratchSize: UInt64 = 16 << 30

    /// Opens `driverType` on `root`, or on a new scratch filesystem of
    /// `scratchSize` bytes in `scratchDirectory` when `root` is nil.
    public init(_ driverType: any StorageDriver.Type, root: String?, scratchDirectory: String,
                scratchSize: UInt64 = defaultScratchSize, journal: ResourceJournal) throws {
        self.journal = journal
        if let root {
            guard FileSystem.isDirectory(root) else {
                throw SetupError("--root \(root) does not exist or is not a directory")
            }
            scratch = nil
            self.root = root
        } else {
            let fs = try ScratchFilesystem(kind: driverType.capabilities.scratchFilesystem, size: scratchSize,
                                           directory: scratchDirectory, journal: journal)
            scratch = fs
            self.root = fs.mountPoint
        }
        do {
            driver = try driverType.init(root: self.root, journal: journal)
        } catch {
            try? scratch?.destroy()
            throw error
        }
    }

    /// Reopens a workspace whose scratch filesystem an earlier process made.
    public init(reopening driverType: any StorageDriver.Type, root: String, journal: ResourceJournal) throws {
        self.journal = journal
        self.root = root
        scratch = nil
        driver = try driverType.init(root: root, journal: journal)
    }

    /// Removes everything this workspace's journal recorded, newest first.
    /// On a scratch filesystem, whatever lives inside it goes with it: its
    /// mounts are unmounted, and its subvolumes and directories are not
    /// deleted one by one (on a full btrfs a delete can itself hit ENOSPC).
    public func close() throws {
        if let scratch {
            for m in Mounts.mounts(under: scratch.mountPoint) where m.mountPoint != scratch.mountPoint {
                try Mounts.unmount(m.mountPoint)
            }
            try journal.releaseAll(under: scratch.mountPoint)
        }
        try journal.teardown()
    }
}
