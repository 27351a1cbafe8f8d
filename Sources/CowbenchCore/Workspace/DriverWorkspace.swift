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
    public convenience init(_ driverType: any StorageDriver.Type, root: String?, scratchDirectory: String,
                            scratchSize: UInt64 = defaultScratchSize, journal: ResourceJournal) throws {
        try self.init(DriverChoice(driverType), root: root, scratchDirectory: scratchDirectory, scratchSize: scratchSize, journal: journal)
    }

    /// Opens the driver a spec chose, with its options.
    public init(_ choice: DriverChoice, root: String?, scratchDirectory: String,
                scratchSize: UInt64 = defaultScratchSize, journal: ResourceJournal) throws {
        self.journal = journal
        if let root {
            if let problem = Self.rootProblem(root, for: choice) { throw SetupError(problem) }
            let marker = root + "/" + Self.rootMarker
            if !FileSystem.exists(marker) {
                try journal.record(.file(marker))
                try FileSystem.write("cowbench works here; `cowbench cleanup` removes what it made\n", to: marker)
            }
            scratch = nil
            self.root = root
        } else {
            let fs = try ScratchFilesystem(kind: choice.capabilities.scratchFilesystem, size: scratchSize,
                                           directory: scratchDirectory, journal: journal)
            scratch = fs
            self.root = fs.mountPoint
        }
        do {
            driver = try choice.open(root: self.root, journal: journal)
        } catch {
            // A daemon the driver started (containerd) holds the scratch filesystem.
            _ = try? journal.stopDaemons()
            try? scratch?.destroy()
            throw error
        }
    }

    /// Marks a `--root` directory as cowbench's while it works there.
    public static let rootMarker = ".cowbench-root"

    /// Why `root` cannot hold `driverType`, or nil if it can. Creates nothing.
    public static func rootProblem(_ root: String, for choice: DriverChoice) -> String? {
        guard FileSystem.isDirectory(root) else { return "--root \(root) does not exist or is not a directory" }
        var vfs = statvfs()
        if statvfs(root, &vfs) == 0, vfs.f_flag & UInt(ST_RDONLY) != 0 {
            return "--root \(root) is on a read-only mount (statvfs ST_RDONLY); every driver writes there: pass a writable directory"
        }
        if access(root, W_OK) != 0 {
            return "--root \(root) is not writable (access: \(Errno.name(errno))); pass a directory cowbench can write"
        }
        if let kind = choice.capabilities.requiredFilesystem, let fs = try? FileSystem.statfs(root), fs.typeName != kind.rawValue {
            return "--root \(root) is on \(fs.typeName), but the \(choice) driver needs \(kind.rawValue); "
                + "pass a directory on \(kind.rawValue), or leave --root out and cowbench makes a scratch \(kind.rawValue)"
        }
        let entries = ((try? FileSystem.list(root)) ?? []).filter { $0 != rootMarker }
        if !entries.isEmpty && !FileSystem.exists(root + "/" + rootMarker) {
            return "--root \(root) is not empty and not cowbench's (it has no \(rootMarker)); pass an empty directory, "
                + "so cowbench never mixes its files with yours"
        }
        return nil
    }

    /// Reopens a workspace whose scratch filesystem an earlier process made.
    public init(reopening driverType: any StorageDriver.Type, root: String, journal: ResourceJournal) throws {
        self.journal = journal
        self.root = root
        scratch = nil
        driver = try DriverChoice(driverType).open(root: root, journal: journal)
    }

    /// Removes everything this workspace's journal recorded, newest first
    /// (a scratch filesystem as a whole, see `ResourceJournal.teardown`).
    public func close() throws {
        try journal.teardown()
    }
}
